//! Stores, admins and the tokens that stand for them.

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::{
    AccountState, AdminAccount, AdminId, AdminProfile, Principal, StoreAccount, StoreId, StoreProfile, TokenGrant,
    TokenHash, Upserted,
};

#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()>;
    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()>;
    /// Writes a store's profile and locale, active again if it was deactivated.
    async fn upsert_store(&self, account: &StoreAccount) -> StorageResult<Upserted>;
    /// Writes an admin's profile and locale, active again if it was deactivated, and its
    /// desk's name and, if given, capacity.
    async fn upsert_admin(&self, account: &AdminAccount) -> StorageResult<Upserted>;
    /// Marks a store or an admin deactivated (its profile and history stay); whether it exists.
    async fn deactivate(&self, principal: Principal, at: Timestamp) -> StorageResult<bool>;
    /// Whether a store or an admin exists, and is not deactivated.
    async fn account_state(&self, principal: Principal) -> StorageResult<AccountState>;
    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>>;
    /// The locale the platform gave the store (`de-DE`), if any.
    async fn store_locale(&self, id: StoreId) -> StorageResult<Option<String>>;
    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>>;
    /// The profiles of those of `ids` that exist, in one read.
    async fn admin_profiles(&self, ids: &[AdminId]) -> StorageResult<Vec<AdminProfile>>;
    async fn grant_token(&self, token: &TokenHash, grant: &TokenGrant) -> StorageResult<()>;
    /// Whether a token with that hash existed.
    async fn revoke_token(&self, token: &TokenHash) -> StorageResult<bool>;
    /// The token's grant, expired or not.
    async fn token_grant(&self, token: &TokenHash) -> StorageResult<Option<TokenGrant>>;
    /// The tokens of `principal` still valid at `now`, oldest first.
    async fn tokens_of(&self, principal: Principal, now: Timestamp) -> StorageResult<Vec<(TokenHash, TokenGrant)>>;

    /// A token that stands until it is revoked (the operator's and the seed's).
    async fn put_token(&self, token: &TokenHash, principal: Principal) -> StorageResult<()> {
        self.grant_token(token, &TokenGrant::lasting(principal, Timestamp::now())).await
    }

    /// Whom a token stands for, if it is valid now.
    async fn principal_for(&self, token: &TokenHash) -> StorageResult<Option<Principal>> {
        let grant = self.token_grant(token).await?;
        Ok(grant.filter(|grant| grant.valid_at(Timestamp::now())).map(|grant| grant.principal))
    }
}
