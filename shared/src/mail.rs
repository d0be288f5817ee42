//! Mail on its way: the queue of delayed email jobs (SQS, each message held back by its own
//! `DelaySeconds`), and SES v2, which sends what a job finds due.
//!
//! SQS delay queues rather than EventBridge Scheduler one-time schedules: every wait here is
//! at most a quarter hour, within SQS's 15-minute delay; a job is one `SendMessageBatch`
//! entry beside the others of a stream batch, where a schedule is one `CreateSchedule`
//! each, and a schedule that ran stays behind until deleted; and the queue's event source
//! mapping already runs this product's other queue. Locally both are moto, read by the
//! local gateway as Lambda reads them.

use std::time::Duration;

use aws_sdk_sesv2::types::{Body, Destination, EmailContent, Message, MessageHeader};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::deliveries::SEND_BATCH;
use crate::domain::{EmailJob, Mail};

/// The longest SQS holds a message back.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(String);

/// The queue the email jobs wait in until they are due.
pub struct EmailJobs {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl EmailJobs {
    pub fn new(sdk: &aws_config::SdkConfig, url: &str) -> Self {
        EmailJobs { client: aws_sdk_sqs::Client::new(sdk), url: url.to_owned() }
    }

    /// The queue at `url` of a local stand-in at `endpoint` (moto).
    pub fn local(endpoint: &str, url: &str) -> Self {
        Self::new(&crate::deliveries::local_queue_config(endpoint), url)
    }

    /// Queues `jobs`, each to be handed over after its delay (at most [`MAX_DELAY`]): how
    /// many, from the first, are queued.
    pub async fn enqueue(&self, jobs: &[(EmailJob, Duration)]) -> Result<usize, MailError> {
        for (batch_number, batch) in jobs.chunks(SEND_BATCH).enumerate() {
            let entries = batch.iter().enumerate().map(|(index, (job, delay))| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(serde_json::to_string(job).expect("jobs serialise to JSON"))
                    .delay_seconds(delay.min(&MAX_DELAY).as_secs() as i32)
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
                .map_err(|error| MailError(aws_sdk_sqs::error::DisplayErrorContext(error).to_string()))?;
            let first_failed = answer.failed().iter().filter_map(|failed| failed.id().parse::<usize>().ok()).min();
            if let Some(index) = first_failed {
                tracing::warn!(queued = index, "the email job queue did not take every job");
                return Ok(batch_number * SEND_BATCH + index);
            }
        }
        Ok(jobs.len())
    }
}

/// Sends mail through SES v2, from the deployment's verified identity.
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
}

impl Mailer {
    pub fn new(sdk: &aws_config::SdkConfig, from: &str, configuration_set: Option<&str>) -> Self {
        Mailer {
            client: aws_sdk_sesv2::Client::new(sdk),
            from: from.to_owned(),
            configuration_set: configuration_set.filter(|name| !name.is_empty()).map(str::to_owned),
        }
    }

    /// SES at a local stand-in's `endpoint` (aws-ses-v2-local).
    pub fn local(endpoint: &str, from: &str) -> Self {
        Self::new(&crate::deadline::local_sdk_config(endpoint), from, None)
    }

    /// Sends `mail` to `to`, text and HTML, with its one-click unsubscribe headers
    /// (RFC 2369, RFC 8058).
    pub async fn send(&self, to: &str, mail: &Mail) -> Result<(), MailError> {
        let part = |text: &str| aws_sdk_sesv2::types::Content::builder().data(text).charset("UTF-8").build();
        let built = |error: aws_sdk_sesv2::error::BuildError| MailError(error.to_string());
        let headers = [
            ("List-Unsubscribe", format!("<{}>", mail.unsubscribe_url)),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| MessageHeader::builder().name(name).value(value).build().map_err(built))
        .collect::<Result<Vec<_>, _>>()?;
        let message = Message::builder()
            .subject(part(&mail.subject).map_err(built)?)
            .body(Body::builder().text(part(&mail.text).map_err(built)?).html(part(&mail.html).map_err(built)?).build())
            .set_headers(Some(headers))
            .build();
        let _call = crate::telemetry::record_email_send();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|error| MailError(aws_sdk_sesv2::error::DisplayErrorContext(error).to_string()))?;
        Ok(())
    }
}
