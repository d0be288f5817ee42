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
//! | client message id | `SESSION#<id>` | `CLIENT#<client_message_id>` |
//! | id counters | `COUNTER` | `SESSION_ID`, `MESSAGE_ID` |
//!
//! `SESSION` sorts after every `MSG#…`, so one descending Query returns a session and its
//! newest messages. The session item also carries the keys of the sparse indexes:
//! `QueuePK`/`ActivityKey` (index `OpenQueue`) while it is open, `AdminPK`/`ActivityKey`
//! (index `ByAdmin`) while an admin holds it.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{
    AppendOutcome, ChatStore, LifecycleOutcome, MessagesAfter, SessionPage, StorageError,
    StorageResult,
};
use crate::Timestamp;
use crate::auth::TokenHash;
use crate::domain::{
    AdminId, AdminProfile, Message, MessageId, NewMessage, Principal, SenderType, Session,
    SessionId, SessionStatus, StoreId, StoreProfile,
};
use crate::telemetry::DynamoCallCounter;

type Item = HashMap<String, AttributeValue>;

const SESSION_SK: &str = "SESSION";
const PROFILE_SK: &str = "PROFILE";
const ACTIVE_SK: &str = "ACTIVE";
const TOKEN_SK: &str = "TOKEN";
const COUNTER_PK: &str = "COUNTER";
const OPEN_QUEUE: &str = "OPEN";

/// Session ids are handed out in blocks per instance: creating a session then costs no
/// extra round trip, and ids carry no order that anything relies on.
const SESSION_ID_BLOCK: u64 = 16;
/// How often a write that lost a race (a transaction conflict) is tried again.
const MAX_ATTEMPTS: u32 = 12;

fn session_pk(id: SessionId) -> String {
    format!("SESSION#{id}")
}
fn message_sk(id: MessageId) -> String {
    format!("MSG#{id:020}")
}
fn client_sk(client_message_id: &str) -> String {
    format!("CLIENT#{client_message_id}")
}
fn store_pk(id: StoreId) -> String {
    format!("STORE#{id}")
}
fn admin_pk(id: AdminId) -> String {
    format!("ADMIN#{id}")
}
fn token_pk(hash: &TokenHash) -> String {
    format!("TOKEN#{}", hash.as_hex())
}
fn activity_key(at: Timestamp, id: SessionId) -> String {
    format!("{at}#{id:020}")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}
fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[derive(Serialize, Deserialize)]
struct SessionItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    session: Session,
    #[serde(rename = "QueuePK", default, skip_serializing_if = "Option::is_none")]
    queue_pk: Option<String>,
    #[serde(rename = "AdminPK", default, skip_serializing_if = "Option::is_none")]
    admin_pk: Option<String>,
    #[serde(rename = "ActivityKey")]
    activity_key: String,
}

impl SessionItem {
    fn new(session: Session) -> Self {
        SessionItem {
            pk: session_pk(session.id),
            sk: SESSION_SK.into(),
            queue_pk: (session.status == SessionStatus::Open).then(|| OPEN_QUEUE.into()),
            admin_pk: session.admin_id.map(admin_pk),
            activity_key: activity_key(session.last_message_at, session.id),
            session,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct MessageItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    message: Message,
}

#[derive(Serialize, Deserialize)]
struct ProfileItem<P> {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    profile: P,
}

#[derive(Serialize, Deserialize)]
struct TokenItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    principal: Principal,
}

#[derive(Serialize, Deserialize)]
struct PointerItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    session_id: SessionId,
}

#[derive(Serialize, Deserialize)]
struct ClientIdItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    message_id: MessageId,
}

fn to_item(value: &impl Serialize) -> StorageResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| StorageError::Malformed(e.to_string()))
}

fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> StorageResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StorageError::Malformed(e.to_string()))
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> StorageError {
    StorageError::Unavailable(DisplayErrorContext(&error).to_string())
}

fn sk_of(item: &Item) -> Option<&str> {
    item.get("SK")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// Why a transaction was cancelled, item by item.
fn cancellation_reasons(
    error: &SdkError<TransactWriteItemsError>,
) -> Option<&[CancellationReason]> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
            e.cancellation_reasons.as_deref()
        }
        _ => None,
    }
}

/// The session item a failed condition returned; sessions are never deleted, so a missing
/// one means the table was changed behind the store's back.
fn current_session(seen: &Session, reason: &CancellationReason) -> StorageResult<Session> {
    let item = reason
        .item
        .clone()
        .ok_or_else(|| StorageError::Malformed(format!("session {} vanished", seen.id)))?;
    Ok(from_item::<SessionItem>(item)?.session)
}

fn failed_condition(reason: Option<&CancellationReason>) -> bool {
    reason.and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

/// A short, growing pause before trying a lost race again.
async fn back_off(attempt: u32) {
    let jitter = u64::from(std::process::id() ^ attempt.wrapping_mul(7919)) % 7;
    tokio::time::sleep(Duration::from_millis(
        u64::from(attempt.min(6)) * 5 + jitter,
    ))
    .await;
}

/// A block of ids taken from a counter item, used up before the next is taken.
struct IdBlock {
    counter: &'static str,
    size: u64,
    next_and_end: Mutex<(u64, u64)>,
}

impl IdBlock {
    fn new(counter: &'static str, size: u64) -> Self {
        IdBlock {
            counter,
            size,
            next_and_end: Mutex::new((1, 0)),
        }
    }
}

pub struct DynamoStore {
    client: Client,
    table: String,
    session_ids: IdBlock,
}

impl DynamoStore {
    pub fn new(client: Client, table: &str) -> Self {
        DynamoStore {
            client,
            table: table.to_owned(),
            session_ids: IdBlock::new("SESSION_ID", SESSION_ID_BLOCK),
        }
    }

    /// A client for the deployed table, counting its calls per invocation.
    pub fn client(sdk: &aws_config::SdkConfig) -> Client {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(DynamoCallCounter)
            .build();
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
            .interceptor(DynamoCallCounter)
            .build();
        Client::from_conf(config)
    }

    /// A client for `endpoint`: a loopback endpoint is DynamoDB Local ([`Self::local_client`]);
    /// any other is AWS, with the SDK's default credentials and region.
    pub async fn endpoint_client(endpoint: &str) -> Client {
        let host = endpoint
            .split("://")
            .nth(1)
            .unwrap_or(endpoint)
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        if host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
        {
            return Self::local_client(endpoint);
        }
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .load()
            .await;
        Self::client(&sdk)
    }

    pub fn sdk_client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn put(&self, item: Item) -> StorageResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
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

    /// Adds `by` to a counter item and returns its new value: the last id of a fresh block.
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
            .ok_or_else(|| {
                StorageError::Malformed(format!("counter {counter} has no numeric value"))
            })
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

    async fn session(&self, id: SessionId) -> StorageResult<Option<Session>> {
        match self.get(session_pk(id), SESSION_SK).await? {
            Some(item) => Ok(Some(from_item::<SessionItem>(item)?.session)),
            None => Ok(None),
        }
    }

    async fn create_session(
        &self,
        profile: StoreProfile,
        now: Timestamp,
    ) -> StorageResult<Option<Session>> {
        let session = Session::new(self.next_id(&self.session_ids).await?, profile, now);
        let pointer = PointerItem {
            pk: store_pk(session.store.id),
            sk: ACTIVE_SK.into(),
            session_id: session.id,
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(put_new(&self.table, to_item(&pointer)?))
            .transact_items(put_new(
                &self.table,
                to_item(&SessionItem::new(session.clone()))?,
            ))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(session)),
            // Another call created the store's session first, or is creating it now.
            Err(e) if cancellation_reasons(&e).is_some() => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn message_by_id(&self, session: SessionId, id: MessageId) -> StorageResult<Message> {
        let item = self
            .get(session_pk(session), &message_sk(id))
            .await?
            .ok_or_else(|| {
                StorageError::Malformed(format!("message {id} of session {session} is missing"))
            })?;
        Ok(from_item::<MessageItem>(item)?.message)
    }
}

fn put_new(table: &str, item: Item) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .expect("table name and item are set");
    TransactWriteItem::builder().put(put).build()
}

#[async_trait]
impl ChatStore for DynamoStore {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()> {
        self.put(to_item(&ProfileItem {
            pk: store_pk(store.id),
            sk: PROFILE_SK.into(),
            profile: store,
        })?)
        .await
    }

    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()> {
        self.put(to_item(&ProfileItem {
            pk: admin_pk(admin.id),
            sk: PROFILE_SK.into(),
            profile: admin,
        })?)
        .await
    }

    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>> {
        let item = self.get(store_pk(id), PROFILE_SK).await?;
        item.map(|i| from_item::<ProfileItem<StoreProfile>>(i).map(|p| p.profile))
            .transpose()
    }

    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>> {
        let item = self.get(admin_pk(id), PROFILE_SK).await?;
        item.map(|i| from_item::<ProfileItem<AdminProfile>>(i).map(|p| p.profile))
            .transpose()
    }

    async fn put_token(&self, token: &TokenHash, principal: Principal) -> StorageResult<()> {
        self.put(to_item(&TokenItem {
            pk: token_pk(token),
            sk: TOKEN_SK.into(),
            principal,
        })?)
        .await
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
        item.map(|i| from_item::<TokenItem>(i).map(|t| t.principal))
            .transpose()
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
                    Some(PROFILE_SK) => {
                        profile = Some(from_item::<ProfileItem<StoreProfile>>(item)?.profile)
                    }
                    Some(ACTIVE_SK) => active = Some(from_item::<PointerItem>(item)?.session_id),
                    _ => {}
                }
            }
            if let Some(id) = active {
                return self.session_page(id, newest).await;
            }
            let Some(profile) = profile else {
                return Ok(None);
            };
            if let Some(session) = self.create_session(profile, now).await? {
                return Ok(Some(SessionPage {
                    session,
                    messages: Vec::new(),
                }));
            }
            back_off(attempt).await;
        }
        Err(StorageError::Unavailable(format!(
            "store {store}: too much contention creating its session"
        )))
    }

    async fn session_page(
        &self,
        id: SessionId,
        newest: usize,
    ) -> StorageResult<Option<SessionPage>> {
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
        let session = from_item::<SessionItem>(first)?.session;
        let mut messages = items
            .map(|item| from_item::<MessageItem>(item).map(|m| m.message))
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(Some(SessionPage { session, messages }))
    }

    async fn messages_after(
        &self,
        id: SessionId,
        after: MessageId,
        limit: usize,
    ) -> StorageResult<Option<MessagesAfter>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(session_pk(id)))
            .expression_attribute_values(":from", s(message_sk(after.saturating_add(1))))
            .expression_attribute_values(":to", s(message_sk(MessageId::MAX)))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .consistent_read(true)
            .send();
        // Both reads in parallel: one round trip.
        let (session, output) = tokio::join!(self.session(id), query);
        let Some(session) = session? else {
            return Ok(None);
        };
        let messages = output
            .map_err(unavailable)?
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<MessageItem>(item).map(|m| m.message))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(MessagesAfter::from_one_more(session, messages, limit)))
    }

    async fn append_message(
        &self,
        seen: &Session,
        message: NewMessage,
        now: Timestamp,
    ) -> StorageResult<AppendOutcome> {
        let count = match message.sender_type {
            SenderType::Store => "store_message_count",
            SenderType::Admin => "admin_message_count",
        };
        for attempt in 0..MAX_ATTEMPTS {
            // Every id comes from one counter, so a fresh id is above every id committed so
            // far; the condition below turns that into "above the session's last" at commit.
            let id = self.bump_counter("MESSAGE_ID", 1).await?;
            let stored = message.stored(id, seen.id, now);
            let mut activity = HashMap::new();
            activity.insert(":id".to_owned(), n(id));
            activity.insert(":now".to_owned(), s(now.to_string()));
            activity.insert(":activity".to_owned(), s(activity_key(now, seen.id)));
            activity.insert(":one".to_owned(), n(1));
            activity.insert(":version".to_owned(), n(seen.lifecycle_version));
            activity.insert(":closed".to_owned(), s("closed"));
            let update = Update::builder()
                .table_name(&self.table)
                .key("PK", s(session_pk(seen.id)))
                .key("SK", s(SESSION_SK))
                .update_expression(format!(
                    "SET last_message_id = :id, last_message_at = :now, updated = :now, ActivityKey = :activity ADD {count} :one"
                ))
                .condition_expression(
                    "lifecycle_version = :version AND #status <> :closed AND last_message_id < :id",
                )
                .expression_attribute_names("#status", "status")
                .set_expression_attribute_values(Some(activity))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .expect("table, key and expression are set");
            let mut transaction = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(update).build())
                .transact_items(put_new(
                    &self.table,
                    to_item(&MessageItem {
                        pk: session_pk(seen.id),
                        sk: message_sk(id),
                        message: stored.clone(),
                    })?,
                ));
            if let Some(client_id) = &message.client_message_id {
                let item = ClientIdItem {
                    pk: session_pk(seen.id),
                    sk: client_sk(client_id),
                    message_id: id,
                };
                transaction = transaction.transact_items(put_new(&self.table, to_item(&item)?));
            }
            let error = match transaction.send().await {
                Ok(_) => return Ok(AppendOutcome::Appended(stored)),
                Err(error) => error,
            };
            let Some(reasons) = cancellation_reasons(&error) else {
                return Err(unavailable(error));
            };
            if let Some(existing) = reasons
                .get(2)
                .filter(|r| failed_condition(Some(r)))
                .and_then(|r| r.item.clone())
            {
                let original = from_item::<ClientIdItem>(existing)?.message_id;
                return Ok(AppendOutcome::Duplicate(
                    self.message_by_id(seen.id, original).await?,
                ));
            }
            if failed_condition(reasons.first()) {
                let current = current_session(seen, &reasons[0])?;
                if current.lifecycle_version != seen.lifecycle_version
                    || current.status == SessionStatus::Closed
                {
                    return Ok(AppendOutcome::Stale(current));
                }
                // A later id committed first: take a fresh one right away.
                continue;
            }
            // A concurrent transaction on the same items.
            back_off(attempt).await;
        }
        Err(StorageError::Unavailable(format!(
            "session {}: too much contention appending",
            seen.id
        )))
    }

    async fn change_lifecycle(
        &self,
        seen: &Session,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        now: Timestamp,
    ) -> StorageResult<LifecycleOutcome> {
        let next = seen.with_lifecycle(status, admin_id, now);
        let next_item = SessionItem::new(next.clone());
        let mut values = HashMap::new();
        values.insert(":status".to_owned(), to_attribute(&status)?);
        values.insert(":admin".to_owned(), to_attribute(&admin_id)?);
        values.insert(":now".to_owned(), s(now.to_string()));
        values.insert(":closed_at".to_owned(), to_attribute(&next.closed_at)?);
        values.insert(":seen".to_owned(), n(seen.lifecycle_version));
        values.insert(":one".to_owned(), n(1));
        let mut expression = String::from(
            "SET #status = :status, admin_id = :admin, updated = :now, closed_at = :closed_at ADD lifecycle_version :one",
        );
        // The sparse index keys follow the status; an attribute absent is an index entry gone.
        let mut removed = Vec::new();
        match &next_item.queue_pk {
            Some(queue) => {
                expression = expression.replacen("SET ", "SET QueuePK = :queue, ", 1);
                values.insert(":queue".to_owned(), s(queue));
            }
            None => removed.push("QueuePK"),
        }
        match &next_item.admin_pk {
            Some(admin) => {
                expression = expression.replacen("SET ", "SET AdminPK = :admin_pk, ", 1);
                values.insert(":admin_pk".to_owned(), s(admin));
            }
            None => removed.push("AdminPK"),
        }
        if !removed.is_empty() {
            expression = format!("{expression} REMOVE {}", removed.join(", "));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .key("PK", s(session_pk(seen.id)))
            .key("SK", s(SESSION_SK))
            .update_expression(expression)
            .condition_expression("lifecycle_version = :seen")
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and expression are set");
        let mut transaction = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build());
        if status == SessionStatus::Closed {
            // Closing frees the store's active slot in the same write.
            let release = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .key("PK", s(store_pk(seen.store.id)))
                .key("SK", s(ACTIVE_SK))
                .condition_expression("session_id = :id")
                .expression_attribute_values(":id", n(seen.id))
                .build()
                .expect("table, key and condition are set");
            transaction =
                transaction.transact_items(TransactWriteItem::builder().delete(release).build());
        }
        for attempt in 0..MAX_ATTEMPTS {
            let error = match transaction.clone().send().await {
                Ok(_) => return Ok(LifecycleOutcome::Changed(next)),
                Err(error) => error,
            };
            let Some(reasons) = cancellation_reasons(&error) else {
                return Err(unavailable(error));
            };
            if failed_condition(reasons.first()) {
                return Ok(LifecycleOutcome::Stale(current_session(seen, &reasons[0])?));
            }
            if failed_condition(reasons.get(1)) {
                return Err(StorageError::Malformed(format!(
                    "session {} is not its store's active session",
                    seen.id
                )));
            }
            back_off(attempt).await;
        }
        Err(StorageError::Unavailable(format!(
            "session {}: too much contention changing it",
            seen.id
        )))
    }
}

fn to_attribute(value: &impl Serialize) -> StorageResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StorageError::Malformed(e.to_string()))
}
