//! Webhook deliveries on their way: the SQS FIFO queue that holds them until a receiver has
//! taken them (one ordering group per subscription and session, so a session's events
//! reach a receiver in order and a failing receiver holds back only its own), and the HTTP
//! client that posts them.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::domain::{DELIVERY_TIMEOUT, QueuedDelivery, SIGNATURE_HEADER};

/// SQS takes at most this many messages per `SendMessageBatch`.
pub const SEND_BATCH: usize = 10;
/// The longest a message can be kept out of sight (SQS's limit for a visibility timeout).
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

#[derive(Debug, thiserror::Error)]
#[error("the delivery queue: {0}")]
pub struct QueueError(String);

pub struct DeliveryQueue {
    client: Client,
    url: String,
}

impl DeliveryQueue {
    /// The queue at `url`, through the SDK configuration of the deployment.
    pub fn new(sdk: &aws_config::SdkConfig, url: &str) -> Self {
        DeliveryQueue { client: Client::new(sdk), url: url.to_owned() }
    }

    /// The queue at `url` of a local stand-in at `endpoint` (moto), with its fixed
    /// credentials and [`local_queue_config`]'s timeouts.
    pub fn local(endpoint: &str, url: &str) -> Self {
        Self::new(&local_queue_config(endpoint), url)
    }

    /// Queues `deliveries`, at most [`SEND_BATCH`], in order: how many, from the first, are
    /// queued. Queued again within five minutes, a delivery is taken once (its deduplication
    /// id is the subscription's and the event's).
    pub async fn enqueue(&self, deliveries: &[QueuedDelivery]) -> Result<usize, QueueError> {
        let entries = deliveries.iter().enumerate().map(|(index, delivery)| {
            SendMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .message_body(serde_json::to_string(delivery).expect("deliveries serialise to JSON"))
                .message_group_id(delivery.ordering_group())
                .message_deduplication_id(delivery.deduplication_id())
                .build()
                .expect("id and body are set")
        });
        let _call = crate::telemetry::record_queue_call("SendMessage");
        let answer = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .map_err(|error| QueueError(aws_sdk_sqs::error::DisplayErrorContext(error).to_string()))?;
        // The failed entries, by the index they were sent with; those before the first are queued.
        let first_failed = answer.failed().iter().filter_map(|failed| failed.id().parse::<usize>().ok()).min();
        if let Some(index) = first_failed {
            tracing::warn!(queued = index, "the delivery queue did not take every delivery");
        }
        Ok(first_failed.unwrap_or(deliveries.len()))
    }

    /// Keeps a received message out of sight for `wait`: its next attempt. Its ordering
    /// group waits with it.
    pub async fn retry_later(&self, receipt_handle: &str, wait: Duration) -> Result<(), QueueError> {
        let seconds = wait.min(MAX_VISIBILITY).as_secs_f64().ceil() as i32;
        let _call = crate::telemetry::record_queue_call("ChangeMessageVisibility");
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|error| QueueError(aws_sdk_sqs::error::DisplayErrorContext(error).to_string()))?;
        Ok(())
    }
}

/// The configuration of a client of a local SQS stand-in (moto) at `endpoint`: moto, in
/// Python, answers in seconds under a test's thousands of deliveries where SQS answers in
/// milliseconds, so its calls get 5 s an attempt rather than the deployed second.
pub fn local_queue_config(endpoint: &str) -> aws_config::SdkConfig {
    let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
        .connect_timeout(crate::deadline::CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(10))
        .build();
    crate::deadline::local_sdk_config(endpoint).to_builder().timeout_config(timeouts).build()
}

/// What a receiver made of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostOutcome {
    /// It answered with this status (2xx: taken).
    Answered(u16),
    /// It did not answer within [`DELIVERY_TIMEOUT`], or could not be reached.
    NoAnswer(String),
}

/// Posts deliveries: within [`DELIVERY_TIMEOUT`], redirects not followed (a receiver's
/// answer is its own), the client built on first use.
#[derive(Default)]
pub struct WebhookPoster {
    client: OnceLock<reqwest::Client>,
}

impl WebhookPoster {
    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(DELIVERY_TIMEOUT)
                .connect_timeout(DELIVERY_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("support-chat-webhooks/1")
                .build()
                .expect("a client with a timeout and no redirects")
        })
    }

    /// Posts `delivery`'s body to `url`, signed with `signature`.
    pub async fn post(&self, url: &str, delivery: &QueuedDelivery, signature: &str, attempt: u32) -> PostOutcome {
        let request = self
            .client()
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header("Support-Chat-Event-Id", &delivery.event_id)
            .header("Support-Chat-Event-Type", &delivery.event_type)
            .header("Support-Chat-Delivery-Attempt", attempt.to_string())
            .body(delivery.payload.clone());
        let _call = crate::telemetry::record_webhook_post();
        match request.send().await {
            Ok(response) => PostOutcome::Answered(response.status().as_u16()),
            Err(error) if error.is_timeout() => {
                PostOutcome::NoAnswer(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs()))
            }
            Err(error) if error.is_connect() => PostOutcome::NoAnswer("could not connect".into()),
            Err(_) => PostOutcome::NoAnswer("the request failed".into()),
        }
    }
}
