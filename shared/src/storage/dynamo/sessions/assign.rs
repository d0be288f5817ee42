//! Giving a waiting session to an admin within its capacity, in one transaction.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::super::items::*;
use super::super::{DynamoStore, TransactionFailure};
use super::update::SessionUpdate;
use crate::Timestamp;
use crate::domain::{AdminId, Session, SessionChange};
use crate::storage::{Assignment, Bucket, StorageResult};

impl DynamoStore {
    /// The session (on its revision), its lists' counts (the admin's on the condition of its
    /// capacity), the store's pointer and the admin's desk (on the condition that it is
    /// available): one transaction.
    pub(in super::super) async fn assign_session(
        &self,
        seen: &Session,
        admin: AdminId,
        capacity: u32,
        now: Timestamp,
    ) -> StorageResult<Assignment> {
        if Bucket::of(seen.status, seen.admin_id) != Some(Bucket::Open) {
            return Ok(Assignment::NotNow);
        }
        let at = seen.time_of_change(now);
        let change = SessionChange::Assign { revision: seen.revision, admin_id: admin, at };
        let assigned = change.effects_on(seen);
        let mut items = vec![SessionUpdate::of(seen.id, &change)?.in_transaction(self, seen.id)];
        items.extend(self.assigned_within(admin, &seen.tags, capacity));
        items.extend(self.sync_pointer(&assigned)?);
        let desk = Update::builder()
            .table_name(&self.table)
            .key("PK", s(DESKS_PK))
            .key("SK", s(desk_sk(admin)))
            .update_expression("SET last_assigned_at = :now")
            .condition_expression("availability = :available")
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":available", s("available"))
            .build()
            .expect("table, key and expression are set");
        items.push(TransactWriteItem::builder().update(desk).build());
        let _turn = self.session_turn(seen.id).await;
        match self.transact(items).await {
            Ok(()) => Ok(Assignment::Assigned(Box::new(assigned))),
            Err(TransactionFailure::Unavailable(error)) => Err(error),
            // Claimed or closed meanwhile, the admin away or full by now, or a conflict with
            // another transaction: the caller reads again.
            Err(TransactionFailure::Cancelled(_)) => Ok(Assignment::NotNow),
        }
    }
}
