use async_trait::async_trait;

use super::MemoryStore;
use crate::Timestamp;
use crate::domain::{Audience, Connection, TokenHash};
use crate::storage::{ConnectionStore, StorageResult};

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn open_connection(&self, connection: &Connection) -> StorageResult<bool> {
        let mut state = self.state();
        let token_stands = connection.token_hash.as_ref().is_some_and(|token| state.tokens.contains_key(token));
        if token_stands {
            state.connections.insert(connection.connection_id.clone(), connection.clone());
        }
        Ok(token_stands)
    }

    async fn connection(&self, id: &str) -> StorageResult<Option<Connection>> {
        Ok(self.state().connections.get(id).cloned())
    }

    async fn delete_connection(&self, id: &str) -> StorageResult<Option<Connection>> {
        Ok(self.state().connections.remove(id))
    }

    async fn connections_of(&self, audience: Audience, now: Timestamp) -> StorageResult<Vec<Connection>> {
        let state = self.state();
        let mut connections: Vec<Connection> =
            state.connections.values().filter(|c| audience.includes(c.principal) && c.is_live(now)).cloned().collect();
        connections.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        Ok(connections)
    }

    async fn connections_with_token(&self, token: &TokenHash, now: Timestamp) -> StorageResult<Vec<Connection>> {
        let state = self.state();
        let opened_with = |c: &&Connection| c.token_hash.as_ref() == Some(token) && c.is_live(now);
        let mut connections: Vec<Connection> = state.connections.values().filter(opened_with).cloned().collect();
        connections.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        Ok(connections)
    }

    async fn expired_connections(&self, now: Timestamp, limit: usize) -> StorageResult<Vec<Connection>> {
        let state = self.state();
        let mut expired: Vec<Connection> = state.connections.values().filter(|c| !c.is_live(now)).cloned().collect();
        expired.sort_by(|a, b| (a.expires_at, &a.connection_id).cmp(&(b.expires_at, &b.connection_id)));
        expired.truncate(limit);
        Ok(expired)
    }
}
