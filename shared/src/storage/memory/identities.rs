use async_trait::async_trait;

use super::MemoryStore;
use crate::Timestamp;
use crate::domain::{
    AccountState, AdminAccount, AdminId, AdminProfile, Desk, Principal, StoreAccount, StoreId, StoreProfile,
    TokenGrant, TokenHash, Upserted,
};
use crate::storage::{IdentityStore, StorageResult};

impl MemoryStore {
    /// A profile written whole: its locale as given, active again if it was deactivated.
    fn account_written(&self, principal: Principal, locale: Option<&String>, existed: bool) -> Upserted {
        let mut state = self.state();
        match locale {
            Some(locale) => state.locales.insert(principal, locale.clone()),
            None => state.locales.remove(&principal),
        };
        state.deactivated.remove(&principal);
        if existed { Upserted::Updated } else { Upserted::Created }
    }
}

#[async_trait]
impl IdentityStore for MemoryStore {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()> {
        let existed = self.state().stores.insert(store.id, store.clone()).is_some();
        self.account_written(Principal::Store(store.id), None, existed);
        Ok(())
    }

    async fn upsert_store(&self, account: &StoreAccount) -> StorageResult<Upserted> {
        let existed = self.state().stores.insert(account.id, account.profile()).is_some();
        Ok(self.account_written(Principal::Store(account.id), account.locale.as_ref(), existed))
    }

    async fn upsert_admin(&self, account: &AdminAccount) -> StorageResult<Upserted> {
        let existed = self.state().admins.contains_key(&account.id);
        self.put_admin(&account.profile()).await?;
        if let Some(capacity) = account.capacity {
            self.state().desks.get_mut(&account.id).expect("put_admin keeps a desk").capacity = capacity;
        }
        Ok(self.account_written(Principal::Admin(account.id), account.locale.as_ref(), existed))
    }

    async fn deactivate(&self, principal: Principal, at: Timestamp) -> StorageResult<bool> {
        let mut state = self.state();
        let exists = match principal {
            Principal::Store(id) => state.stores.contains_key(&id),
            Principal::Admin(id) => state.admins.contains_key(&id),
        };
        if exists {
            state.deactivated.entry(principal).or_insert(at);
        }
        Ok(exists)
    }

    async fn account_state(&self, principal: Principal) -> StorageResult<AccountState> {
        let state = self.state();
        let exists = match principal {
            Principal::Store(id) => state.stores.contains_key(&id),
            Principal::Admin(id) => state.admins.contains_key(&id),
        };
        Ok(match (exists, state.deactivated.contains_key(&principal)) {
            (false, _) => AccountState::Missing,
            (true, true) => AccountState::Deactivated,
            (true, false) => AccountState::Active,
        })
    }

    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()> {
        let mut state = self.state();
        state.admins.insert(admin.id, admin.clone());
        // Written whole, as in the table: no locale, active again.
        state.locales.remove(&Principal::Admin(admin.id));
        state.deactivated.remove(&Principal::Admin(admin.id));
        // The desk keeps its availability and capacity; only the name follows the profile.
        let desk = state.desks.entry(admin.id).or_insert_with(|| Desk::new(admin.id, admin.name.clone()));
        desk.name = admin.name.clone();
        Ok(())
    }

    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>> {
        Ok(self.state().stores.get(&id).cloned())
    }

    async fn store_locale(&self, id: StoreId) -> StorageResult<Option<String>> {
        Ok(self.state().locales.get(&Principal::Store(id)).cloned())
    }

    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>> {
        Ok(self.state().admins.get(&id).cloned())
    }

    async fn admin_profiles(&self, ids: &[AdminId]) -> StorageResult<Vec<AdminProfile>> {
        let state = self.state();
        Ok(ids.iter().filter_map(|id| state.admins.get(id).cloned()).collect())
    }

    async fn grant_token(&self, token: &TokenHash, grant: &TokenGrant) -> StorageResult<()> {
        self.state().tokens.insert(token.clone(), *grant);
        Ok(())
    }

    async fn revoke_token(&self, token: &TokenHash) -> StorageResult<bool> {
        Ok(self.state().tokens.remove(token).is_some())
    }

    async fn token_grant(&self, token: &TokenHash) -> StorageResult<Option<TokenGrant>> {
        Ok(self.state().tokens.get(token).copied())
    }

    async fn tokens_of(&self, principal: Principal, now: Timestamp) -> StorageResult<Vec<(TokenHash, TokenGrant)>> {
        let state = self.state();
        let mut tokens: Vec<(TokenHash, TokenGrant)> = state
            .tokens
            .iter()
            .filter(|(_, grant)| grant.principal == principal && grant.valid_at(now))
            .map(|(hash, grant)| (hash.clone(), *grant))
            .collect();
        tokens.sort_by(|(a_hash, a), (b_hash, b)| (a.issued_at, a_hash.as_hex()).cmp(&(b.issued_at, b_hash.as_hex())));
        Ok(tokens)
    }
}
