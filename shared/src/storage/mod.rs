//! Storage behind one trait, with two implementations that pass one conformance suite:
//! [`DynamoStore`] (a single DynamoDB table) and [`MemoryStore`] (embedded, zero setup).
//!
//! The trait speaks in domain terms. Every invariant that needs atomicity is the store's
//! job: one active session per store, message ids that increase in commit order, and writes
//! that are conditional on the session state the caller decided on.

mod dynamo;
mod memory;

use async_trait::async_trait;

pub use dynamo::DynamoStore;
pub use memory::MemoryStore;

use crate::Timestamp;
use crate::auth::TokenHash;
use crate::domain::{
    AdminId, AdminProfile, Message, MessageId, NewMessage, Principal, Session, SessionId,
    SessionStatus, StoreId, StoreProfile,
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The backend did not answer or refused the call; nothing was written.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// An item that does not decode: a bug or a hand-edited table.
    #[error("malformed item: {0}")]
    Malformed(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// A session with some of its messages, ascending by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPage {
    pub session: Session,
    pub messages: Vec<Message>,
}

/// Messages after a given id, with the session they belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessagesAfter {
    pub session: Session,
    pub messages: Vec<Message>,
    pub has_more: bool,
}

impl MessagesAfter {
    /// From a fetch of up to `limit + 1` messages: the extra one only says there are more.
    pub(crate) fn from_one_more(
        session: Session,
        mut messages: Vec<Message>,
        limit: usize,
    ) -> Self {
        let has_more = messages.len() > limit;
        messages.truncate(limit);
        MessagesAfter {
            session,
            messages,
            has_more,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Stored with an id above every id the session held.
    Appended(Message),
    /// The session already holds a message with this `client_message_id`; nothing was stored.
    Duplicate(Message),
    /// The session's lifecycle moved since the caller read it (or it is closed); nothing
    /// was stored. The caller decides again on the current state.
    Stale(Session),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifecycleOutcome {
    /// Written. The session is the one the caller read with the change applied
    /// ([`Session::with_lifecycle`]); messages may have arrived since.
    Changed(Session),
    /// The session's lifecycle moved since the caller read it; nothing was written.
    Stale(Session),
}

#[async_trait]
pub trait ChatStore: Send + Sync + 'static {
    // Identities.
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()>;
    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()>;
    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>>;
    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>>;
    async fn put_token(&self, token: &TokenHash, principal: Principal) -> StorageResult<()>;
    /// Whether a token with that hash existed.
    async fn revoke_token(&self, token: &TokenHash) -> StorageResult<bool>;
    async fn principal_for(&self, token: &TokenHash) -> StorageResult<Option<Principal>>;

    // Sessions.
    /// The store's open or claimed session with its `newest` messages, created (open, with
    /// the store's profile copied in) when it has none. Concurrent calls for one store
    /// yield one session. `None` when the store does not exist.
    async fn get_or_create_active_session(
        &self,
        store: StoreId,
        newest: usize,
        now: Timestamp,
    ) -> StorageResult<Option<SessionPage>>;
    /// A session with its `newest` messages.
    async fn session_page(
        &self,
        id: SessionId,
        newest: usize,
    ) -> StorageResult<Option<SessionPage>>;
    /// Up to `limit` messages with ids above `after`, ascending.
    async fn messages_after(
        &self,
        id: SessionId,
        after: MessageId,
        limit: usize,
    ) -> StorageResult<Option<MessagesAfter>>;

    /// Appends a message to `session` if its lifecycle is still the one the caller read and
    /// it is not closed. The id is greater than every id the session holds.
    async fn append_message(
        &self,
        session: &Session,
        message: NewMessage,
        now: Timestamp,
    ) -> StorageResult<AppendOutcome>;

    /// Moves `session` to `status`/`admin_id` if its lifecycle is still the one the caller
    /// read. Closing releases the store's active slot in the same write.
    async fn change_lifecycle(
        &self,
        session: &Session,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        now: Timestamp,
    ) -> StorageResult<LifecycleOutcome>;
}
