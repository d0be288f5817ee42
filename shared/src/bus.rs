//! The deployment's EventBridge bus: every event out is put there, and consumers route them
//! with rules to anything AWS offers.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::domain::OutboundEvent;

/// The `source` of every event this product puts on the bus.
pub const EVENT_SOURCE: &str = "support-chat";
/// EventBridge takes at most this many entries per `PutEvents`.
pub const PUT_BATCH: usize = 10;

pub struct EventBus {
    client: Client,
    name: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the event bus refused or missed an event: {0}")]
pub struct PublishError(String);

impl EventBus {
    /// The bus `name`, through the SDK configuration of the deployment.
    pub fn new(sdk: &aws_config::SdkConfig, name: &str) -> Self {
        EventBus { client: Client::new(sdk), name: name.to_owned() }
    }

    /// The bus `name` of a local stand-in at `endpoint` (moto), with its fixed credentials.
    pub fn local(endpoint: &str, name: &str) -> Self {
        Self::new(&crate::deadline::local_sdk_config(endpoint), name)
    }

    /// Puts `events` on the bus, at most [`PUT_BATCH`] of them: how many, from the first,
    /// are on it (all, unless one failed; those after a failed one may be on it too, and
    /// come again with the same ids when retried).
    pub async fn put(&self, events: &[OutboundEvent]) -> Result<usize, PublishError> {
        let entries = events.iter().map(|event| {
            PutEventsRequestEntry::builder()
                .event_bus_name(&self.name)
                .source(EVENT_SOURCE)
                .detail_type(event.kind.name())
                .detail(serde_json::to_string(event).expect("events serialise to JSON"))
                .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(event.occurred_at.unix_millis()))
                .build()
        });
        let _call = crate::telemetry::record_event_put();
        let answer = self
            .client
            .put_events()
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .map_err(|error| PublishError(aws_sdk_eventbridge::error::DisplayErrorContext(error).to_string()))?;
        let results = answer.entries();
        let published = results.iter().take_while(|entry| entry.error_code().is_none()).count();
        if published < events.len() {
            let failed = results.get(published).and_then(|entry| entry.error_message()).unwrap_or("no answer");
            tracing::warn!(failed, published, "the event bus did not take every event");
        }
        Ok(published.min(events.len()))
    }
}
