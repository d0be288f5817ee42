//! Webhook subscriptions, each one's delivery log, and the deliveries that died.

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::{DeliveryRecord, QueuedDelivery, Subscription};

/// A page of a delivery log, newest event first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryRecord>,
    /// Where the next page starts: the last entry's place, if more may follow.
    pub next: Option<String>,
}

/// How long the log keeps an entry, and how long a dead delivery waits to be replayed.
pub const DELIVERY_LOG_DAYS: i64 = 7;
pub const DEAD_DELIVERY_DAYS: i64 = 30;

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Adds a subscription, unless there are `at_most` already: whether it was added.
    async fn add_webhook(&self, subscription: &Subscription, at_most: usize) -> StorageResult<bool>;
    /// Every subscription, oldest first: one round trip.
    async fn webhooks(&self) -> StorageResult<Vec<Subscription>>;
    async fn webhook(&self, id: &str) -> StorageResult<Option<Subscription>>;
    /// Whether there was such a subscription. Its log and dead deliveries expire with time.
    async fn delete_webhook(&self, id: &str) -> StorageResult<bool>;
    /// Writes the log entry of the record's event, replacing the one before.
    async fn record_delivery(&self, record: &DeliveryRecord, now: Timestamp) -> StorageResult<()>;
    /// The log entry of one delivery (a [`QueuedDelivery`]'s subscription, sequence and event).
    async fn delivery(&self, webhook_id: &str, sequence: &str, event_id: &str)
    -> StorageResult<Option<DeliveryRecord>>;
    /// The log of a subscription, newest event first, from after `after` (a page's `next`).
    async fn deliveries(&self, webhook_id: &str, after: Option<&str>, limit: usize) -> StorageResult<DeliveryPage>;
    /// Keeps a delivery that was tried for the whole window, to be replayed.
    async fn keep_dead(&self, delivery: &QueuedDelivery, now: Timestamp) -> StorageResult<()>;
    /// Up to `limit` dead deliveries of a subscription, oldest event first.
    async fn dead_deliveries(&self, webhook_id: &str, limit: usize) -> StorageResult<Vec<QueuedDelivery>>;
    /// Forgets a dead delivery once it is queued again.
    async fn forget_dead(&self, delivery: &QueuedDelivery) -> StorageResult<()>;
}

/// Where an event's entries sort in a subscription's log: by the event's place in the
/// change stream (sequence numbers are decimal strings of up to 40 digits).
pub(crate) fn log_position(sequence: &str, event_id: &str) -> String {
    format!("{sequence:0>40}#{event_id}")
}
