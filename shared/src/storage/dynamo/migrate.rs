//! What this version needs of items an earlier one wrote, filled in by `chatctl migrate`.
//! Each write is conditional on the item still lacking what it adds, so a run is idempotent;
//! a run again finds only what is still missing, so an interrupted one is resumed by
//! running it again.
//!
//! What sessions an earlier version wrote may lack, each following from what the session
//! already holds:
//! - its store's keys in the `ByPrincipal` index and its search text (from its store and its
//!   opening time), before a store's sessions were indexed and searchable;
//! - each party's newest message id (`last_store_message_id`, `last_admin_message_id`, from
//!   its messages), before read marks were counted against them: without them a read mark
//!   cannot tell that it covers the other party's every message;
//! - a closed session's key in the `ClosedSessions` index, before closed sessions expired:
//!   without it, it would never;
//! - a held session's first holder (`picked_up_by`, `picked_up_at`: its holder, when it was
//!   last moved), before reports counted pick-ups: without it, its next transfer or claim
//!   would count as one.
//!
//! Each attribute is set only where it is still absent, so a send that wrote it meanwhile
//! keeps its own.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::DynamoStore;
use super::items::*;
use crate::domain::{MessageId, SenderType, Session, SessionStatus, search_text};
use crate::storage::StorageResult;

/// What a migration did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    /// Sessions that lacked what this version needs.
    pub sessions_found: u64,
    /// Of those, the ones this run completed (another run may have done the others).
    pub sessions_updated: u64,
}

/// Messages read at a time, looking for each party's newest.
const NEWEST_A_READ: usize = 50;

/// A session item lacking something this version needs.
const INCOMPLETE: &str = "attribute_not_exists(search_text) OR attribute_not_exists(last_store_message_id) \
                          OR attribute_not_exists(last_admin_message_id) \
                          OR (#status = :closed_status AND attribute_not_exists(ClosedPK)) \
                          OR (#status = :claimed_status AND attribute_not_exists(picked_up_at))";

impl DynamoStore {
    /// Completes every session item an earlier version wrote; see the module's doc.
    pub async fn migrate(&self) -> StorageResult<Migrated> {
        let scan = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression(format!("SK = :session AND ({INCOMPLETE})"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed_status", s(status_name(SessionStatus::Closed)))
            .expression_attribute_values(":claimed_status", s(status_name(SessionStatus::Claimed)))
            .expression_attribute_values(":session", s(SESSION_SK));
        let mut pages = scan.into_paginator().send();
        let mut migrated = Migrated::default();
        while let Some(page) = pages.next().await {
            for item in page.map_err(unavailable)?.items.unwrap_or_default() {
                migrated.sessions_found += 1;
                if self.complete(session_from(item)?).await? {
                    migrated.sessions_updated += 1;
                }
            }
        }
        Ok(migrated)
    }

    /// Fills in what `session` lacks; false if another run did first.
    async fn complete(&self, session: Session) -> StorageResult<bool> {
        let (newest_of_store, newest_of_admin) = self.newest_message_of_each_party(&session).await?;
        let mut set = String::from(
            "SET PrincipalPK = if_not_exists(PrincipalPK, :store), \
             PrincipalSK = if_not_exists(PrincipalSK, :created), \
             search_text = if_not_exists(search_text, :text), \
             last_store_message_id = if_not_exists(last_store_message_id, :of_store), \
             last_admin_message_id = if_not_exists(last_admin_message_id, :of_admin)",
        );
        // A session is closed for good: one read closed is closed when the write lands.
        let holder = match (session.status, session.admin_id) {
            (SessionStatus::Closed, _) => {
                set.push_str(", ClosedPK = :closed");
                None
            }
            (SessionStatus::Claimed, Some(admin)) => {
                set.push_str(
                    ", picked_up_by = if_not_exists(picked_up_by, :holder), \
                     picked_up_at = if_not_exists(picked_up_at, :held_since)",
                );
                Some(admin)
            }
            _ => None,
        };
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(session_pk(session.id)))
            .key("SK", s(SESSION_SK))
            .update_expression(set)
            .condition_expression(format!("attribute_exists(PK) AND ({INCOMPLETE})"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed_status", s(status_name(SessionStatus::Closed)))
            .expression_attribute_values(":claimed_status", s(status_name(SessionStatus::Claimed)))
            .expression_attribute_values(":store", s(store_sessions_pk(session.store.id)))
            .expression_attribute_values(":created", s(created_key(&session)))
            .expression_attribute_values(":text", s(search_text(&session.store)))
            .expression_attribute_values(":of_store", n(newest_of_store))
            .expression_attribute_values(":of_admin", n(newest_of_admin));
        let update = match (session.status, holder) {
            (SessionStatus::Closed, _) => update.expression_attribute_values(":closed", s(CLOSED)),
            (_, Some(admin)) => update
                .expression_attribute_values(":holder", n(admin.0))
                .expression_attribute_values(":held_since", s(session.updated.to_string())),
            _ => update,
        };
        let update = update.send().await;
        match update {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(error.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) =>
            {
                Ok(false)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// The id of each party's newest message in `session` (0 for none), from its messages,
    /// newest first, a page at a time until both are found.
    async fn newest_message_of_each_party(&self, session: &Session) -> StorageResult<(MessageId, MessageId)> {
        let (mut of_store, mut of_admin) = (None, None);
        let mut below = session.last_message_id;
        while of_store.is_none() || of_admin.is_none() {
            let page = self.message_range(session.id, MessageId(1), below, NEWEST_A_READ, true).await?;
            for message in &page {
                let newest = match message.sender_type {
                    SenderType::Store => &mut of_store,
                    SenderType::Admin => &mut of_admin,
                };
                newest.get_or_insert(message.id);
            }
            match page.last() {
                Some(oldest) if page.len() == NEWEST_A_READ && oldest.id.0 > 1 => below = MessageId(oldest.id.0 - 1),
                _ => break,
            }
        }
        Ok((of_store.unwrap_or(MessageId(0)), of_admin.unwrap_or(MessageId(0))))
    }
}
