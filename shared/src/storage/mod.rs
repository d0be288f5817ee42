//! Storage by aggregate, each behind its own trait — identities ([`IdentityStore`]), sessions
//! with their messages ([`SessionStore`]), live connections ([`ConnectionStore`]), admins'
//! desks ([`DeskStore`]), webhook subscriptions ([`WebhookStore`]), what mails need
//! ([`EmailStore`]), the team's side of sessions ([`TeamSideStore`]) and the report figures
//! ([`ReportStore`]) — with
//! two implementations that pass one conformance suite: [`DynamoStore`] (a single DynamoDB
//! table) and [`MemoryStore`] (embedded, zero setup).
//!
//! The traits speak in domain terms. What a session change does and what must hold for it
//! is the domain's ([`crate::domain::SessionChange`]); making it atomic is the store's:
//! one active session per store, message ids that increase in commit order, and counters,
//! indexes and pointers kept in the same write as what they follow.

mod connections;
mod desks;
mod dynamo;
mod email;
mod erasure;
mod identities;
mod memory;
mod reports;
mod sessions;
mod team_side;
mod webhooks;

pub use connections::ConnectionStore;
pub use desks::{Assignment, DeskStore};
pub use dynamo::{DynamoStore, Migrated, table_change};
pub use email::EmailStore;
pub use erasure::ErasureStore;
pub use identities::IdentityStore;
pub use memory::MemoryStore;
pub use reports::{FIGURE_CHANGES_PER_WRITE, ReportStore};
pub use sessions::{
    ActiveSession, AppendGuard, AppendOutcome, ClosedSession, IdReservation, IdsFor, ListPosition, MessageSlice,
    MessageWindow, Opening, SessionList, SessionPage, SessionQuery, SessionStore, Waiting, WriteOutcome,
};
pub(crate) use sessions::{Bucket, InUse, Place};
pub use team_side::{RevisionOutcome, SaveOutcome, TeamSideStore};
pub(crate) use webhooks::log_position;
pub use webhooks::{DEAD_DELIVERY_DAYS, DELIVERY_LOG_DAYS, DeliveryPage, WebhookStore};

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

/// Every aggregate's storage: what a function's [`crate::App`] holds.
pub trait ChatStore:
    IdentityStore
    + SessionStore
    + ConnectionStore
    + DeskStore
    + WebhookStore
    + EmailStore
    + TeamSideStore
    + ErasureStore
    + ReportStore
{
}

impl<T> ChatStore for T where
    T: IdentityStore
        + SessionStore
        + ConnectionStore
        + DeskStore
        + WebhookStore
        + EmailStore
        + TeamSideStore
        + ErasureStore
        + ReportStore
{
}
