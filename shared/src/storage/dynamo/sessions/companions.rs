//! Items kept in step with a session, in the same transactions as its changes: the counts
//! of the lists it is in, and its store's pointers to its active and latest sessions.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::super::DynamoStore;
use super::super::items::*;
use crate::domain::{AdminId, Session, SessionId, SessionStatus, StoreId};
use crate::storage::{Bucket, StorageResult};

/// What a change of a list's counts is about.
#[derive(Clone, Copy)]
enum Counted<'a> {
    /// A session entering or leaving the list, with its tags.
    Session(&'a [String]),
    /// A session in the list whose tags changed: the `removed` counts move by `-delta`, the
    /// `added` ones by `delta`, in one update (a transaction may write an item only once).
    Retagged { removed: &'a [String], added: &'a [String] },
}

impl DynamoStore {
    /// A session with `tags` leaves list `from` for list `to` (either may be none).
    pub(super) fn moved_between_lists(
        &self,
        from: Option<Bucket>,
        to: Option<Bucket>,
        tags: &[String],
    ) -> Vec<TransactWriteItem> {
        let left = from.map(|from| self.count(&from, -1, Counted::Session(tags), None));
        let joined = to.map(|to| self.count(&to, 1, Counted::Session(tags), None));
        left.into_iter().chain(joined).collect()
    }

    /// A session with `tags` leaves the open queue for `admin`'s claimed sessions, on the
    /// condition that the admin holds fewer than `capacity`: the list's count is its load.
    pub(super) fn assigned_within(&self, admin: AdminId, tags: &[String], capacity: u32) -> Vec<TransactWriteItem> {
        let left = self.count(&Bucket::Open, -1, Counted::Session(tags), None);
        let joined =
            self.count(&Bucket::Held(admin, SessionStatus::Claimed), 1, Counted::Session(tags), Some(capacity));
        vec![left, joined]
    }

    /// A session in `bucket` whose tags changed from `before` to `after`.
    pub(super) fn retagged(&self, bucket: &Bucket, before: &[String], after: &[String]) -> Option<TransactWriteItem> {
        let removed: Vec<String> = before.iter().filter(|t| !after.contains(t)).cloned().collect();
        let added: Vec<String> = after.iter().filter(|t| !before.contains(t)).cloned().collect();
        let changed = !removed.is_empty() || !added.is_empty();
        changed.then(|| self.count(bucket, 1, Counted::Retagged { removed: &removed, added: &added }, None))
    }

    /// Adds `delta` to a list's counts: of all its sessions and per tag; with `below`, on the
    /// condition that the list holds fewer sessions than that.
    fn count(&self, bucket: &Bucket, delta: i64, counted: Counted<'_>, below: Option<u32>) -> TransactWriteItem {
        // Each tag counter with the value it moves by.
        let (mut expression, tags): (String, Vec<(&String, &str)>) = match counted {
            Counted::Session(tags) => ("ADD #total :delta".to_owned(), tags.iter().map(|t| (t, ":delta")).collect()),
            Counted::Retagged { removed, added } => {
                let moves = removed.iter().map(|t| (t, ":undo")).chain(added.iter().map(|t| (t, ":delta")));
                (String::new(), moves.collect())
            }
        };
        let mut update =
            Update::builder().table_name(&self.table).key("PK", s(COUNTS_PK)).key("SK", s(bucket_sk(bucket)));
        if matches!(counted, Counted::Session(_)) {
            update = update.expression_attribute_names("#total", "total");
        }
        for (i, (tag, value)) in tags.iter().enumerate() {
            expression.push_str(if expression.is_empty() { "ADD " } else { ", " });
            expression.push_str(&format!("#tag{i} {value}"));
            update = update.expression_attribute_names(format!("#tag{i}"), tag_counter(tag));
        }
        // DynamoDB refuses values the expression does not use.
        for (value, by) in [(":delta", delta), (":undo", -delta)] {
            if expression.contains(value) {
                update = update.expression_attribute_values(value, n(by));
            }
        }
        if let Some(limit) = below {
            update = update
                .condition_expression("attribute_not_exists(#total) OR #total < :limit")
                .expression_attribute_values(":limit", n(limit));
        }
        let update = update.update_expression(expression).build().expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// Keeps the store's pointer in step with its active session, in the same transaction:
    /// a copy of the lifecycle while active; once closed, gone, and the session is the
    /// store's latest.
    pub(super) fn sync_pointer(&self, session: &Session) -> StorageResult<Vec<TransactWriteItem>> {
        if session.status == SessionStatus::Closed {
            let release = Delete::builder()
                .table_name(&self.table)
                .key("PK", s(store_pk(session.store.id)))
                .key("SK", s(ACTIVE_SK))
                .condition_expression("session_id = :id")
                .expression_attribute_values(":id", n(session.id))
                .build()
                .expect("table, key and condition are set");
            let release = TransactWriteItem::builder().delete(release).build();
            return Ok(vec![release, self.latest(session.id, session.store.id)?]);
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&PointerItem::to(session))?))
            .condition_expression("session_id = :id")
            .expression_attribute_values(":id", n(session.id))
            .build()
            .expect("table, item and condition are set");
        Ok(vec![TransactWriteItem::builder().put(put).build()])
    }

    /// Records `session` as the one `store` closed last.
    pub(super) fn latest(&self, session: SessionId, store: StoreId) -> StorageResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&LatestItem::to(session, store))?))
            .build()
            .expect("table and item are set");
        Ok(TransactWriteItem::builder().put(put).build())
    }
}
