use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryStore;
use crate::Timestamp;
use crate::domain::{DeliveryRecord, QueuedDelivery, Subscription};
use crate::storage::{DeliveryPage, StorageResult, WebhookStore, log_position};

/// A subscription's log and dead deliveries, by [`log_position`].
#[derive(Debug, Default)]
pub(super) struct WebhookLog {
    deliveries: BTreeMap<String, DeliveryRecord>,
    dead: BTreeMap<String, QueuedDelivery>,
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn add_webhook(&self, subscription: &Subscription, at_most: usize) -> StorageResult<bool> {
        let mut state = self.state();
        if state.webhooks.len() >= at_most || state.webhooks.iter().any(|s| s.webhook.id == subscription.webhook.id) {
            return Ok(false);
        }
        state.webhooks.push(subscription.clone());
        Ok(true)
    }

    async fn webhooks(&self) -> StorageResult<Vec<Subscription>> {
        let mut subscriptions = self.state().webhooks.clone();
        subscriptions.sort_by(|a, b| (a.webhook.created_at, &a.webhook.id).cmp(&(b.webhook.created_at, &b.webhook.id)));
        Ok(subscriptions)
    }

    async fn webhook(&self, id: &str) -> StorageResult<Option<Subscription>> {
        Ok(self.state().webhooks.iter().find(|s| s.webhook.id == id).cloned())
    }

    async fn delete_webhook(&self, id: &str) -> StorageResult<bool> {
        let mut state = self.state();
        let before = state.webhooks.len();
        state.webhooks.retain(|s| s.webhook.id != id);
        Ok(state.webhooks.len() < before)
    }

    async fn record_delivery(&self, record: &DeliveryRecord, _now: Timestamp) -> StorageResult<()> {
        let position = log_position(&record.sequence, &record.event_id);
        self.state()
            .webhook_logs
            .entry(record.webhook_id.clone())
            .or_default()
            .deliveries
            .insert(position, record.clone());
        Ok(())
    }

    async fn delivery(
        &self,
        webhook_id: &str,
        sequence: &str,
        event_id: &str,
    ) -> StorageResult<Option<DeliveryRecord>> {
        let state = self.state();
        let log = state.webhook_logs.get(webhook_id);
        Ok(log.and_then(|log| log.deliveries.get(&log_position(sequence, event_id))).cloned())
    }

    async fn deliveries(&self, webhook_id: &str, after: Option<&str>, limit: usize) -> StorageResult<DeliveryPage> {
        let state = self.state();
        let Some(log) = state.webhook_logs.get(webhook_id) else { return Ok(DeliveryPage::default()) };
        let mut newest_first =
            log.deliveries.iter().rev().skip_while(|(position, _)| after.is_some_and(|a| position.as_str() >= a));
        let deliveries: Vec<DeliveryRecord> = newest_first.by_ref().take(limit).map(|(_, r)| r.clone()).collect();
        let next = newest_first.next().and(deliveries.last()).map(|last| log_position(&last.sequence, &last.event_id));
        Ok(DeliveryPage { deliveries, next })
    }

    async fn keep_dead(&self, delivery: &QueuedDelivery, _now: Timestamp) -> StorageResult<()> {
        let position = log_position(&delivery.sequence, &delivery.event_id);
        self.state()
            .webhook_logs
            .entry(delivery.webhook_id.clone())
            .or_default()
            .dead
            .insert(position, delivery.clone());
        Ok(())
    }

    async fn dead_deliveries(&self, webhook_id: &str, limit: usize) -> StorageResult<Vec<QueuedDelivery>> {
        let state = self.state();
        Ok(state
            .webhook_logs
            .get(webhook_id)
            .map(|log| log.dead.values().take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn forget_dead(&self, delivery: &QueuedDelivery) -> StorageResult<()> {
        if let Some(log) = self.state().webhook_logs.get_mut(&delivery.webhook_id) {
            log.dead.remove(&log_position(&delivery.sequence, &delivery.event_id));
        }
        Ok(())
    }
}
