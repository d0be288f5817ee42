//! Erasing a store: its sessions one by one, then its own items; the audit log of erasures,
//! which holds no personal data; and the closed sessions that outlived their retention.

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::{ErasureRecord, SessionId, StoreId};

#[async_trait]
pub trait ErasureStore: Send + Sync + 'static {
    /// Deletes every item of `session`: its messages and their references, its order of
    /// sends, the team's notes and trail, and last the session itself, leaving the lists'
    /// counts as if it had never been. How many messages it held; `None` for a session
    /// already gone, so a repeat does nothing.
    async fn erase_session(&self, session: SessionId) -> StorageResult<Option<u64>>;
    /// Deletes the store's own items: its profile, its session pointers and the record that
    /// it unsubscribed. Its tokens and connections go through the identities and
    /// connections stores.
    async fn erase_store_items(&self, store: StoreId) -> StorageResult<()>;
    /// Closed sessions whose last activity was before `before`, oldest first, at most
    /// `limit`: what has outlived its retention.
    async fn expired_sessions(&self, before: Timestamp, limit: usize) -> StorageResult<Vec<SessionId>>;
    /// The audit log's record of erasing `store`, if one was started.
    async fn erasure(&self, store: StoreId) -> StorageResult<Option<ErasureRecord>>;
    async fn record_erasure(&self, record: &ErasureRecord) -> StorageResult<()>;
}
