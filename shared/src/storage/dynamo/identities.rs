use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnValue};

use super::DynamoStore;
use super::items::*;
use crate::domain::{AdminId, AdminProfile, Principal, StoreId, StoreProfile, TokenHash};
use crate::storage::{IdentityStore, StorageError, StorageResult};

#[async_trait]
impl IdentityStore for DynamoStore {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()> {
        self.put(to_item(&ProfileItem { pk: store_pk(store.id), sk: PROFILE_SK.into(), profile: store })?).await
    }

    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()> {
        let profile =
            self.put(to_item(&ProfileItem { pk: admin_pk(admin.id), sk: PROFILE_SK.into(), profile: admin })?);
        let (profile, desk) = tokio::join!(profile, self.keep_desk(admin));
        profile.and(desk)
    }

    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>> {
        let item = self.get(store_pk(id), PROFILE_SK).await?;
        item.map(|i| from_item::<ProfileItem<StoreProfile>>(i).map(|p| p.profile)).transpose()
    }

    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>> {
        let item = self.get(admin_pk(id), PROFILE_SK).await?;
        item.map(|i| from_item::<ProfileItem<AdminProfile>>(i).map(|p| p.profile)).transpose()
    }

    async fn admin_profiles(&self, ids: &[AdminId]) -> StorageResult<Vec<AdminProfile>> {
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut profiles = Vec::new();
        // BatchGetItem takes at most 100 keys.
        for chunk in unique.chunks(100) {
            let keys = chunk
                .iter()
                .map(|id| HashMap::from([("PK".to_owned(), s(admin_pk(*id))), ("SK".to_owned(), s(PROFILE_SK))]))
                .collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|e| StorageError::Malformed(e.to_string()))?;
            let mut pending = Some(HashMap::from([(self.table.clone(), request)]));
            while let Some(items) = pending.take().filter(|p| !p.is_empty()) {
                let output =
                    self.client.batch_get_item().set_request_items(Some(items)).send().await.map_err(unavailable)?;
                for item in output.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    profiles.push(from_item::<ProfileItem<AdminProfile>>(item)?.profile);
                }
                pending = output.unprocessed_keys;
            }
        }
        Ok(profiles)
    }

    async fn put_token(&self, token: &TokenHash, principal: Principal) -> StorageResult<()> {
        self.put(to_item(&TokenItem { pk: token_pk(token), sk: TOKEN_SK.into(), principal })?).await
    }

    async fn revoke_token(&self, token: &TokenHash) -> StorageResult<bool> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(token_pk(token)))
            .key("SK", s(TOKEN_SK))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn principal_for(&self, token: &TokenHash) -> StorageResult<Option<Principal>> {
        let item = self.get(token_pk(token), TOKEN_SK).await?;
        item.map(|i| from_item::<TokenItem>(i).map(|t| t.principal)).transpose()
    }
}
