//! The DynamoDB store: one table, string keys `PK`/`SK`.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | store profile | `STORE#<id>` | `PROFILE` |
//! | a store's active session pointer | `STORE#<id>` | `ACTIVE` |
//! | admin profile | `ADMIN#<id>` | `PROFILE` |
//! | token | `TOKEN#<sha256 hex>` | `TOKEN` |
//! | session | `SESSION#<id>` | `SESSION` |
//! | message | `SESSION#<id>` | `MSG#<20-digit id>` |
//! | client message id | `SESSION#<id>` | `CLIENT#<store or admin>#<sender id>#<client_message_id>` |
//! | id counters | `COUNTER` | `SESSION_ID`, `MESSAGE_ID` |
//! | list counts | `COUNTS` | `OPEN`, `ADMIN#<id>#claimed`, `ADMIN#<id>#closed` |
//!
//! `SESSION` sorts after every `MSG#…`, so one descending Query returns a session and its
//! newest messages. The session item also carries the keys of the sparse indexes:
//! `QueuePK`/`ActivityKey` (index `OpenQueue`) while it is open, `AdminPK`/`ActivityKey`
//! (index `ByAdmin`) while an admin holds it.

mod items;
mod list;
mod writes;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    CancellationReason, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use tokio::sync::Mutex;

use self::items::*;
use super::{
    ActiveSession, AppendGuard, AppendOutcome, Bucket, ChatStore, ClosedSession, MessagesAfter, ReceiptKind,
    SessionList, SessionPage, SessionQuery, StorageError, StorageResult, WriteOutcome,
};
use crate::Timestamp;
use crate::domain::TokenHash;
use crate::domain::{
    AdminId, AdminProfile, Audience, Connection, Message, MessageId, NewMessage, Principal, SenderType, Session,
    SessionId, SessionStatus, StoreId, StoreProfile,
};
use crate::telemetry::DynamoCallCounter;

/// Session ids are handed out in blocks per instance: creating a session then costs no
/// extra round trip, and ids carry no order that anything relies on.
const SESSION_ID_BLOCK: u64 = 16;
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

/// What a change of a list's counts is about.
#[derive(Clone, Copy)]
enum Counted<'a> {
    /// A session entering or leaving the list, with its tags.
    Session(&'a [String]),
    /// A session in the list whose tags changed: the `removed` counts move by `-delta`, the
    /// `added` ones by `delta`, in one update (a transaction may write an item only once).
    Retagged { removed: &'a [String], added: &'a [String] },
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
    session_locks: Vec<Mutex<()>>,
}

impl DynamoStore {
    pub fn new(client: Client, table: &str) -> Self {
        let session_ids = IdBlock { counter: "SESSION_ID", size: SESSION_ID_BLOCK, next_and_end: Mutex::new((1, 0)) };
        let session_locks = (0..SESSION_LOCK_STRIPES).map(|_| Mutex::new(())).collect();
        DynamoStore { client, table: table.to_owned(), session_ids, session_locks }
    }

    /// Waits for this process's turn to write to `session`. Every write to a session
    /// updates its one item, so concurrent writers only cancel each other's transactions;
    /// taking turns in-process (a Lambda instance serves one request at a time, the local
    /// gateway many) leaves only other processes to race with.
    /// The wait is not charged to the invocation's deadline: it is not a dependency's.
    async fn session_turn(&self, session: SessionId) -> tokio::sync::MutexGuard<'_, ()> {
        let lock = &self.session_locks[(session % SESSION_LOCK_STRIPES as u64) as usize];
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

    /// Adds `delta` to a list's counts: of all its sessions and per tag.
    fn count(&self, bucket: &Bucket, delta: i64, counted: Counted<'_>) -> TransactWriteItem {
        // Each tag counter with the value it moves by.
        let (mut expression, tags): (String, Vec<(&String, &str)>) = match counted {
            Counted::Session(tags) => ("ADD #total :delta".to_owned(), tags.iter().map(|t| (t, ":delta")).collect()),
            Counted::Retagged { removed, added } => {
                let moves = removed.iter().map(|t| (t, ":undo")).chain(added.iter().map(|t| (t, ":delta")));
                (String::new(), moves.collect())
            }
        };
        let mut update =
            Update::builder().table_name(&self.table).key("PK", s(COUNTS_PK)).key("SK", s(bucket_sk(bucket)));
        if matches!(counted, Counted::Session(_)) {
            update = update.expression_attribute_names("#total", "total");
        }
        for (i, (tag, value)) in tags.iter().enumerate() {
            expression.push_str(if expression.is_empty() { "ADD " } else { ", " });
            expression.push_str(&format!("#tag{i} {value}"));
            update = update.expression_attribute_names(format!("#tag{i}"), tag_counter(tag));
        }
        // DynamoDB refuses values the expression does not use.
        for (value, by) in [(":delta", delta), (":undo", -delta)] {
            if expression.contains(value) {
                update = update.expression_attribute_values(value, n(by));
            }
        }
        let update = update.update_expression(expression).build().expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    async fn create_session(&self, profile: StoreProfile, now: Timestamp) -> StorageResult<Option<Session>> {
        let session = Session::new(self.next_id(&self.session_ids).await?, profile, now);
        let pointer = PointerItem::to(&session);
        let items = vec![
            self.put_new(to_item(&pointer)?),
            self.put_new(to_item(&SessionItem::new(session.clone()))?),
            self.count(&Bucket::Open, 1, Counted::Session(&[])),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(Some(session)),
            // Another call created the store's session first, or is creating it now.
            Err(TransactionFailure::Cancelled(_)) => Ok(None),
            Err(TransactionFailure::Unavailable(error)) => Err(error),
        }
    }

    async fn message_by_id(&self, session: SessionId, id: MessageId) -> StorageResult<Message> {
        let item = self
            .get(session_pk(session), &message_sk(id))
            .await?
            .ok_or_else(|| StorageError::Malformed(format!("message {id} of session {session} is missing")))?;
        message_from(item)
    }

    /// Messages of `session` with ids in `from..=to`, ascending, at most `limit`.
    async fn message_range(
        &self,
        session: SessionId,
        from: MessageId,
        to: MessageId,
        limit: usize,
    ) -> StorageResult<Vec<Message>> {
        if from > to || limit == 0 {
            return Ok(Vec::new());
        }
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(session_pk(session)))
            .expression_attribute_values(":from", s(message_sk(from)))
            .expression_attribute_values(":to", s(message_sk(to)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .consistent_read(true);
        self.query_items(query, limit).await?.into_iter().map(message_from).collect()
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

#[async_trait]
impl ChatStore for DynamoStore {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()> {
        self.put(to_item(&ProfileItem { pk: store_pk(store.id), sk: PROFILE_SK.into(), profile: store })?).await
    }

    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()> {
        self.put(to_item(&ProfileItem { pk: admin_pk(admin.id), sk: PROFILE_SK.into(), profile: admin })?).await
    }

    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>> {
        let item = self.get(store_pk(id), PROFILE_SK).await?;
        item.map(|i| from_item::<ProfileItem<StoreProfile>>(i).map(|p| p.profile)).transpose()
    }

    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>> {
        let item = self.get(admin_pk(id), PROFILE_SK).await?;
        item.map(|i| from_item::<ProfileItem<AdminProfile>>(i).map(|p| p.profile)).transpose()
    }

    async fn admin_profiles(&self, ids: &[AdminId]) -> StorageResult<Vec<AdminProfile>> {
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut profiles = Vec::new();
        // BatchGetItem takes at most 100 keys.
        for chunk in unique.chunks(100) {
            let keys = chunk
                .iter()
                .map(|id| {
                    std::collections::HashMap::from([
                        ("PK".to_owned(), s(admin_pk(*id))),
                        ("SK".to_owned(), s(PROFILE_SK)),
                    ])
                })
                .collect();
            let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|e| StorageError::Malformed(e.to_string()))?;
            let mut pending = Some(std::collections::HashMap::from([(self.table.clone(), request)]));
            while let Some(items) = pending.take().filter(|p| !p.is_empty()) {
                let output =
                    self.client.batch_get_item().set_request_items(Some(items)).send().await.map_err(unavailable)?;
                for item in output.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    profiles.push(from_item::<ProfileItem<AdminProfile>>(item)?.profile);
                }
                pending = output.unprocessed_keys;
            }
        }
        Ok(profiles)
    }

    async fn put_token(&self, token: &TokenHash, principal: Principal) -> StorageResult<()> {
        self.put(to_item(&TokenItem { pk: token_pk(token), sk: TOKEN_SK.into(), principal })?).await
    }

    async fn revoke_token(&self, token: &TokenHash) -> StorageResult<bool> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(token_pk(token)))
            .key("SK", s(TOKEN_SK))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn principal_for(&self, token: &TokenHash) -> StorageResult<Option<Principal>> {
        let item = self.get(token_pk(token), TOKEN_SK).await?;
        item.map(|i| from_item::<TokenItem>(i).map(|t| t.principal)).transpose()
    }

    async fn get_or_create_active_session(
        &self,
        store: StoreId,
        newest: usize,
        now: Timestamp,
    ) -> StorageResult<Option<SessionPage>> {
        for attempt in 0..MAX_ATTEMPTS {
            // The profile and the active-session pointer share a partition: one Query.
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(store_pk(store)))
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            let (mut profile, mut active) = (None, None);
            for item in output.items.unwrap_or_default() {
                match sk_of(&item) {
                    Some(PROFILE_SK) => profile = Some(from_item::<ProfileItem<StoreProfile>>(item)?.profile),
                    Some(ACTIVE_SK) => active = Some(from_item::<PointerItem>(item)?.session_id),
                    _ => {}
                }
            }
            if let Some(id) = active {
                return self.session_page(id, newest).await;
            }
            let Some(profile) = profile else { return Ok(None) };
            if let Some(session) = self.create_session(profile, now).await? {
                return Ok(Some(SessionPage { session, messages: Vec::new(), opened: true }));
            }
            back_off(attempt).await;
        }
        Err(StorageError::Unavailable(format!("store {store}: too much contention creating its session")))
    }

    async fn active_session(&self, store: StoreId) -> StorageResult<Option<ActiveSession>> {
        let item = self.get(store_pk(store), ACTIVE_SK).await?;
        let pointer = item.map(from_item::<PointerItem>).transpose()?;
        Ok(pointer.map(|p| ActiveSession { id: p.session_id, status: p.status, admin_id: p.admin_id }))
    }

    async fn session(&self, id: SessionId) -> StorageResult<Option<Session>> {
        self.get(session_pk(id), SESSION_SK).await?.map(session_from).transpose()
    }

    async fn session_page(&self, id: SessionId, newest: usize) -> StorageResult<Option<SessionPage>> {
        // Descending from `SESSION`: the session item first, then its newest messages.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :first AND :session")
            .expression_attribute_values(":pk", s(session_pk(id)))
            .expression_attribute_values(":first", s("MSG#"))
            .expression_attribute_values(":session", s(SESSION_SK))
            .scan_index_forward(false)
            .limit(i32::try_from(newest + 1).unwrap_or(i32::MAX))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let mut items = output.items.unwrap_or_default().into_iter();
        let Some(first) = items.next().filter(|item| sk_of(item) == Some(SESSION_SK)) else {
            return Ok(None);
        };
        let session = session_from(first)?;
        let mut messages = items.map(message_from).collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(Some(SessionPage { session, messages, opened: false }))
    }

    async fn messages_after(
        &self,
        id: SessionId,
        after: MessageId,
        limit: usize,
    ) -> StorageResult<Option<MessagesAfter>> {
        // Both reads in parallel: one round trip.
        let (session, messages) =
            tokio::join!(self.session(id), self.message_range(id, after.saturating_add(1), MessageId::MAX, limit + 1));
        let Some(session) = session? else { return Ok(None) };
        Ok(Some(MessagesAfter::from_one_more(session, messages?, limit)))
    }

    async fn list_sessions(&self, query: &SessionQuery) -> StorageResult<SessionList> {
        self.list(query).await
    }

    async fn next_message_id(&self) -> StorageResult<MessageId> {
        // One counter for all sessions: a fresh id is above every id committed so far.
        self.bump_counter("MESSAGE_ID", 1).await
    }

    async fn append_message(
        &self,
        session: SessionId,
        guard: AppendGuard<'_>,
        id: MessageId,
        message: NewMessage,
        now: Timestamp,
    ) -> StorageResult<AppendOutcome> {
        self.append(session, guard, id, message, now).await
    }

    async fn change_lifecycle(
        &self,
        seen: &Session,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        self.move_session(seen, status, admin_id, now).await
    }

    async fn close_active_session(&self, store: StoreId, now: Timestamp) -> StorageResult<Option<ClosedSession>> {
        self.close_active(store, now).await
    }

    async fn put_connection(&self, connection: &Connection) -> StorageResult<()> {
        self.put(to_item(&ConnectionItem::new(connection.clone()))?).await
    }

    async fn connection(&self, id: &str) -> StorageResult<Option<Connection>> {
        let item = self.get(connection_pk(id), CONNECTION_SK).await?;
        item.map(|i| from_item::<ConnectionItem>(i).map(|c| c.connection)).transpose()
    }

    async fn delete_connection(&self, id: &str) -> StorageResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(connection_pk(id)))
            .key("SK", s(CONNECTION_SK))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn connections_of(&self, audience: Audience, now: Timestamp) -> StorageResult<Vec<Connection>> {
        let (key, prefix) = match audience {
            Audience::Store(id) => (store_pk(id), None),
            Audience::Admin(id) => (ADMINS_PK.to_owned(), Some(format!("ADMIN#{id}#"))),
            Audience::AllAdmins => (ADMINS_PK.to_owned(), None),
        };
        let mut condition = String::from("PrincipalPK = :key");
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_PRINCIPAL_INDEX)
            .expression_attribute_values(":key", s(key))
            // TTL deletes late: an expired item is not a connection.
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":now", n(now.unix_seconds()));
        if let Some(prefix) = prefix {
            condition.push_str(" AND begins_with(PrincipalSK, :prefix)");
            query = query.expression_attribute_values(":prefix", s(prefix));
        }
        let items = self.query_items(query.key_condition_expression(condition), usize::MAX).await?;
        let mut connections = items
            .into_iter()
            .map(|item| from_item::<ConnectionItem>(item).map(|c| c.connection))
            .collect::<Result<Vec<_>, _>>()?;
        connections.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        Ok(connections)
    }

    async fn mark_receipt(
        &self,
        session: SessionId,
        reader: SenderType,
        kind: ReceiptKind,
        up_to: MessageId,
        now: Timestamp,
    ) -> StorageResult<Option<Session>> {
        self.mark(session, reader, kind, up_to, now).await
    }

    async fn set_tags(&self, seen: &Session, tags: Vec<String>, now: Timestamp) -> StorageResult<WriteOutcome> {
        self.tag(seen, tags, now).await
    }

    async fn rate_session(
        &self,
        seen: &Session,
        rating: u8,
        feedback: Option<String>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        self.rate(seen, rating, feedback, now).await
    }
}
