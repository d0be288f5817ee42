//! Stores, admins and the tokens that stand for them.

use async_trait::async_trait;

use super::StorageResult;
use crate::domain::{AdminId, AdminProfile, Principal, StoreId, StoreProfile, TokenHash};

#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()>;
    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()>;
    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>>;
    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>>;
    /// The profiles of those of `ids` that exist, in one read.
    async fn admin_profiles(&self, ids: &[AdminId]) -> StorageResult<Vec<AdminProfile>>;
    async fn put_token(&self, token: &TokenHash, principal: Principal) -> StorageResult<()>;
    /// Whether a token with that hash existed.
    async fn revoke_token(&self, token: &TokenHash) -> StorageResult<bool>;
    async fn principal_for(&self, token: &TokenHash) -> StorageResult<Option<Principal>>;
}
