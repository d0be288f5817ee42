use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::{AdminId, AdminProfile, Desk, Principal, StoreId, StoreProfile, TokenHash};
use crate::storage::{IdentityStore, StorageResult};

#[async_trait]
impl IdentityStore for MemoryStore {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()> {
        self.state().stores.insert(store.id, store.clone());
        Ok(())
    }

    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()> {
        let mut state = self.state();
        state.admins.insert(admin.id, admin.clone());
        // The desk keeps its availability and capacity; only the name follows the profile.
        let desk = state.desks.entry(admin.id).or_insert_with(|| Desk::new(admin.id, admin.name.clone()));
        desk.name = admin.name.clone();
        Ok(())
    }

    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>> {
        Ok(self.state().stores.get(&id).cloned())
    }

    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>> {
        Ok(self.state().admins.get(&id).cloned())
    }

    async fn admin_profiles(&self, ids: &[AdminId]) -> StorageResult<Vec<AdminProfile>> {
        let state = self.state();
        Ok(ids.iter().filter_map(|id| state.admins.get(id).cloned()).collect())
    }

    async fn put_token(&self, token: &TokenHash, principal: Principal) -> StorageResult<()> {
        self.state().tokens.insert(token.clone(), principal);
        Ok(())
    }

    async fn revoke_token(&self, token: &TokenHash) -> StorageResult<bool> {
        Ok(self.state().tokens.remove(token).is_some())
    }

    async fn principal_for(&self, token: &TokenHash) -> StorageResult<Option<Principal>> {
        Ok(self.state().tokens.get(token).copied())
    }
}
