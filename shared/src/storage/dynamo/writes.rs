//! Writes that change a session: sends, lifecycle moves, receipts, tags, ratings. Each is
//! one conditional write (a transaction where counters or other items change with it).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::items::*;
use super::{Counted, DynamoStore, MAX_ATTEMPTS, TransactionFailure, back_off};
use crate::Timestamp;
use crate::domain::{AdminId, MessageId, NewMessage, SenderType, Session, SessionId, SessionStatus, StoreId};
use crate::storage::{
    AppendGuard, AppendOutcome, Bucket, ClosedSession, ReceiptKind, StorageError, StorageResult, WriteOutcome,
    read_count_at,
};

/// Builds one `Update` of a session item.
struct SessionUpdate {
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    condition: Vec<String>,
    values: HashMap<String, AttributeValue>,
}

impl SessionUpdate {
    fn new() -> Self {
        SessionUpdate { set: vec![], add: vec![], remove: vec![], condition: vec![], values: HashMap::new() }
    }

    /// The attribute names the expressions use (DynamoDB refuses unused ones).
    fn names(&self) -> Option<HashMap<String, String>> {
        let text = format!("{} {}", self.expression(), self.condition());
        let names: HashMap<String, String> = [("#status", "status")]
            .into_iter()
            .filter(|(n, _)| text.contains(n))
            .map(|(n, a)| (n.into(), a.into()))
            .collect();
        (!names.is_empty()).then_some(names)
    }

    fn set(mut self, path: &str, value: AttributeValue) -> Self {
        let placeholder = format!(":v{}", self.values.len());
        self.set.push(format!("{path} = {placeholder}"));
        self.values.insert(placeholder, value);
        self
    }

    fn add(mut self, path: &str, value: AttributeValue) -> Self {
        let placeholder = format!(":v{}", self.values.len());
        self.add.push(format!("{path} {placeholder}"));
        self.values.insert(placeholder, value);
        self
    }

    /// Sets `path` to `value` unless the item already has it.
    fn set_if_absent(mut self, path: &str, value: AttributeValue) -> Self {
        let placeholder = format!(":v{}", self.values.len());
        self.set.push(format!("{path} = if_not_exists({path}, {placeholder})"));
        self.values.insert(placeholder, value);
        self
    }

    fn require_absent(mut self, path: &str) -> Self {
        self.condition.push(format!("attribute_not_exists({path})"));
        self
    }

    /// Sets `path` to the value of the item's own attribute `source`.
    fn copy(mut self, path: &str, source: &str) -> Self {
        self.set.push(format!("{path} = {source}"));
        self
    }

    fn remove(mut self, path: &str) -> Self {
        self.remove.push(path.to_owned());
        self
    }

    /// Adds `expression` to the condition; `{}` stands for the placeholder of `value`.
    fn require(mut self, expression: &str, value: AttributeValue) -> Self {
        let placeholder = format!(":v{}", self.values.len());
        self.condition.push(expression.replace("{}", &placeholder));
        self.values.insert(placeholder, value);
        self
    }

    fn expression(&self) -> String {
        let mut parts = Vec::new();
        for (keyword, clauses) in [("SET", &self.set), ("ADD", &self.add), ("REMOVE", &self.remove)] {
            if !clauses.is_empty() {
                parts.push(format!("{keyword} {}", clauses.join(", ")));
            }
        }
        parts.join(" ")
    }

    fn condition(&self) -> String {
        let mut condition = vec!["attribute_exists(PK)".to_owned()];
        condition.extend(self.condition.iter().cloned());
        condition.join(" AND ")
    }

    fn in_transaction(self, store: &DynamoStore, id: SessionId) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&store.table)
            .key("PK", s(session_pk(id)))
            .key("SK", s(SESSION_SK))
            .update_expression(self.expression())
            .condition_expression(self.condition())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(Some(self.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and expressions are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// Sends it as one `UpdateItem`: `Ok` with the session as written, or `Err` with the
    /// session as it is when the condition failed (`None`: there is no such session).
    async fn send(self, store: &DynamoStore, id: SessionId) -> StorageResult<Result<Session, Option<Session>>> {
        let result = store
            .client
            .update_item()
            .table_name(&store.table)
            .key("PK", s(session_pk(id)))
            .key("SK", s(SESSION_SK))
            .update_expression(self.expression())
            .condition_expression(self.condition())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(Some(self.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Ok(current_session(id, output.attributes)?)),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                match e.into_err() {
                    UpdateItemError::ConditionalCheckFailedException(failed) => {
                        Ok(Err(failed.item.map(session_from).transpose()?))
                    }
                    _ => unreachable!("matched above"),
                }
            }
            Err(error) => Err(unavailable(error)),
        }
    }
}

/// The index keys a session in `status`, held by `admin_id`, carries.
fn with_index_keys(update: SessionUpdate, status: SessionStatus, admin_id: Option<AdminId>) -> SessionUpdate {
    let update = match status {
        SessionStatus::Open => update.set("QueuePK", s(OPEN_QUEUE)),
        _ => update.remove("QueuePK"),
    };
    match admin_id {
        Some(admin) => update.set("AdminPK", s(admin_pk(admin))),
        None => update.remove("AdminPK"),
    }
}

impl DynamoStore {
    pub(super) async fn append(
        &self,
        session_id: SessionId,
        guard: AppendGuard<'_>,
        mut id: MessageId,
        message: NewMessage,
        mut now: Timestamp,
    ) -> StorageResult<AppendOutcome> {
        let (count, last_of_party) = match message.sender_type {
            SenderType::Store => ("store_message_count", "last_store_message_id"),
            SenderType::Admin => ("admin_message_count", "last_admin_message_id"),
        };
        // Whether, and since when, the store waits for an answer, as far as we know; an
        // admin's answer is conditional on it, so that its response time is exact.
        let mut awaiting = match guard {
            AppendGuard::Seen(seen) => seen.awaiting_reply_since,
            AppendGuard::NotClosed => None,
        };
        let _turn = self.session_turn(session_id).await;
        for attempt in 0..MAX_ATTEMPTS {
            let stored = message.stored(id, session_id, now);
            let mut update = SessionUpdate::new()
                .set("last_message_id", n(id))
                .set(last_of_party, n(id))
                .set("last_message_at", s(now.to_string()))
                .set("updated", s(now.to_string()))
                .set("ActivityKey", s(activity_key(now, session_id)))
                .set("last_message", to_attribute(&stored)?)
                .add(count, n(1))
                .require("#status <> {}", s(status_name(SessionStatus::Closed)))
                .require("last_message_at <= {}", s(now.to_string()))
                // Ids come from one counter, so this turns "fresh" into "above the
                // session's last" at commit: ids increase in commit order.
                .require("last_message_id < {}", n(id));
            if let AppendGuard::Seen(seen) = guard {
                update = update.require("revision = {}", n(seen.revision));
            }
            update = match (message.sender_type, awaiting) {
                (SenderType::Store, _) => update.set_if_absent("awaiting_reply_since", s(now.to_string())),
                (SenderType::Admin, None) => update.require_absent("awaiting_reply_since"),
                (SenderType::Admin, Some(since)) => update
                    .require("awaiting_reply_since = {}", s(since.to_string()))
                    .remove("awaiting_reply_since")
                    .add("reply_ms_total", n(now.millis_since(since)))
                    .add("reply_count", n(1)),
            };
            let mut items = vec![
                update.in_transaction(self, session_id),
                self.put_new(to_item(&MessageItem::new(stored.clone()))?),
            ];
            if let Some(key) = message.idempotency_key() {
                let item = ClientIdItem { pk: session_pk(session_id), sk: client_sk(&key), message_id: id };
                items.push(self.put_new(to_item(&item)?));
            }
            let reasons = match self.transact(items).await {
                Ok(()) => return Ok(AppendOutcome::Appended(stored)),
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                Err(TransactionFailure::Cancelled(reasons)) => reasons,
            };
            if failed_condition(reasons.get(2)) {
                let existing = reasons[2].item.clone().ok_or_else(|| {
                    StorageError::Malformed(format!("client message id of session {session_id} without item"))
                })?;
                let original = from_item::<ClientIdItem>(existing)?.message_id;
                return Ok(AppendOutcome::Duplicate(self.message_by_id(session_id, original).await?));
            }
            if failed_condition(reasons.first()) {
                let current = current_session(session_id, reasons[0].item.clone())?;
                let guard_holds = match guard {
                    AppendGuard::Seen(seen) => current.revision == seen.revision,
                    AppendGuard::NotClosed => true,
                };
                if !guard_holds || current.status == SessionStatus::Closed {
                    return Ok(AppendOutcome::Stale(Box::new(current)));
                }
                if current.last_message_id >= id {
                    // A greater id committed first: take a fresh one right away.
                    id = self.next_message_id_now().await?;
                }
                // The store's waiting changed meanwhile: answer the waiting as it is.
                awaiting = current.awaiting_reply_since;
                // A message dated later (another writer's clock) committed first.
                now = current.time_of_change(now);
                continue;
            }
            // Another transaction on the same items.
            back_off(attempt).await;
        }
        Err(StorageError::Unavailable(format!("session {session_id}: too much contention appending")))
    }

    async fn next_message_id_now(&self) -> StorageResult<MessageId> {
        self.bump_counter("MESSAGE_ID", 1).await
    }

    pub(super) async fn move_session(
        &self,
        seen: &Session,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        let mut now = seen.time_of_change(now);
        for _ in 0..MAX_ATTEMPTS {
            let next = seen.with_lifecycle(status, admin_id, now);
            let update = SessionUpdate::new()
                .set("#status", s(status_name(status)))
                .set("admin_id", to_attribute(&admin_id)?)
                .set("updated", s(now.to_string()))
                .set("closed_at", to_attribute(&next.closed_at)?)
                .add("revision", n(1))
                .require("revision = {}", n(seen.revision))
                .require("last_message_at <= {}", s(now.to_string()));
            let mut items = vec![with_index_keys(update, status, admin_id).in_transaction(self, seen.id)];
            // The list counts move with the session, tags and all.
            if let Some(from) = Bucket::of(seen.status, seen.admin_id) {
                items.push(self.count(&from, -1, Counted::Session(&seen.tags)));
            }
            if let Some(to) = Bucket::of(status, admin_id) {
                items.push(self.count(&to, 1, Counted::Session(&seen.tags)));
            }
            items.push(self.sync_pointer(&next)?);
            match self.conditional(seen, items, next).await? {
                // Unchanged but for a message dated after `now` (another writer's clock):
                // the change comes after it.
                WriteOutcome::Stale(current) if current.revision == seen.revision => {
                    now = current.time_of_change(now);
                }
                outcome => return Ok(outcome),
            }
        }
        Err(StorageError::Unavailable(format!("session {}: too much contention", seen.id)))
    }

    /// Commits `items`, whose first is the conditional session update; a failed condition
    /// reports the session as it is.
    async fn conditional(
        &self,
        seen: &Session,
        items: Vec<TransactWriteItem>,
        written: Session,
    ) -> StorageResult<WriteOutcome> {
        let _turn = self.session_turn(seen.id).await;
        for attempt in 0..MAX_ATTEMPTS {
            match self.transact(items.clone()).await {
                Ok(()) => return Ok(WriteOutcome::Written(written)),
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.first()) => {
                    return Ok(WriteOutcome::Stale(current_session(seen.id, reasons[0].item.clone())?));
                }
                Err(TransactionFailure::Cancelled(reasons))
                    if reasons.iter().skip(1).any(|r| failed_condition(Some(r))) =>
                {
                    return Err(StorageError::Malformed(format!(
                        "session {}: its other items disagree with it",
                        seen.id
                    )));
                }
                Err(TransactionFailure::Cancelled(_)) => back_off(attempt).await,
            }
        }
        Err(StorageError::Unavailable(format!("session {}: too much contention", seen.id)))
    }

    /// One conditional `UpdateItem` in the usual case, a mark up to the newest message of
    /// the other party: the read count is then that party's message count, copied in the
    /// same update. Otherwise (a mark below it, or above the session's last message) the
    /// session is read, and for a read mark the other party's messages above the mark are
    /// counted, before the update.
    pub(super) async fn mark(
        &self,
        session_id: SessionId,
        reader: SenderType,
        kind: ReceiptKind,
        up_to: MessageId,
        now: Timestamp,
    ) -> StorageResult<Option<Session>> {
        let receipts = match reader {
            SenderType::Store => "store_receipts",
            SenderType::Admin => "admin_receipts",
        };
        let (other_count, other_last) = match reader.other() {
            SenderType::Store => ("store_message_count", "last_store_message_id"),
            SenderType::Admin => ("admin_message_count", "last_admin_message_id"),
        };
        let mark = |up_to: MessageId| {
            let update = SessionUpdate::new().require("last_message_id >= {}", n(up_to));
            match kind {
                ReceiptKind::Delivered => update
                    .set(&format!("{receipts}.delivered_up_to"), n(up_to))
                    .set(&format!("{receipts}.delivered_at"), s(now.to_string()))
                    .require(&format!("{receipts}.delivered_up_to < {{}}"), n(up_to)),
                ReceiptKind::Read => update
                    .set(&format!("{receipts}.read_up_to"), n(up_to))
                    .set(&format!("{receipts}.read_at"), s(now.to_string()))
                    .require(&format!("{receipts}.read_up_to < {{}}"), n(up_to)),
            }
        };
        let fast = match kind {
            ReceiptKind::Delivered => mark(up_to),
            ReceiptKind::Read => mark(up_to)
                .copy(&format!("{receipts}.read_count"), other_count)
                .require(&format!("{other_last} <= {{}}"), n(up_to)),
        };
        let current = match fast.send(self, session_id).await? {
            Ok(session) => return Ok(Some(session)),
            Err(Some(current)) => current,
            Err(None) => return Ok(None),
        };
        let up_to = up_to.min(current.last_message_id);
        let already = current.receipts_of(reader);
        let covered = match kind {
            ReceiptKind::Delivered => already.delivered_up_to,
            ReceiptKind::Read => already.read_up_to,
        };
        if up_to <= covered {
            return Ok(Some(current));
        }
        let slow = match kind {
            ReceiptKind::Delivered => mark(up_to),
            ReceiptKind::Read => {
                let above = if up_to < current.last_message_from(reader.other()) {
                    self.message_range(session_id, up_to + 1, current.last_message_id, usize::MAX).await?
                } else {
                    Vec::new()
                };
                let count = read_count_at(&current, reader, up_to, &above);
                mark(up_to).set(&format!("{receipts}.read_count"), n(count))
            }
        };
        // Lost to a concurrent, higher mark: the session as it is.
        Ok(match slow.send(self, session_id).await? {
            Ok(session) | Err(Some(session)) => Some(session),
            Err(None) => None,
        })
    }

    pub(super) async fn tag(&self, seen: &Session, tags: Vec<String>, now: Timestamp) -> StorageResult<WriteOutcome> {
        let written = Session { tags: tags.clone(), updated: now, revision: seen.revision + 1, ..seen.clone() };
        let update = SessionUpdate::new()
            .set("tags", to_attribute(&tags)?)
            .set("updated", s(now.to_string()))
            .add("revision", n(1))
            .require("revision = {}", n(seen.revision));
        let mut items = vec![update.in_transaction(self, seen.id)];
        if seen.status.is_active() {
            items.push(self.sync_pointer(&written)?);
        }
        if let Some(bucket) = Bucket::of(seen.status, seen.admin_id) {
            let removed: Vec<String> = seen.tags.iter().filter(|t| !tags.contains(t)).cloned().collect();
            let added: Vec<String> = tags.iter().filter(|t| !seen.tags.contains(t)).cloned().collect();
            if !removed.is_empty() || !added.is_empty() {
                items.push(self.count(&bucket, 1, Counted::Retagged { removed: &removed, added: &added }));
            }
        }
        self.conditional(seen, items, written).await
    }

    /// Keeps the store's pointer in step with its active session, in the same transaction:
    /// a copy of the lifecycle while active, gone once closed.
    fn sync_pointer(&self, session: &Session) -> StorageResult<TransactWriteItem> {
        if session.status == SessionStatus::Closed {
            let release = Delete::builder()
                .table_name(&self.table)
                .key("PK", s(store_pk(session.store.id)))
                .key("SK", s(ACTIVE_SK))
                .condition_expression("session_id = :id")
                .expression_attribute_values(":id", n(session.id))
                .build()
                .expect("table, key and condition are set");
            return Ok(TransactWriteItem::builder().delete(release).build());
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&PointerItem::to(session))?))
            .condition_expression("session_id = :id")
            .expression_attribute_values(":id", n(session.id))
            .build()
            .expect("table, item and condition are set");
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Closes a store's active session from its pointer alone: one read, one transaction.
    pub(super) async fn close_active(
        &self,
        store: StoreId,
        mut now: Timestamp,
    ) -> StorageResult<Option<ClosedSession>> {
        for attempt in 0..MAX_ATTEMPTS {
            let Some(pointer) = self.get(store_pk(store), ACTIVE_SK).await? else {
                return Ok(None);
            };
            let pointer: PointerItem = from_item(pointer)?;
            let closed = ClosedSession {
                id: pointer.session_id,
                status: SessionStatus::Closed,
                admin_id: pointer.admin_id,
                closed_at: now,
            };
            let update = SessionUpdate::new()
                .set("#status", s(status_name(SessionStatus::Closed)))
                .set("updated", s(now.to_string()))
                .set("closed_at", s(now.to_string()))
                .add("revision", n(1))
                .remove("QueuePK")
                .require("revision = {}", n(pointer.revision))
                .require("last_message_at <= {}", s(now.to_string()));
            let release = Delete::builder()
                .table_name(&self.table)
                .key("PK", s(store_pk(store)))
                .key("SK", s(ACTIVE_SK))
                .condition_expression("revision = :revision")
                .expression_attribute_values(":revision", n(pointer.revision))
                .build()
                .expect("table, key and condition are set");
            let mut items = vec![
                update.in_transaction(self, pointer.session_id),
                TransactWriteItem::builder().delete(release).build(),
            ];
            if let Some(from) = Bucket::of(pointer.status, pointer.admin_id) {
                items.push(self.count(&from, -1, Counted::Session(&pointer.tags)));
            }
            if let Some(to) = Bucket::of(SessionStatus::Closed, pointer.admin_id) {
                items.push(self.count(&to, 1, Counted::Session(&pointer.tags)));
            }
            let _turn = self.session_turn(pointer.session_id).await;
            match self.transact(items).await {
                Ok(()) => return Ok(Some(closed)),
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                // Changed since the pointer was read (claimed, tagged, closed), or a message
                // dated after `now` (another writer's clock) committed first: read again.
                Err(TransactionFailure::Cancelled(reasons)) => {
                    if let Some(current) = reasons.into_iter().next().filter(|r| failed_condition(Some(r))) {
                        now = current_session(pointer.session_id, current.item)?.time_of_change(now);
                    }
                    back_off(attempt).await
                }
            }
        }
        Err(StorageError::Unavailable(format!("store {store}: too much contention closing its session")))
    }

    pub(super) async fn rate(
        &self,
        seen: &Session,
        rating: u8,
        feedback: Option<String>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        let written = Session { rating: Some(rating), feedback: feedback.clone(), updated: now, ..seen.clone() };
        let update = SessionUpdate::new()
            .set("rating", n(rating))
            .set("feedback", to_attribute(&feedback)?)
            .set("updated", s(now.to_string()))
            .require("#status = {}", s(status_name(SessionStatus::Closed)))
            .require("(attribute_not_exists(rating) OR attribute_type(rating, {}))", s("NULL"));
        match update.send(self, seen.id).await? {
            Ok(_) => Ok(WriteOutcome::Written(written)),
            Err(Some(current)) => Ok(WriteOutcome::Stale(current)),
            Err(None) => Err(StorageError::Malformed(format!("session {} vanished", seen.id))),
        }
    }
}
