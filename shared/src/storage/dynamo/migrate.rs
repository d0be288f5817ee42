//! What this version needs of items an earlier one wrote, filled in by `chatctl migrate`.
//! Each write is conditional on the item still lacking what it adds, so a run is idempotent;
//! a run again finds only what is still missing, so an interrupted one is resumed by
//! running it again.
//!
//! Sessions opened before a store's sessions were indexed and searchable get their store's
//! keys in the `ByPrincipal` index and their search text (both follow from what the session
//! already holds: its store, its opening time).

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::DynamoStore;
use super::items::*;
use crate::domain::search_text;
use crate::storage::StorageResult;

/// What a migration did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    /// Sessions that lacked what this version needs.
    pub sessions_found: u64,
    /// Of those, the ones this run completed (another run may have done the others).
    pub sessions_updated: u64,
}

impl DynamoStore {
    /// Completes every session item an earlier version wrote; see the module's doc.
    pub async fn migrate(&self) -> StorageResult<Migrated> {
        let scan = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("SK = :session AND attribute_not_exists(search_text)")
            .expression_attribute_values(":session", s(SESSION_SK));
        let mut pages = scan.into_paginator().send();
        let mut migrated = Migrated::default();
        while let Some(page) = pages.next().await {
            for item in page.map_err(unavailable)?.items.unwrap_or_default() {
                migrated.sessions_found += 1;
                let session = session_from(item)?;
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("PK", s(session_pk(session.id)))
                    .key("SK", s(SESSION_SK))
                    .update_expression("SET PrincipalPK = :store, PrincipalSK = :created, search_text = :text")
                    .condition_expression("attribute_exists(PK) AND attribute_not_exists(search_text)")
                    .expression_attribute_values(":store", s(store_sessions_pk(session.store.id)))
                    .expression_attribute_values(":created", s(created_key(&session)))
                    .expression_attribute_values(":text", s(search_text(&session.store)))
                    .send()
                    .await;
                match update {
                    Ok(_) => migrated.sessions_updated += 1,
                    Err(error)
                        if matches!(
                            error.as_service_error(),
                            Some(UpdateItemError::ConditionalCheckFailedException(_))
                        ) => {}
                    Err(error) => return Err(unavailable(error)),
                }
            }
        }
        Ok(migrated)
    }
}
