use async_trait::async_trait;

use super::MemoryStore;
use crate::Timestamp;
use crate::domain::{MIN_LINK_KEY_BYTES, Recipient};
use crate::storage::{EmailStore, StorageError, StorageResult};

#[async_trait]
impl EmailStore for MemoryStore {
    async fn email_link_key(&self) -> StorageResult<Vec<u8>> {
        let mut state = self.state();
        if state.email_link_key.0.is_empty() {
            let mut key = vec![0; MIN_LINK_KEY_BYTES];
            getrandom::fill(&mut key).map_err(|error| StorageError::Unavailable(error.to_string()))?;
            state.email_link_key.0 = key;
        }
        Ok(state.email_link_key.0.clone())
    }

    async fn existing_email_link_key(&self) -> StorageResult<Option<Vec<u8>>> {
        let state = self.state();
        Ok((!state.email_link_key.0.is_empty()).then(|| state.email_link_key.0.clone()))
    }

    async fn unsubscribed(&self, recipients: &[Recipient]) -> StorageResult<Vec<bool>> {
        let state = self.state();
        Ok(recipients.iter().map(|recipient| state.unsubscribed.contains_key(recipient)).collect())
    }

    async fn unsubscribe(&self, recipient: Recipient, at: Timestamp) -> StorageResult<()> {
        self.state().unsubscribed.entry(recipient).or_insert(at);
        Ok(())
    }
}
