//! Erasing a store's items: each session's partition and the team's side of it, the session
//! item last with its list counts in the same transaction (so that a run cut short finds the
//! session again and goes on), then the store's own partition. The audit log of erasures is
//! `ERASURES` / `store-<id>`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, DeleteRequest, TransactWriteItem, WriteRequest};
use serde::{Deserialize, Serialize};

use super::super::email::UNSUBSCRIBED_PK;
use super::super::items::*;
use super::super::{DynamoStore, MAX_ATTEMPTS, TransactionFailure, back_off};
use crate::Timestamp;
use crate::domain::{ErasureRecord, Recipient, SessionId, StoreId};
use crate::storage::{Bucket, ErasureStore, StorageError, StorageResult};

const ERASURES_PK: &str = "ERASURES";
/// `BatchWriteItem` takes at most 25 requests.
const BATCH: usize = 25;

#[derive(Serialize, Deserialize)]
struct ErasureItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    record: ErasureRecord,
}

fn erasure_sk(store: StoreId) -> String {
    format!("store-{store}")
}

impl DynamoStore {
    /// The keys of every item of partition `pk`.
    async fn keys_of(&self, pk: String) -> StorageResult<Vec<Item>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(pk))
            .projection_expression("PK, SK")
            .consistent_read(true);
        self.query_items(query, usize::MAX).await
    }

    /// Deletes the items of `keys`, 25 to a request, until none is left unprocessed.
    async fn delete_all(&self, keys: Vec<Item>) -> StorageResult<()> {
        for chunk in keys.chunks(BATCH) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder().set_key(Some(key.clone())).build().expect("the key is set");
                    WriteRequest::builder().delete_request(delete).build()
                })
                .collect();
            let mut attempt = 0;
            while !requests.is_empty() {
                let batch = std::collections::HashMap::from([(self.table.clone(), requests)]);
                let output =
                    self.client.batch_write_item().set_request_items(Some(batch)).send().await.map_err(unavailable)?;
                requests = output.unprocessed_items.and_then(|mut left| left.remove(&self.table)).unwrap_or_default();
                if !requests.is_empty() {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StorageError::Unavailable("too many deletes left unprocessed".into()));
                    }
                    back_off(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ErasureStore for DynamoStore {
    async fn erase_session(&self, session: SessionId) -> StorageResult<Option<u64>> {
        let (own, team) = tokio::try_join!(self.keys_of(session_pk(session)), self.keys_of(team_side_pk(session)))?;
        let is = |key: &Item, wanted: &dyn Fn(&str) -> bool| {
            key.get("SK").and_then(|sk| sk.as_s().ok()).is_some_and(|sk| wanted(sk))
        };
        let messages = own.iter().filter(|key| is(key, &|sk| sk.starts_with(MESSAGE_SK_PREFIX))).count() as u64;
        let (session_item, others): (Vec<Item>, Vec<Item>) =
            own.into_iter().partition(|key| is(key, &|sk| sk == SESSION_SK));
        if session_item.is_empty() {
            // Gone, but for what a run cut short between its items and a message sent into it
            // meanwhile may have left.
            self.delete_all(others.into_iter().chain(team).collect()).await?;
            return Ok(None);
        }
        self.delete_all(others.into_iter().chain(team).collect()).await?;
        // The session last, on the condition that it is as read: its lists' counts go with it.
        for attempt in 0..MAX_ATTEMPTS {
            let Some(item) = self.get(session_pk(session), SESSION_SK).await? else { return Ok(None) };
            let current = session_from(item)?;
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("PK", s(session_pk(session)))
                .key("SK", s(SESSION_SK))
                .condition_expression("revision = :revision")
                .expression_attribute_values(":revision", AttributeValue::N(current.revision.to_string()))
                .build()
                .expect("table, key and condition are set");
            let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
            items.extend(self.moved_between_lists(Bucket::of(current.status, current.admin_id), None, &current.tags));
            match self.transact(items).await {
                Ok(()) => return Ok(Some(messages)),
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                // Moved or retagged meanwhile: read it again.
                Err(TransactionFailure::Cancelled(_)) => back_off(attempt).await,
            }
        }
        Err(StorageError::Unavailable(format!("session {session}: too much contention erasing it")))
    }

    async fn erase_store_items(&self, store: StoreId) -> StorageResult<()> {
        let mut keys = self.keys_of(store_pk(store)).await?;
        keys.push(Item::from([
            ("PK".to_owned(), s(UNSUBSCRIBED_PK)),
            ("SK".to_owned(), s(Recipient::Store(store).to_string())),
        ]));
        self.delete_all(keys).await
    }

    async fn expired_sessions(&self, before: Timestamp, limit: usize) -> StorageResult<Vec<SessionId>> {
        let query = self
            .client
            .query()
            .index_name(CLOSED_INDEX)
            .table_name(&self.table)
            .key_condition_expression("ClosedPK = :closed AND ActivityKey < :before")
            .expression_attribute_values(":closed", s(CLOSED))
            .expression_attribute_values(":before", s(activity_key(before, SessionId(0))))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        let keys = self.query_items(query, limit).await?;
        let id = |key: &Item| {
            let pk = key.get("PK").and_then(|pk| pk.as_s().ok());
            pk.and_then(|pk| pk.strip_prefix("SESSION#")).and_then(|id| id.parse().ok()).map(SessionId)
        };
        keys.iter().map(|key| id(key).ok_or_else(|| StorageError::Malformed("a closed session's key".into()))).collect()
    }

    async fn erasure(&self, store: StoreId) -> StorageResult<Option<ErasureRecord>> {
        let item = self.get(ERASURES_PK.to_owned(), &erasure_sk(store)).await?;
        Ok(item.map(from_item::<ErasureItem>).transpose()?.map(|item| item.record))
    }

    async fn record_erasure(&self, record: &ErasureRecord) -> StorageResult<()> {
        let item = ErasureItem { pk: ERASURES_PK.into(), sk: erasure_sk(record.store_id), record: record.clone() };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
