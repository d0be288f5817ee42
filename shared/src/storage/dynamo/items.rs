//! Keys, item shapes and conversions of the single table.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use serde::{Deserialize, Serialize};

use super::super::{ActiveSession, Bucket, StorageError, StorageResult};
use crate::Timestamp;
use crate::domain::{
    AdminId, Connection, EmailMarks, Message, MessageId, Note, Principal, Receipts, SendWindow, SenderType, Session,
    SessionId, SessionStatus, StoreId, StoreProfile, search_text,
};
use crate::domain::{TokenGrant, TokenHash};

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) const SESSION_SK: &str = "SESSION";
/// A session's places item: the order of its sends, and the blocks their ids come from.
pub(super) const PLACES_SK: &str = "IDS";
pub(super) const PROFILE_SK: &str = "PROFILE";
pub(super) const ACTIVE_SK: &str = "ACTIVE";
/// A store's most recently closed session.
pub(super) const LATEST_SK: &str = "LATEST";
pub(super) const TOKEN_SK: &str = "TOKEN";
pub(super) const COUNTER_PK: &str = "COUNTER";
pub(super) const COUNTS_PK: &str = "COUNTS";
pub(super) const OPEN_QUEUE: &str = "OPEN";
pub(super) const OPEN_QUEUE_INDEX: &str = "OpenQueue";
/// The key closed sessions share in the sparse `ClosedSessions` index, what expires.
pub(super) const CLOSED: &str = "CLOSED";
pub(super) const CLOSED_INDEX: &str = "ClosedSessions";
/// Open sessions in which the store has written, longest waiting first.
pub(super) const WAITING_QUEUE_INDEX: &str = "WaitingQueue";
pub(super) const BY_ADMIN_INDEX: &str = "ByAdmin";
pub(super) const BY_PRINCIPAL_INDEX: &str = "ByPrincipal";
pub(super) const CONNECTION_SK: &str = "CONN";
/// Every admin's desk, in one partition: the directory and an assignment's roster are one
/// Query.
pub(super) const DESKS_PK: &str = "DESKS";
/// The team's settings: its business hours (`TEAM` / `HOURS`).
pub(super) const TEAM_PK: &str = "TEAM";
pub(super) const HOURS_SK: &str = "HOURS";
/// All admins' connections share one index partition, so "every admin" is one Query.
pub(super) const ADMINS_PK: &str = "ADMINS";

pub(super) fn session_pk(id: SessionId) -> String {
    format!("SESSION#{id}")
}
/// Every message's sort key starts with it.
pub(super) const MESSAGE_SK_PREFIX: &str = "MSG#";
pub(super) fn message_sk(id: MessageId) -> String {
    format!("{MESSAGE_SK_PREFIX}{id:020}")
}
/// What only the team sees of a session lives in a partition of its own, which no read of
/// a store's goes to: its notes, and the trail of its edited and deleted messages.
pub(super) fn team_side_pk(id: SessionId) -> String {
    format!("TEAM#SESSION#{id}")
}
pub(super) const NOTE_SK_PREFIX: &str = "NOTE#";
/// By when it was written, then its id: ids come from blocks each instance takes, so
/// they do not follow the order notes are written in across instances.
pub(super) fn note_sk(note: &Note) -> String {
    format!("{NOTE_SK_PREFIX}{}#{:020}", note.created, note.id)
}
/// The trail of one message: `REVISION#<message>#`, then the version each change reached.
pub(super) fn revisions_sk_prefix(message: MessageId) -> String {
    format!("REVISION#{message:020}#")
}
/// The item that says which message an upload is attached to.
pub(super) fn upload_sk(upload_id: &str) -> String {
    format!("UPLOAD#{upload_id}")
}
/// `key` is the message's [`crate::domain::NewMessage::idempotency_key`].
pub(super) fn client_sk(key: &str) -> String {
    format!("CLIENT#{key}")
}
pub(super) fn store_pk(id: StoreId) -> String {
    format!("STORE#{id}")
}
pub(super) fn admin_pk(id: AdminId) -> String {
    format!("ADMIN#{id}")
}
/// Under `DESKS`, a desk is keyed as its admin's items are.
pub(super) fn desk_sk(admin: AdminId) -> String {
    admin_pk(admin)
}
pub(super) fn token_pk(hash: &TokenHash) -> String {
    format!("TOKEN#{}", hash.as_hex())
}
/// Sorts like (last activity, session id): fixed-width text of both.
pub(super) fn activity_key(at: Timestamp, id: SessionId) -> String {
    format!("{at}#{id:020}")
}
/// Where a store's sessions are found in the `ByPrincipal` index (apart from its
/// connections, under `STORE#<id>`).
pub(super) fn store_sessions_pk(store: StoreId) -> String {
    format!("SESSIONS#STORE#{store}")
}
/// A session's place among its store's: when it opened, then its id.
pub(super) fn created_key(session: &Session) -> String {
    activity_key(session.created, session.id)
}
/// The counter item of a list: `OPEN`, `ADMIN#<id>#claimed`, `ADMIN#<id>#closed`.
pub(super) fn bucket_sk(bucket: &Bucket) -> String {
    match bucket {
        Bucket::Open => OPEN_QUEUE.to_owned(),
        Bucket::Held(admin, status) => format!("ADMIN#{admin}#{}", status_name(*status)),
    }
}
/// A counter item's attribute for sessions with `tag`; `total` counts them all.
pub(super) fn tag_counter(tag: &str) -> String {
    format!("tag#{tag}")
}
pub(super) fn status_name(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Open => "open",
        SessionStatus::Claimed => "claimed",
        SessionStatus::Closed => "closed",
    }
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}
pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[derive(Serialize)]
pub(super) struct SessionItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    pub(super) session: Session,
    /// Present only while open: the sparse `OpenQueue` index.
    #[serde(rename = "QueuePK", default, skip_serializing_if = "Option::is_none")]
    pub(super) queue_pk: Option<String>,
    /// Present once closed: the `ClosedSessions` index.
    #[serde(rename = "ClosedPK", default, skip_serializing_if = "Option::is_none")]
    pub(super) closed_pk: Option<String>,
    /// Present while an admin holds it: the `ByAdmin` index.
    #[serde(rename = "AdminPK", default, skip_serializing_if = "Option::is_none")]
    pub(super) admin_pk: Option<String>,
    #[serde(rename = "ActivityKey")]
    activity_key: String,
    /// When the store first wrote, then the id: the `WaitingQueue` index's order.
    #[serde(rename = "WaitingKey", default, skip_serializing_if = "Option::is_none")]
    waiting_key: Option<String>,
    /// The last place of the session's order of sends whose message is committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_place: Option<u64>,
    /// Its store's sessions, newest first: the `ByPrincipal` index, under
    /// [`store_sessions_pk`], by [`created_key`].
    #[serde(rename = "PrincipalPK")]
    store_sessions_pk: String,
    #[serde(rename = "PrincipalSK")]
    created_key: String,
    /// What a search finds it by.
    search_text: String,
}

impl SessionItem {
    pub(super) fn new(session: Session) -> Self {
        SessionItem {
            pk: session_pk(session.id),
            sk: SESSION_SK.into(),
            queue_pk: (session.status == SessionStatus::Open).then(|| OPEN_QUEUE.into()),
            closed_pk: (session.status == SessionStatus::Closed).then(|| CLOSED.into()),
            admin_pk: session.admin_id.map(admin_pk),
            activity_key: activity_key(session.last_message_at, session.id),
            waiting_key: session.queued_at.map(|at| activity_key(at, session.id)),
            last_place: None,
            store_sessions_pk: store_sessions_pk(session.store.id),
            created_key: created_key(&session),
            search_text: search_text(&session.store),
            session,
        }
    }

    /// A session opened with its first message, at the first place of its order of sends.
    pub(super) fn opened(session: Session) -> Self {
        SessionItem { last_place: Some(1), ..SessionItem::new(session) }
    }
}

#[derive(Serialize)]
pub(super) struct MessageItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) message: Message,
}

impl MessageItem {
    pub(super) fn new(message: Message) -> Self {
        MessageItem { pk: session_pk(message.session_id), sk: message_sk(message.id), message }
    }
}

/// A store's or an admin's profile (`STORE#<id>` or `ADMIN#<id>` / `PROFILE`), with what
/// the platform keeps beside it.
#[derive(Serialize, Deserialize)]
pub(super) struct ProfileItem<P> {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) profile: P,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) deactivated_at: Option<Timestamp>,
}

impl<P> ProfileItem<P> {
    pub(super) fn new(pk: String, profile: P, locale: Option<String>) -> Self {
        ProfileItem { pk, sk: PROFILE_SK.into(), profile, locale, deactivated_at: None }
    }
}

/// A token (`TOKEN#<hash>` / `TOKEN`), indexed under whom it stands for
/// (`TOKENS#STORE#<id>` or `TOKENS#ADMIN#<id>` / when it was issued) so that the platform
/// can list them and a deactivation find them all. `expires_at` is the table's time to
/// live, in Unix seconds: an expired token goes by itself.
#[derive(Serialize, Deserialize)]
pub(super) struct TokenItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    pub(super) principal: Principal,
    #[serde(rename = "PrincipalPK", default, skip_serializing_if = "Option::is_none")]
    principal_pk: Option<String>,
    /// When it was issued; absent from tokens stored before tokens were listed.
    #[serde(rename = "PrincipalSK", default, skip_serializing_if = "Option::is_none")]
    issued_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

impl TokenItem {
    pub(super) fn new(hash: &TokenHash, grant: &TokenGrant) -> Self {
        TokenItem {
            pk: token_pk(hash),
            sk: TOKEN_SK.into(),
            principal: grant.principal,
            principal_pk: Some(tokens_of_pk(grant.principal)),
            issued_at: Some(grant.issued_at),
            expires_at: grant.expires_at.map(Timestamp::unix_seconds),
        }
    }

    /// Its hash (from its key) and grant.
    pub(super) fn grant(self) -> StorageResult<(TokenHash, TokenGrant)> {
        let hash = self.pk.strip_prefix("TOKEN#").and_then(TokenHash::from_hex);
        let hash = hash.ok_or_else(|| StorageError::Malformed(format!("token item {} has no hash", self.pk)))?;
        let expires_at = match self.expires_at {
            Some(seconds) => Some(
                Timestamp::from_unix_seconds(seconds)
                    .ok_or_else(|| StorageError::Malformed(format!("token expiry {seconds} is out of range")))?,
            ),
            None => None,
        };
        // A token stored before tokens were listed: issued at some time before now.
        let issued_at = self.issued_at.unwrap_or_else(|| Timestamp::from_unix_seconds(0).expect("the epoch"));
        Ok((hash, TokenGrant { principal: self.principal, issued_at, expires_at }))
    }
}

/// The partition of a store's or an admin's own items (its profile, a store's pointers).
pub(super) fn principal_pk(principal: Principal) -> String {
    match principal {
        Principal::Store(id) => store_pk(id),
        Principal::Admin(id) => admin_pk(id),
    }
}

pub(super) fn tokens_of_pk(principal: Principal) -> String {
    format!("TOKENS#{}", principal_pk(principal))
}

/// A store's active session: its id, and a copy of its lifecycle, kept in the same
/// writes that change the session's, so that closing it needs no read of the session.
#[derive(Serialize, Deserialize)]
pub(super) struct PointerItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    pub(super) session_id: SessionId,
    pub(super) status: SessionStatus,
    pub(super) admin_id: Option<AdminId>,
    pub(super) tags: Vec<String>,
    pub(super) revision: u64,
}

impl PointerItem {
    pub(super) fn active(self) -> ActiveSession {
        ActiveSession { id: self.session_id, status: self.status, admin_id: self.admin_id, revision: self.revision }
    }

    pub(super) fn to(session: &Session) -> Self {
        PointerItem {
            pk: store_pk(session.store.id),
            sk: ACTIVE_SK.into(),
            session_id: session.id,
            status: session.status,
            admin_id: session.admin_id,
            tags: session.tags.clone(),
            revision: session.revision,
        }
    }
}

/// The session a store closed last: what its widget shows until it writes again.
#[derive(Serialize, Deserialize)]
pub(super) struct LatestItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    pub(super) session_id: SessionId,
}

impl LatestItem {
    pub(super) fn to(session: SessionId, store: StoreId) -> Self {
        LatestItem { pk: store_pk(store), sk: LATEST_SK.into(), session_id: session }
    }
}

/// A session in the `WaitingQueue` index, as the index projects it.
#[derive(Deserialize)]
pub(super) struct WaitingItem {
    pub(super) id: SessionId,
    pub(super) store: StoreProfile,
    pub(super) queued_at: Timestamp,
}

/// A live connection, indexed by whose it is: `STORE#<id>` / `<connection>`, or
/// `ADMINS` / `ADMIN#<id>#<connection>`.
#[derive(Serialize, Deserialize)]
pub(super) struct ConnectionItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    #[serde(rename = "PrincipalPK")]
    pub(super) principal_pk: String,
    #[serde(rename = "PrincipalSK")]
    pub(super) principal_sk: String,
    #[serde(flatten)]
    pub(super) connection: Connection,
}

pub(super) fn connection_pk(id: &str) -> String {
    format!("CONN#{id}")
}

impl ConnectionItem {
    pub(super) fn new(connection: Connection) -> Self {
        let (principal_pk, principal_sk) = match connection.principal {
            Principal::Store(id) => (store_pk(id), connection.connection_id.clone()),
            Principal::Admin(id) => (ADMINS_PK.to_owned(), format!("ADMIN#{id}#{}", connection.connection_id)),
        };
        ConnectionItem {
            pk: connection_pk(&connection.connection_id),
            sk: CONNECTION_SK.into(),
            principal_pk,
            principal_sk,
            connection,
        }
    }
}

/// A copy of a live connection in the partition of the token it was opened with
/// (`TOKEN#<hash>` / `CONN#<id>`), written in the same transaction as the connection: a
/// revocation finds every connection of the token with one consistent read. The copy is
/// also indexed by when the connection expires (`EXPIRING` / `<expires_at>#<id>` in
/// `ByPrincipal`), so the sweep finds the expired ones with one Query.
#[derive(Serialize, Deserialize)]
pub(super) struct TokenConnectionItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "PrincipalPK", default, skip_serializing_if = "Option::is_none")]
    expiring_pk: Option<String>,
    #[serde(rename = "PrincipalSK", default, skip_serializing_if = "Option::is_none")]
    expiring_sk: Option<String>,
    #[serde(flatten)]
    pub(super) connection: Connection,
}

impl TokenConnectionItem {
    pub(super) fn new(token: &TokenHash, connection: Connection) -> Self {
        TokenConnectionItem {
            pk: token_pk(token),
            sk: token_connection_sk(&connection.connection_id),
            expiring_pk: Some(EXPIRING_PK.to_owned()),
            expiring_sk: Some(expiring_sk(connection.expires_at, &connection.connection_id)),
            connection,
        }
    }
}

/// Connections by expiry, in one index partition: the sweep's one Query.
pub(super) const EXPIRING_PK: &str = "EXPIRING";

/// Sorts by expiry (zero-padded Unix seconds), then by connection.
pub(super) fn expiring_sk(expires_at: i64, connection_id: &str) -> String {
    format!("{:012}#{connection_id}", expires_at.max(0))
}

pub(super) fn token_connection_sk(connection_id: &str) -> String {
    format!("CONN#{connection_id}")
}

/// A message that an idempotency key or an upload points to (`CLIENT#…`, `UPLOAD#…`).
#[derive(Serialize, Deserialize)]
pub(super) struct MessageRefItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    pub(super) message_id: MessageId,
}

pub(super) fn to_item(value: &impl Serialize) -> StorageResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| StorageError::Malformed(e.to_string()))
}

pub(super) fn to_attribute(value: &impl Serialize) -> StorageResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StorageError::Malformed(e.to_string()))
}

pub(super) fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> StorageResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StorageError::Malformed(e.to_string()))
}

/// A session from its item, attribute by attribute: list views decode a page of these and
/// every write reads one, and `serde_dynamo` would first copy the item, its maps included,
/// into values of its own. The encoding stays `serde_dynamo`'s ([`SessionItem`]); a test
/// holds the two together. Absent fields are read as serde's defaults are.
pub(super) fn session_from(item: Item) -> StorageResult<Session> {
    let mut fields = Fields { item, of: "session item" };
    let last_message = match fields.take("last_message") {
        Some(AttributeValue::M(message)) => Some(message_from(message)?),
        None => None,
        Some(_) => return Err(fields.malformed("last_message")),
    };
    let status = match fields.text("status")?.as_str() {
        "open" => SessionStatus::Open,
        "claimed" => SessionStatus::Claimed,
        "closed" => SessionStatus::Closed,
        _ => return Err(fields.malformed("status")),
    };
    let rating: Option<u64> = fields.optional_number("rating")?;
    Ok(Session {
        id: SessionId(fields.number("id")?),
        store: store_profile_from(fields.map("store")?)?,
        admin_id: fields.optional_number("admin_id")?.map(AdminId),
        status,
        created: fields.timestamp("created")?,
        updated: fields.timestamp("updated")?,
        last_message_at: fields.timestamp("last_message_at")?,
        closed_at: fields.optional_timestamp("closed_at")?,
        last_message_id: MessageId(fields.number("last_message_id")?),
        store_message_count: fields.number("store_message_count")?,
        admin_message_count: fields.number("admin_message_count")?,
        last_store_message_id: MessageId(fields.optional_number("last_store_message_id")?.unwrap_or(0)),
        last_admin_message_id: MessageId(fields.optional_number("last_admin_message_id")?.unwrap_or(0)),
        last_message,
        store_receipts: receipts_from(fields.map("store_receipts")?)?,
        admin_receipts: receipts_from(fields.map("admin_receipts")?)?,
        revision: fields.number("revision")?,
        tags: fields.texts("tags")?,
        rating: rating.map(u8::try_from).transpose().map_err(|_| fields.malformed("rating"))?,
        feedback: fields.optional_text("feedback")?,
        awaiting_reply_since: fields.optional_timestamp("awaiting_reply_since")?,
        reply_ms_total: fields.optional_number("reply_ms_total")?.unwrap_or(0),
        reply_count: fields.optional_number("reply_count")?.unwrap_or(0),
        queued_at: fields.optional_timestamp("queued_at")?,
        assigned: fields.flag("assigned")?,
        picked_up_at: fields.optional_timestamp("picked_up_at")?,
        picked_up_by: fields.optional_number("picked_up_by")?.map(AdminId),
        away_replied_at: fields.optional_timestamp("away_replied_at")?,
        emails: EmailMarks {
            digested_up_to: MessageId(fields.optional_number("digested_up_to")?.unwrap_or(0)),
            digested_at: fields.optional_timestamp("digested_at")?,
            on_call_emailed_at: fields.optional_timestamp("on_call_emailed_at")?,
            transcript_emailed_at: fields.optional_timestamp("transcript_emailed_at")?,
        },
        store_sends: fields.sends("store_sends")?,
        admin_sends: fields.sends("admin_sends")?,
    })
}

fn store_profile_from(mut fields: Fields) -> StorageResult<StoreProfile> {
    Ok(StoreProfile {
        id: StoreId(fields.number("id")?),
        name: fields.text("name")?,
        logo_url: fields.optional_text("logo_url")?.unwrap_or_default(),
        email: fields.optional_text("email")?.unwrap_or_default(),
    })
}

fn receipts_from(mut fields: Fields) -> StorageResult<Receipts> {
    Ok(Receipts {
        delivered_up_to: MessageId(fields.number("delivered_up_to")?),
        delivered_at: fields.optional_timestamp("delivered_at")?,
        read_up_to: MessageId(fields.number("read_up_to")?),
        read_at: fields.optional_timestamp("read_at")?,
        read_count: fields.optional_number("read_count")?.unwrap_or(0),
    })
}

/// The attributes of an item (or of a map in one), taken out by name as they are read.
struct Fields {
    item: Item,
    /// What the item is, for errors.
    of: &'static str,
}

impl Fields {
    fn malformed(&self, field: &str) -> StorageError {
        StorageError::Malformed(format!("{}: {field} is missing or mistyped", self.of))
    }

    /// The attribute, if present and not null (serde reads a null as absent).
    fn take(&mut self, field: &str) -> Option<AttributeValue> {
        match self.item.remove(field) {
            Some(AttributeValue::Null(_)) | None => None,
            present => present,
        }
    }

    fn optional_text(&mut self, field: &str) -> StorageResult<Option<String>> {
        match self.take(field) {
            Some(AttributeValue::S(text)) => Ok(Some(text)),
            None => Ok(None),
            Some(_) => Err(self.malformed(field)),
        }
    }

    fn text(&mut self, field: &str) -> StorageResult<String> {
        self.optional_text(field)?.ok_or_else(|| self.malformed(field))
    }

    fn optional_number<T: std::str::FromStr>(&mut self, field: &str) -> StorageResult<Option<T>> {
        match self.take(field) {
            Some(AttributeValue::N(number)) => number.parse().map(Some).map_err(|_| self.malformed(field)),
            None => Ok(None),
            Some(_) => Err(self.malformed(field)),
        }
    }

    fn number<T: std::str::FromStr>(&mut self, field: &str) -> StorageResult<T> {
        self.optional_number(field)?.ok_or_else(|| self.malformed(field))
    }

    /// A boolean; absent is false.
    fn flag(&mut self, field: &str) -> StorageResult<bool> {
        match self.take(field) {
            Some(AttributeValue::Bool(flag)) => Ok(flag),
            None => Ok(false),
            Some(_) => Err(self.malformed(field)),
        }
    }

    fn optional_timestamp(&mut self, field: &str) -> StorageResult<Option<Timestamp>> {
        let text = self.optional_text(field)?;
        text.map(|text| Timestamp::parse(&text).map_err(|_| self.malformed(field))).transpose()
    }

    fn timestamp(&mut self, field: &str) -> StorageResult<Timestamp> {
        self.optional_timestamp(field)?.ok_or_else(|| self.malformed(field))
    }

    fn map(&mut self, field: &'static str) -> StorageResult<Fields> {
        match self.take(field) {
            Some(AttributeValue::M(item)) => Ok(Fields { item, of: field }),
            _ => Err(self.malformed(field)),
        }
    }

    /// A party's sends in the minute; absent (written before the limit) is none.
    fn sends(&mut self, field: &'static str) -> StorageResult<SendWindow> {
        match self.take(field) {
            None => Ok(SendWindow::default()),
            Some(AttributeValue::M(item)) => {
                let mut window = Fields { item, of: field };
                Ok(SendWindow { minute: window.number("in_minute")?, count: window.number("sent")? })
            }
            Some(_) => Err(self.malformed(field)),
        }
    }

    /// A list of texts; absent is empty.
    fn texts(&mut self, field: &str) -> StorageResult<Vec<String>> {
        match self.take(field) {
            Some(AttributeValue::L(values)) => values
                .into_iter()
                .map(|value| match value {
                    AttributeValue::S(text) => Ok(text),
                    _ => Err(self.malformed(field)),
                })
                .collect(),
            None => Ok(Vec::new()),
            Some(_) => Err(self.malformed(field)),
        }
    }
}

/// A message from its item. Read field by field, taking the strings out of the item:
/// views decode up to 200 of these, and `serde_dynamo` would first copy each item into a map
/// of its own. The encoding stays `serde_dynamo`'s ([`MessageItem`]); a test holds the two
/// together.
pub(super) fn message_from(item: Item) -> StorageResult<Message> {
    let malformed = |field: &str| StorageError::Malformed(format!("message item: {field} is missing or mistyped"));
    let number = |text: &str| text.parse::<u64>().ok();
    let (mut content, mut attachment_url, mut attachment_type) = (None, None, None);
    let (mut client_message_id, mut upload_id, mut attachment_key) = (None, None, None);
    let (mut id, mut session_id, mut sender_id, mut sender_type, mut created) = (None, None, None, None, None);
    let mut automatic = false;
    let (mut version, mut edited_at, mut deleted_at) = (0, None, None);
    let timestamp = |text: String, field: &str| Timestamp::parse(&text).map_err(|_| malformed(field));
    // One pass over the item, taking each attribute as it comes: no lookups by name.
    for (name, value) in item {
        match (name.as_str(), value) {
            ("content", AttributeValue::S(text)) => content = Some(text),
            ("attachment_url", AttributeValue::S(text)) => attachment_url = Some(text),
            ("attachment_type", AttributeValue::S(text)) => attachment_type = Some(text),
            ("client_message_id", AttributeValue::S(text)) => client_message_id = Some(text),
            ("upload_id", AttributeValue::S(text)) => upload_id = Some(text),
            ("attachment_key", AttributeValue::S(text)) => attachment_key = Some(text),
            ("sender_type", AttributeValue::S(text)) => {
                sender_type = match text.as_str() {
                    "store" => Some(SenderType::Store),
                    "admin" => Some(SenderType::Admin),
                    _ => return Err(malformed("sender_type")),
                }
            }
            ("created", AttributeValue::S(text)) => {
                created = Some(Timestamp::parse(&text).map_err(|_| malformed("created"))?);
            }
            ("id", AttributeValue::N(text)) => id = number(&text),
            ("session_id", AttributeValue::N(text)) => session_id = number(&text),
            ("sender_id", AttributeValue::N(text)) => sender_id = number(&text),
            ("automatic", AttributeValue::Bool(flag)) => automatic = flag,
            ("version", AttributeValue::N(text)) => version = text.parse().map_err(|_| malformed("version"))?,
            ("edited_at", AttributeValue::S(text)) => edited_at = Some(timestamp(text, "edited_at")?),
            ("deleted_at", AttributeValue::S(text)) => deleted_at = Some(timestamp(text, "deleted_at")?),
            // A null is an absent optional field (and a missing required one, below).
            (_, AttributeValue::Null(_)) => {}
            (
                field @ ("content" | "attachment_url" | "attachment_type" | "client_message_id" | "upload_id"
                | "attachment_key" | "sender_type" | "created" | "id" | "session_id" | "sender_id"
                | "automatic" | "version" | "edited_at" | "deleted_at"),
                _,
            ) => return Err(malformed(field)),
            _ => {}
        }
    }
    Ok(Message {
        id: MessageId(id.ok_or_else(|| malformed("id"))?),
        session_id: SessionId(session_id.ok_or_else(|| malformed("session_id"))?),
        sender_type: sender_type.ok_or_else(|| malformed("sender_type"))?,
        sender_id: sender_id.ok_or_else(|| malformed("sender_id"))?,
        content: content.ok_or_else(|| malformed("content"))?,
        attachment_url: attachment_url.ok_or_else(|| malformed("attachment_url"))?,
        attachment_type: attachment_type.ok_or_else(|| malformed("attachment_type"))?,
        created: created.ok_or_else(|| malformed("created"))?,
        client_message_id,
        upload_id,
        attachment_key,
        automatic,
        version,
        edited_at,
        deleted_at,
    })
}

pub(super) fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(error: SdkError<E, R>) -> StorageError {
    StorageError::Unavailable(DisplayErrorContext(&error).to_string())
}

pub(super) fn sk_of(item: &Item) -> Option<&str> {
    item.get("SK").and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// Why a transaction was cancelled, item by item.
pub(super) fn cancellation_reasons(error: &SdkError<TransactWriteItemsError>) -> Option<&[CancellationReason]> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e.cancellation_reasons.as_deref(),
        _ => None,
    }
}

pub(super) fn failed_condition(reason: Option<&CancellationReason>) -> bool {
    reason.and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

/// The session item a failed condition returned; sessions are never deleted, so a missing
/// one means the table was changed behind the store's back.
pub(super) fn current_session(id: SessionId, returned: Option<Item>) -> StorageResult<Session> {
    let item = returned.ok_or_else(|| StorageError::Malformed(format!("session {id} vanished")))?;
    session_from(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(client_message_id: Option<&str>, attachment: bool) -> Message {
        Message {
            id: MessageId(12_345),
            session_id: SessionId(678),
            sender_type: if attachment { SenderType::Admin } else { SenderType::Store },
            sender_id: 5,
            content: "Hello, \"quoted\" and ünïcode".into(),
            attachment_url: if attachment { "https://example.com/a.png".into() } else { String::new() },
            attachment_type: if attachment { "image/png".into() } else { String::new() },
            created: Timestamp::parse("2026-01-05T10:00:00.123Z").unwrap(),
            client_message_id: client_message_id.map(str::to_owned),
            upload_id: None,
            attachment_key: None,
            // The admin's is automatic: both encodings of the flag are read.
            automatic: attachment,
            version: 0,
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn a_message_reads_back_as_it_was_written() {
        let uploaded = Message {
            upload_id: Some("0123456789abcdef0123456789abcdef".into()),
            attachment_key: Some("sessions/678/store-5/0123456789abcdef0123456789abcdef/ab".into()),
            ..message(None, false)
        };
        let edited_at = Some(Timestamp::parse("2026-01-05T10:01:00.000Z").unwrap());
        let edited = Message { version: 1, edited_at, ..message(None, false) };
        let deleted = Message { version: 2, deleted_at: edited_at, content: String::new(), ..edited.clone() };
        let messages = [message(None, false), message(Some("c-1"), true), message(Some(""), false), uploaded];
        for message in messages.into_iter().chain([edited, deleted]) {
            let item = to_item(&MessageItem::new(message.clone())).unwrap();
            let through_serde: Message = from_item(item.clone()).unwrap();
            assert_eq!(through_serde, message);
            assert_eq!(message_from(item).unwrap(), message);
        }
    }

    #[test]
    fn a_session_reads_back_as_it_was_written_with_or_without_its_last_message() {
        let held = Session::sample(SessionStatus::Claimed, Some(AdminId(2)));
        let at = |text: &str| Timestamp::parse(text).unwrap();
        let receipts = |up_to: u64| Receipts {
            delivered_up_to: MessageId(up_to),
            delivered_at: Some(at("2026-01-05T10:00:01.000Z")),
            read_up_to: MessageId(up_to - 1),
            read_at: Some(at("2026-01-05T10:00:02.000Z")),
            read_count: 3,
        };
        let everything = Session {
            store: StoreProfile {
                id: StoreId(5),
                name: "Tech".into(),
                logo_url: "https://l".into(),
                email: "e@x".into(),
            },
            status: SessionStatus::Closed,
            closed_at: Some(at("2026-01-05T11:00:00.000Z")),
            last_message_id: MessageId(40),
            store_message_count: 7,
            admin_message_count: 9,
            last_store_message_id: MessageId(39),
            last_admin_message_id: MessageId(40),
            last_message: Some(message(Some("c-1"), true)),
            store_receipts: receipts(40),
            admin_receipts: receipts(39),
            revision: 6,
            tags: vec!["vip".into(), "billing".into()],
            rating: Some(5),
            feedback: Some("Great".into()),
            awaiting_reply_since: Some(at("2026-01-05T10:30:00.000Z")),
            reply_ms_total: 12_000,
            reply_count: 4,
            assigned: true,
            picked_up_at: Some(at("2026-01-05T10:20:00.000Z")),
            picked_up_by: Some(AdminId(2)),
            away_replied_at: Some(at("2026-01-05T10:30:00.500Z")),
            emails: EmailMarks {
                digested_up_to: MessageId(38),
                digested_at: Some(at("2026-01-05T10:45:00.000Z")),
                on_call_emailed_at: Some(at("2026-01-05T10:20:00.000Z")),
                transcript_emailed_at: Some(at("2026-01-05T11:05:00.000Z")),
            },
            store_sends: SendWindow { minute: 29_462_400, count: 3 },
            admin_sends: SendWindow { minute: 29_462_399, count: 30 },
            ..held.clone()
        };
        for session in [held, everything] {
            let item = to_item(&SessionItem::new(session.clone())).unwrap();
            let through_serde: Session = from_item(item.clone()).unwrap();
            assert_eq!(through_serde, session);
            assert_eq!(session_from(item).unwrap(), session);
        }
        // As a send's update writes it: the message alone, as an attribute of its own.
        let mut item = to_item(&SessionItem::new(Session::sample(SessionStatus::Open, None))).unwrap();
        let last = message(None, false);
        item.insert("last_message".into(), serde_dynamo::to_attribute_value(&last).unwrap());
        assert_eq!(session_from(item.clone()).unwrap().last_message, Some(last));
        item.insert("last_message".into(), AttributeValue::S("a message".into()));
        assert!(matches!(session_from(item), Err(StorageError::Malformed(_))));
    }

    #[test]
    fn a_mistyped_session_item_is_malformed() {
        let written = to_item(&SessionItem::new(Session::sample(SessionStatus::Open, None))).unwrap();
        let text = |value: &str| AttributeValue::S(value.into());
        for (field, value) in [
            ("status", text("paused")),
            ("rating", AttributeValue::N("300".into())),
            ("tags", text("vip")),
            ("revision", AttributeValue::Null(true)),
            ("store", text("Tech Store")),
            ("created", text("yesterday")),
        ] {
            let mut item = written.clone();
            item.insert(field.into(), value.clone());
            let read = session_from(item);
            assert!(matches!(read, Err(StorageError::Malformed(_))), "{field} = {value:?}: {read:?}");
        }
    }

    #[test]
    fn a_mistyped_message_item_is_malformed() {
        let written = to_item(&MessageItem::new(message(None, false))).unwrap();
        let text = |value: &str| AttributeValue::S(value.into());
        for (field, value) in [
            ("sender_type", text("robot")),
            ("content", AttributeValue::N("1".into())),
            ("content", AttributeValue::Null(true)),
            ("id", text("12345")),
            ("sender_id", AttributeValue::Null(true)),
            ("created", text("yesterday")),
        ] {
            let mut item = written.clone();
            item.insert(field.into(), value.clone());
            let read = message_from(item);
            assert!(matches!(read, Err(StorageError::Malformed(_))), "{field} = {value:?}: {read:?}");
        }
        let mut item = written.clone();
        item.remove("id");
        assert!(matches!(message_from(item), Err(StorageError::Malformed(_))));
        // An optional field may be null.
        let mut item = written;
        item.insert("client_message_id".into(), AttributeValue::Null(true));
        assert_eq!(message_from(item).unwrap(), message(None, false));
    }
}
