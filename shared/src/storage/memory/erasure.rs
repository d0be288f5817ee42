use async_trait::async_trait;

use super::MemoryStore;
use crate::Timestamp;
use crate::domain::{ErasureRecord, Principal, Recipient, SessionId, SessionStatus, StoreId};
use crate::storage::{ErasureStore, StorageResult};

#[async_trait]
impl ErasureStore for MemoryStore {
    async fn erase_session(&self, session: SessionId) -> StorageResult<Option<u64>> {
        let mut state = self.state();
        // Counts here are counted from the sessions themselves: they follow.
        let Some(data) = state.sessions.remove(&session) else { return Ok(None) };
        state.notes.remove(&session);
        state.revisions.retain(|(of, _), _| *of != session);
        Ok(Some(data.messages.len() as u64))
    }

    async fn erase_store_items(&self, store: StoreId) -> StorageResult<()> {
        let mut state = self.state();
        state.stores.remove(&store);
        state.active.remove(&store);
        state.latest.remove(&store);
        state.locales.remove(&Principal::Store(store));
        state.deactivated.remove(&Principal::Store(store));
        state.unsubscribed.remove(&Recipient::Store(store));
        Ok(())
    }

    async fn expired_sessions(&self, before: Timestamp, limit: usize) -> StorageResult<Vec<SessionId>> {
        let state = self.state();
        let mut expired: Vec<(Timestamp, SessionId)> = state
            .sessions
            .values()
            .map(|data| &data.session)
            .filter(|session| session.status == SessionStatus::Closed && session.last_message_at < before)
            .map(|session| (session.last_message_at, session.id))
            .collect();
        expired.sort();
        Ok(expired.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn erasure(&self, store: StoreId) -> StorageResult<Option<ErasureRecord>> {
        Ok(self.state().erasures.get(&store).cloned())
    }

    async fn record_erasure(&self, record: &ErasureRecord) -> StorageResult<()> {
        self.state().erasures.insert(record.store_id, record.clone());
        Ok(())
    }
}
