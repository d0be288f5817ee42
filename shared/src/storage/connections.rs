//! Live WebSocket connections and whom they belong to.

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::{Audience, Connection, TokenHash};

#[async_trait]
pub trait ConnectionStore: Send + Sync + 'static {
    /// Records `connection` if the token it was opened with still stands, checked in the
    /// same write: a token revoked before it is never given a connection, and one revoked
    /// after finds it ([`Self::connections_with_token`]). False if the token is gone.
    async fn open_connection(&self, connection: &Connection) -> StorageResult<bool>;
    async fn connection(&self, id: &str) -> StorageResult<Option<Connection>>;
    /// Forgets the connection; the one it was, if it was there.
    async fn delete_connection(&self, id: &str) -> StorageResult<Option<Connection>>;
    /// The unexpired connections of `audience`: one read of an index, whatever the number of
    /// other connections.
    async fn connections_of(&self, audience: Audience, now: Timestamp) -> StorageResult<Vec<Connection>>;
    /// The unexpired connections opened with `token`, read consistently: every one whose
    /// opening committed before the read.
    async fn connections_with_token(&self, token: &TokenHash, now: Timestamp) -> StorageResult<Vec<Connection>>;
    /// Up to `limit` connections whose expiry has passed by `now`, the longest expired
    /// first: one read of an index, whatever the number of live connections.
    async fn expired_connections(&self, now: Timestamp, limit: usize) -> StorageResult<Vec<Connection>>;
}
