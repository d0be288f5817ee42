use async_trait::async_trait;

use super::MemoryStore;
use crate::Timestamp;
use crate::domain::{Audience, Connection};
use crate::storage::{ConnectionStore, StorageResult};

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn put_connection(&self, connection: &Connection) -> StorageResult<()> {
        self.state().connections.insert(connection.connection_id.clone(), connection.clone());
        Ok(())
    }

    async fn connection(&self, id: &str) -> StorageResult<Option<Connection>> {
        Ok(self.state().connections.get(id).cloned())
    }

    async fn delete_connection(&self, id: &str) -> StorageResult<()> {
        self.state().connections.remove(id);
        Ok(())
    }

    async fn connections_of(&self, audience: Audience, now: Timestamp) -> StorageResult<Vec<Connection>> {
        let state = self.state();
        let mut connections: Vec<Connection> =
            state.connections.values().filter(|c| audience.includes(c.principal) && c.is_live(now)).cloned().collect();
        connections.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        Ok(connections)
    }
}
