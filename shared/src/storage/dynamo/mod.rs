//! The DynamoDB store: one table, string keys `PK`/`SK`.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | store profile | `STORE#<id>` | `PROFILE` |
//! | a store's active session pointer | `STORE#<id>` | `ACTIVE` |
//! | admin profile | `ADMIN#<id>` | `PROFILE` |
//! | token | `TOKEN#<sha256 hex>` | `TOKEN` |
//! | a connection opened with a token (a copy, in `ByPrincipal` under `EXPIRING`) | `TOKEN#<sha256 hex>` | `CONN#<connection id>` |
//! | session | `SESSION#<id>` | `SESSION` |
//! | message | `SESSION#<id>` | `MSG#<20-digit id>` |
//! | client message id | `SESSION#<id>` | `CLIENT#<store or admin>#<sender id>#<client_message_id>` |
//! | a session's places (the order of its sends) | `SESSION#<id>` | `IDS` |
//! | id counters | `COUNTER` | `SESSION_ID`, `MESSAGE_ID`, `NOTE_ID` |
//! | list counts | `COUNTS` | `OPEN`, `ADMIN#<id>#claimed`, `ADMIN#<id>#closed` |
//! | notes, revisions, saved replies | see [`team_side`] | |
//! | report figures | see [`reports`] | |
//!
//! `SESSION` sorts after every `MSG#…`, so one descending Query returns a session and its
//! newest messages. The session item also carries the keys of the sparse indexes:
//! `QueuePK`/`ActivityKey` (index `OpenQueue`) while it is open, `AdminPK`/`ActivityKey`
//! (index `ByAdmin`) while an admin holds it.

mod connections;
mod desks;
mod email;
mod identities;
mod items;
mod migrate;
mod reports;
mod sessions;
mod stream;
mod team_side;
mod webhooks;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    CancellationReason, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use tokio::sync::Mutex;

use self::items::*;
pub use self::migrate::Migrated;
pub use self::stream::table_change;
use super::{StorageError, StorageResult};
use crate::domain::SessionId;
use crate::telemetry::DynamoCallCounter;

/// Session ids are handed out in blocks per instance: creating a session then costs no
/// extra round trip, and ids carry no order that anything relies on.
const SESSION_ID_BLOCK: u64 = 16;
/// Note ids likewise.
const NOTE_ID_BLOCK: u64 = 16;
/// How often a write that lost a race (a transaction conflict) is tried again.
const MAX_ATTEMPTS: u32 = 30;
/// Writes to one session from this process take turns (see [`DynamoStore::session_turn`]).
const SESSION_LOCK_STRIPES: usize = 64;

/// A random pause that grows with each lost race, so that competing writers spread out
/// instead of colliding again in step.
async fn back_off(attempt: u32) {
    let ceiling_ms = 2u64.saturating_pow(attempt.min(7)).min(100);
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).expect("the operating system's random source is available");
    let pause = u64::from_le_bytes(random) % (ceiling_ms * 1000 + 1);
    tokio::time::sleep(Duration::from_micros(pause)).await;
}

/// A block of ids taken from a counter item, used up before the next is taken.
struct IdBlock {
    counter: &'static str,
    size: u64,
    next_and_end: Mutex<(u64, u64)>,
}

/// Why a transaction did not commit.
enum TransactionFailure {
    /// A condition failed or another transaction got in the way; item by item.
    Cancelled(Vec<CancellationReason>),
    Unavailable(StorageError),
}

pub struct DynamoStore {
    client: Client,
    table: String,
    session_ids: IdBlock,
    note_ids: IdBlock,
    session_locks: Vec<Mutex<()>>,
    message_ids: sessions::MessageIds,
}

impl DynamoStore {
    pub fn new(client: Client, table: &str) -> Self {
        let session_ids = IdBlock { counter: "SESSION_ID", size: SESSION_ID_BLOCK, next_and_end: Mutex::new((1, 0)) };
        let note_ids = IdBlock { counter: "NOTE_ID", size: NOTE_ID_BLOCK, next_and_end: Mutex::new((1, 0)) };
        let session_locks = (0..SESSION_LOCK_STRIPES).map(|_| Mutex::new(())).collect();
        let message_ids = Default::default();
        DynamoStore { client, table: table.to_owned(), session_ids, note_ids, session_locks, message_ids }
    }

    /// Waits for this process's turn to write to `session`. Every write to a session
    /// updates its one item, so concurrent writers only cancel each other's transactions;
    /// taking turns in-process (a Lambda instance serves one request at a time, the local
    /// gateway many) leaves only other processes to race with.
    /// The wait is not charged to the invocation's deadline: it is not a dependency's.
    async fn session_turn(&self, session: SessionId) -> tokio::sync::MutexGuard<'_, ()> {
        let lock = &self.session_locks[(session.0 % SESSION_LOCK_STRIPES as u64) as usize];
        crate::deadline::not_counted(lock.lock()).await
    }

    /// A client for the deployed table, counting its calls per invocation. The timeouts and
    /// retries come with `sdk` ([`crate::deadline::aws_config_loader`]).
    pub fn client(sdk: &aws_config::SdkConfig) -> Client {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(DynamoCallCounter).build();
        Client::from_conf(config)
    }

    /// A client for a local endpoint (DynamoDB Local): fixed region and dummy credentials,
    /// so nothing is needed from the environment.
    pub fn local_client(endpoint: &str) -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "local"))
            .timeout_config(crate::deadline::timeouts())
            .retry_config(crate::deadline::retries())
            .interceptor(DynamoCallCounter)
            .build();
        Client::from_conf(config)
    }

    /// A client for `endpoint`: a loopback endpoint is DynamoDB Local ([`Self::local_client`]);
    /// any other is AWS, with the SDK's default credentials and region.
    pub async fn endpoint_client(endpoint: &str) -> Client {
        if crate::config::is_loopback_endpoint(endpoint) {
            return Self::local_client(endpoint);
        }
        let sdk = crate::deadline::aws_config_loader().endpoint_url(endpoint).load().await;
        Self::client(&sdk)
    }

    pub fn sdk_client(&self) -> &Client {
        &self.client
    }

    async fn put(&self, item: Item) -> StorageResult<()> {
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(unavailable)?;
        Ok(())
    }

    /// The items at `keys` (`PK` and `SK` each) that exist, in any order: BatchGetItem, 100
    /// keys a request, the keys it left unprocessed asked again.
    async fn batch_get(&self, keys: &[(String, String)], consistent: bool) -> StorageResult<Vec<Item>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let keys = chunk
                .iter()
                .map(|(pk, sk)| HashMap::from([("PK".to_owned(), s(pk.as_str())), ("SK".to_owned(), s(sk.as_str()))]))
                .collect();
            let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(consistent)
                .build()
                .map_err(|e| StorageError::Malformed(e.to_string()))?;
            let mut pending = Some(HashMap::from([(self.table.clone(), request)]));
            while let Some(items) = pending.take().filter(|p| !p.is_empty()) {
                let output =
                    self.client.batch_get_item().set_request_items(Some(items)).send().await.map_err(unavailable)?;
                found.extend(output.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
                pending = output.unprocessed_keys;
            }
        }
        Ok(found)
    }

    async fn get(&self, pk: String, sk: &str) -> StorageResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// Adds `by` to a counter item and returns its new value.
    async fn bump_counter(&self, counter: &str, by: u64) -> StorageResult<u64> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(COUNTER_PK))
            .key("SK", s(counter))
            .update_expression("ADD #value :by")
            .expression_attribute_names("#value", "value")
            .expression_attribute_values(":by", n(by))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .attributes
            .as_ref()
            .and_then(|a| a.get("value"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StorageError::Malformed(format!("counter {counter} has no numeric value")))
    }

    async fn next_id(&self, block: &IdBlock) -> StorageResult<u64> {
        let mut range = block.next_and_end.lock().await;
        if range.0 > range.1 {
            let end = self.bump_counter(block.counter, block.size).await?;
            *range = (end + 1 - block.size, end);
        }
        let id = range.0;
        range.0 += 1;
        Ok(id)
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactionFailure> {
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(error) => match cancellation_reasons(&error) {
                Some(reasons) => Err(TransactionFailure::Cancelled(reasons.to_vec())),
                None => Err(TransactionFailure::Unavailable(unavailable(error))),
            },
        }
    }

    /// A put that fails if the item exists, returning it.
    fn put_new(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table name and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// A consistent Query of the items of partition `pk` whose sort key starts with `prefix`.
    fn prefix_query(
        &self,
        pk: String,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
    }

    /// Up to `at_most` items of `query`, page after page (a page holds at most 1 MB, and a
    /// filter may leave a page short).
    async fn query_items(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        at_most: usize,
    ) -> StorageResult<Vec<Item>> {
        let mut pages = query.into_paginator().send();
        let mut items = Vec::new();
        while items.len() < at_most {
            let Some(page) = pages.next().await else { break };
            items.extend(page.map_err(unavailable)?.items.unwrap_or_default());
        }
        items.truncate(at_most);
        Ok(items)
    }
}
