//! Webhooks in the table: subscriptions in the `WEBHOOKS` partition (one Query lists them,
//! their number kept beside them in `COUNTS` / `WEBHOOKS`, in the same transactions); each
//! subscription's log (`DELIVERY#<position>`) and dead deliveries (`DEAD#<position>`) in
//! its own partition, `WEBHOOK#<id>`, by the events' place in the change stream.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::items::*;
use super::{DynamoStore, TransactionFailure};
use crate::Timestamp;
use crate::domain::{DeliveryRecord, QueuedDelivery, Subscription};
use crate::storage::{
    DEAD_DELIVERY_DAYS, DELIVERY_LOG_DAYS, DeliveryPage, StorageError, StorageResult, WebhookStore, log_position,
};

const WEBHOOKS_PK: &str = "WEBHOOKS";
const WEBHOOK_COUNT_SK: &str = "WEBHOOKS";
const DELIVERY_PREFIX: &str = "DELIVERY#";
const DEAD_PREFIX: &str = "DEAD#";
const DAY_SECONDS: i64 = 24 * 60 * 60;

fn webhook_sk(id: &str) -> String {
    format!("WEBHOOK#{id}")
}

fn log_pk(webhook_id: &str) -> String {
    format!("WEBHOOK#{webhook_id}")
}

#[derive(Serialize, Deserialize)]
struct SubscriptionItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    subscription: Subscription,
}

/// A log entry or a dead delivery: what it holds, and when the table's TTL removes it.
#[derive(Serialize, Deserialize)]
struct ExpiringItem<T> {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    value: T,
    expires_at: i64,
}

impl DynamoStore {
    async fn write_count(&self, change: TransactWriteItem, by: i64, at_most: usize) -> StorageResult<bool> {
        let mut count = Update::builder()
            .table_name(&self.table)
            .key("PK", s(COUNTS_PK))
            .key("SK", s(WEBHOOK_COUNT_SK))
            .update_expression("ADD #total :by")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":by", n(by));
        if by > 0 {
            count = count
                .condition_expression("attribute_not_exists(#total) OR #total < :most")
                .expression_attribute_values(":most", n(at_most));
        }
        let count = count.build().expect("table, key and expression are set");
        match self.transact(vec![change, TransactWriteItem::builder().update(count).build()]).await {
            Ok(()) => Ok(true),
            Err(TransactionFailure::Cancelled(reasons)) if reasons.iter().any(|r| failed_condition(Some(r))) => {
                Ok(false)
            }
            Err(TransactionFailure::Cancelled(_)) => Err(StorageError::Unavailable("a conflicting write".into())),
            Err(TransactionFailure::Unavailable(error)) => Err(error),
        }
    }

    async fn query_partition(
        &self,
        pk: String,
        prefix: &str,
        after: Option<String>,
        newest_first: bool,
        limit: usize,
    ) -> StorageResult<(Vec<Item>, bool)> {
        let mut query = (self.prefix_query(pk.clone(), prefix))
            .scan_index_forward(!newest_first)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        if let Some(after) = after {
            query = query.exclusive_start_key("PK", s(pk)).exclusive_start_key("SK", s(after));
        }
        let mut items = self.query_items(query, limit + 1).await?;
        let more = items.len() > limit;
        items.truncate(limit);
        Ok((items, more))
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn add_webhook(&self, subscription: &Subscription, at_most: usize) -> StorageResult<bool> {
        let item = SubscriptionItem {
            pk: WEBHOOKS_PK.into(),
            sk: webhook_sk(&subscription.webhook.id),
            subscription: subscription.clone(),
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        self.write_count(TransactWriteItem::builder().put(put).build(), 1, at_most).await
    }

    async fn webhooks(&self) -> StorageResult<Vec<Subscription>> {
        let (items, _) = self.query_partition(WEBHOOKS_PK.into(), "WEBHOOK#", None, false, usize::MAX - 1).await?;
        let mut subscriptions: Vec<Subscription> = items
            .into_iter()
            .map(|item| from_item::<SubscriptionItem>(item).map(|i| i.subscription))
            .collect::<StorageResult<_>>()?;
        subscriptions.sort_by(|a, b| (a.webhook.created_at, &a.webhook.id).cmp(&(b.webhook.created_at, &b.webhook.id)));
        Ok(subscriptions)
    }

    async fn webhook(&self, id: &str) -> StorageResult<Option<Subscription>> {
        let item = self.get(WEBHOOKS_PK.into(), &webhook_sk(id)).await?;
        item.map(|item| from_item::<SubscriptionItem>(item).map(|i| i.subscription)).transpose()
    }

    async fn delete_webhook(&self, id: &str) -> StorageResult<bool> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("PK", s(WEBHOOKS_PK))
            .key("SK", s(webhook_sk(id)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .expect("table and key are set");
        self.write_count(TransactWriteItem::builder().delete(delete).build(), -1, 0).await
    }

    async fn record_delivery(&self, record: &DeliveryRecord, now: Timestamp) -> StorageResult<()> {
        let item = ExpiringItem {
            pk: log_pk(&record.webhook_id),
            sk: format!("{DELIVERY_PREFIX}{}", log_position(&record.sequence, &record.event_id)),
            value: record.clone(),
            expires_at: now.unix_seconds() + DELIVERY_LOG_DAYS * DAY_SECONDS,
        };
        self.put(to_item(&item)?).await
    }

    async fn delivery(
        &self,
        webhook_id: &str,
        sequence: &str,
        event_id: &str,
    ) -> StorageResult<Option<DeliveryRecord>> {
        let sk = format!("{DELIVERY_PREFIX}{}", log_position(sequence, event_id));
        let item = self.get(log_pk(webhook_id), &sk).await?;
        item.map(|item| Ok(from_item::<ExpiringItem<DeliveryRecord>>(item)?.value)).transpose()
    }

    async fn deliveries(&self, webhook_id: &str, after: Option<&str>, limit: usize) -> StorageResult<DeliveryPage> {
        let after = after.map(|position| format!("{DELIVERY_PREFIX}{position}"));
        let (items, more) = self.query_partition(log_pk(webhook_id), DELIVERY_PREFIX, after, true, limit).await?;
        let deliveries: Vec<DeliveryRecord> = items
            .into_iter()
            .map(|item| Ok(from_item::<ExpiringItem<DeliveryRecord>>(item)?.value))
            .collect::<StorageResult<_>>()?;
        let next = more.then(|| deliveries.last().map(|last| log_position(&last.sequence, &last.event_id))).flatten();
        Ok(DeliveryPage { deliveries, next })
    }

    async fn keep_dead(&self, delivery: &QueuedDelivery, now: Timestamp) -> StorageResult<()> {
        let item = ExpiringItem {
            pk: log_pk(&delivery.webhook_id),
            sk: format!("{DEAD_PREFIX}{}", log_position(&delivery.sequence, &delivery.event_id)),
            value: delivery.clone(),
            expires_at: now.unix_seconds() + DEAD_DELIVERY_DAYS * DAY_SECONDS,
        };
        self.put(to_item(&item)?).await
    }

    async fn dead_deliveries(&self, webhook_id: &str, limit: usize) -> StorageResult<Vec<QueuedDelivery>> {
        let (items, _) = self.query_partition(log_pk(webhook_id), DEAD_PREFIX, None, false, limit).await?;
        items.into_iter().map(|item| Ok(from_item::<ExpiringItem<QueuedDelivery>>(item)?.value)).collect()
    }

    async fn forget_dead(&self, delivery: &QueuedDelivery) -> StorageResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(log_pk(&delivery.webhook_id)))
            .key("SK", s(format!("{DEAD_PREFIX}{}", log_position(&delivery.sequence, &delivery.event_id))))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
