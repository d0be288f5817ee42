//! Functions behind a queue (an SQS event source mapping): a batch of messages in, read
//! into what each queue carries (webhook deliveries, email jobs); out, the ids of the
//! messages to leave on the queue (`ReportBatchItemFailures`), which Lambda does not delete.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

pub use aws_lambda_events::event::sqs::SqsEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};

use crate::chat::ReceivedDelivery;
use crate::domain::EmailJob;
use crate::{App, Timestamp, deadline, telemetry};

/// What a queue function does with each batch, over the instance's [`App`]: the message
/// ids to leave on the queue.
pub type QueueHandler = for<'a> fn(&'a App, SqsEvent) -> Pin<Box<dyn Future<Output = Vec<String>> + Send + 'a>>;

/// A batch holds at most this long: a receiver's five seconds, and the writes around them.
const BATCH_DEADLINE: Duration = Duration::from_secs(12);

/// A queue function's whole `main`: JSON logs, the deployed wiring built once per instance,
/// then `handler` for every batch the Lambda runtime hands over. `function` is its binary's
/// name, which its log lines are routed by (`queue email-jobs`).
pub fn run(function: &'static str, handler: QueueHandler) -> Result<(), crate::http::Error> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        telemetry::init();
        let app = App::from_env().await?;
        let service =
            lambda_http::lambda_runtime::service_fn(|event: lambda_http::lambda_runtime::LambdaEvent<SqsEvent>| {
                let request_id = event.context.request_id.clone();
                let app = &app;
                async move {
                    Ok::<_, crate::http::Error>(run_once(app, function, handler, event.payload, &request_id).await)
                }
            });
        lambda_http::lambda_runtime::run(service).await
    })
}

/// The email jobs of a batch, each with its message id. A message that is not one is logged
/// and dropped: reading it again would not change it.
pub fn received_jobs(event: SqsEvent) -> Vec<(String, EmailJob)> {
    let mut jobs = Vec::new();
    for message in event.records {
        let message_id = message.message_id.unwrap_or_default();
        match message.body.as_deref().map(serde_json::from_str) {
            Some(Ok(job)) => jobs.push((message_id, job)),
            _ => tracing::error!(message_id, "a queued message is not an email job"),
        }
    }
    jobs
}

/// The deliveries of a batch. A message that is not one is logged and dropped: reading it
/// again would not change it.
pub fn received_deliveries(event: SqsEvent) -> Vec<ReceivedDelivery> {
    let mut received = Vec::new();
    for message in event.records {
        let message_id = message.message_id.unwrap_or_default();
        let attribute = |name: &str| message.attributes.get(name).and_then(|value| value.parse::<i64>().ok());
        let delivery = message.body.as_deref().map(serde_json::from_str);
        match delivery {
            Some(Ok(delivery)) => received.push(ReceivedDelivery {
                message_id,
                receipt_handle: message.receipt_handle.unwrap_or_default(),
                delivery,
                attempt: attribute("ApproximateReceiveCount").unwrap_or(1).clamp(1, i64::from(u32::MAX)) as u32,
                queued_at: attribute("SentTimestamp")
                    .and_then(Timestamp::from_unix_millis)
                    .unwrap_or_else(Timestamp::now),
            }),
            _ => tracing::error!(message_id, "a queued message is not a webhook delivery"),
        }
    }
    received
}

/// One batch through `function`'s `handler`, within the deadline, logged as one line like
/// every invocation. Past the deadline, the whole batch stays on the queue.
pub async fn run_once(
    app: &App,
    function: &str,
    handler: QueueHandler,
    event: SqsEvent,
    request_id: &str,
) -> SqsBatchResponse {
    let started = Instant::now();
    let all: Vec<String> = event.records.iter().filter_map(|message| message.message_id.clone()).collect();
    let work = deadline::within(BATCH_DEADLINE, handler(app, event));
    let (outcome, calls) = telemetry::count_calls(work).await;
    // Messages left for later are the queue's business (a receiver that failed, a mail not
    // due yet): the run itself failed only when it ran out of time.
    let status = if outcome.is_some() { 200 } else { 503 };
    let left = outcome.unwrap_or(all);
    let route = format!("queue {function}");
    telemetry::log_invocation(&route, status, Some(request_id), None, started.elapsed(), &calls);
    let mut response = SqsBatchResponse::default();
    for message_id in left {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = message_id;
        response.batch_item_failures.push(failure);
    }
    response
}
