//! Live WebSocket connections and whom they belong to.

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::{Audience, Connection};

#[async_trait]
pub trait ConnectionStore: Send + Sync + 'static {
    async fn put_connection(&self, connection: &Connection) -> StorageResult<()>;
    async fn connection(&self, id: &str) -> StorageResult<Option<Connection>>;
    async fn delete_connection(&self, id: &str) -> StorageResult<()>;
    /// The unexpired connections of `audience`: one read of an index, whatever the number of
    /// other connections.
    async fn connections_of(&self, audience: Audience, now: Timestamp) -> StorageResult<Vec<Connection>>;
}
