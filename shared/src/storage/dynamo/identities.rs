use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStore;
use super::items::*;
use crate::Timestamp;
use crate::domain::{
    AccountState, AdminAccount, AdminId, AdminProfile, Principal, StoreAccount, StoreId, StoreProfile, TokenGrant,
    TokenHash, Upserted,
};
use crate::storage::{DeskStore, IdentityStore, StorageError, StorageResult};

impl DynamoStore {
    /// Writes a profile item whole (so a deactivated one is active again): whether it is new.
    async fn put_profile(&self, item: Item) -> StorageResult<Upserted> {
        let output = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        let existed = output.attributes.is_some_and(|old| !old.is_empty());
        Ok(if existed { Upserted::Updated } else { Upserted::Created })
    }
}

#[async_trait]
impl IdentityStore for DynamoStore {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()> {
        self.put(to_item(&ProfileItem::new(store_pk(store.id), store, None))?).await
    }

    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()> {
        let profile = self.put(to_item(&ProfileItem::new(admin_pk(admin.id), admin, None))?);
        let (profile, desk) = tokio::join!(profile, self.keep_desk(admin));
        profile.and(desk)
    }

    async fn upsert_store(&self, account: &StoreAccount) -> StorageResult<Upserted> {
        let item = ProfileItem::new(store_pk(account.id), account.profile(), account.locale.clone());
        self.put_profile(to_item(&item)?).await
    }

    async fn upsert_admin(&self, account: &AdminAccount) -> StorageResult<Upserted> {
        let profile = account.profile();
        let item = ProfileItem::new(admin_pk(account.id), &profile, account.locale.clone());
        let (upserted, desk) = tokio::join!(self.put_profile(to_item(&item)?), self.keep_desk(&profile));
        desk?;
        if let Some(capacity) = account.capacity {
            self.set_capacity(account.id, capacity).await?;
        }
        upserted
    }

    async fn deactivate(&self, principal: Principal, at: Timestamp) -> StorageResult<bool> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(principal_pk(principal)))
            .key("SK", s(PROFILE_SK))
            .update_expression("SET deactivated_at = if_not_exists(deactivated_at, :at)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(error.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) =>
            {
                Ok(false)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn account_state(&self, principal: Principal) -> StorageResult<AccountState> {
        Ok(match self.get(principal_pk(principal), PROFILE_SK).await? {
            None => AccountState::Missing,
            Some(item) if item.contains_key("deactivated_at") => AccountState::Deactivated,
            Some(_) => AccountState::Active,
        })
    }

    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>> {
        let item = self.get(store_pk(id), PROFILE_SK).await?;
        item.map(|i| from_item::<ProfileItem<StoreProfile>>(i).map(|p| p.profile)).transpose()
    }

    async fn store_locale(&self, id: StoreId) -> StorageResult<Option<String>> {
        let item = self.get(store_pk(id), PROFILE_SK).await?;
        match item.and_then(|mut item| item.remove("locale")) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(locale)) => Ok(Some(locale)),
            Some(_) => Err(StorageError::Malformed("store profile: locale is mistyped".into())),
        }
    }

    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>> {
        let item = self.get(admin_pk(id), PROFILE_SK).await?;
        item.map(|i| from_item::<ProfileItem<AdminProfile>>(i).map(|p| p.profile)).transpose()
    }

    async fn admin_profiles(&self, ids: &[AdminId]) -> StorageResult<Vec<AdminProfile>> {
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let keys: Vec<(String, String)> = unique.iter().map(|id| (admin_pk(*id), PROFILE_SK.to_owned())).collect();
        let items = self.batch_get(&keys, false).await?;
        items.into_iter().map(|item| Ok(from_item::<ProfileItem<AdminProfile>>(item)?.profile)).collect()
    }

    async fn grant_token(&self, token: &TokenHash, grant: &TokenGrant) -> StorageResult<()> {
        self.put(to_item(&TokenItem::new(token, grant))?).await
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

    async fn token_grant(&self, token: &TokenHash) -> StorageResult<Option<TokenGrant>> {
        let item = self.get(token_pk(token), TOKEN_SK).await?;
        item.map(|i| from_item::<TokenItem>(i)?.grant().map(|(_, grant)| grant)).transpose()
    }

    async fn tokens_of(&self, principal: Principal, now: Timestamp) -> StorageResult<Vec<(TokenHash, TokenGrant)>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_PRINCIPAL_INDEX)
            .key_condition_expression("PrincipalPK = :pk")
            .expression_attribute_values(":pk", s(tokens_of_pk(principal)));
        let items = self.query_items(query, usize::MAX).await?;
        let tokens = items.into_iter().map(|item| from_item::<TokenItem>(item)?.grant());
        let tokens: Vec<_> = tokens.collect::<StorageResult<_>>()?;
        Ok(tokens.into_iter().filter(|(_, grant)| grant.valid_at(now)).collect())
    }
}
