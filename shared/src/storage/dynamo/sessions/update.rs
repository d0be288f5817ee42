//! A session change as DynamoDB writes it: the domain's conditions and effects
//! ([`SessionChange`]), each translated on its own into one condition and update
//! expression, with the index keys that follow the fields they index.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::super::DynamoStore;
use super::super::items::*;
use crate::domain::{
    Condition, Effect, EmailKind, ReceiptKind, SendCharge, SendWindow, SenderType, Session, SessionChange, SessionId,
    SessionStatus,
};
use crate::storage::StorageResult;

/// How many places right before its own an in-order send forgets as given up.
const SKIPPED_FORGOTTEN: u64 = 16;

/// One `Update` of a session item.
pub(in crate::storage::dynamo) struct SessionUpdate {
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    delete: Vec<String>,
    condition: Vec<String>,
    values: HashMap<String, AttributeValue>,
}

impl SessionUpdate {
    /// `change` of session `id`.
    pub(in crate::storage::dynamo) fn of(id: SessionId, change: &SessionChange) -> StorageResult<Self> {
        let mut update = SessionUpdate::new();
        for condition in change.conditions() {
            update = update.meet(condition);
        }
        for effect in change.effects() {
            update = update.effect(id, effect)?;
        }
        Ok(update)
    }

    /// The message takes place `number` in the session's order of sends (see
    /// [`super::ids`]); `in_order`, only right after the place before it: that place's
    /// message is committed, or its sender gave it up (which is then forgotten).
    pub(super) fn at_place(mut self, number: u64, in_order: bool) -> Self {
        if in_order {
            match number.checked_sub(1).filter(|before| *before > 0) {
                Some(before) => {
                    let (at, set) = (self.placeholder(0), self.placeholder(1));
                    self.condition.push(format!("(last_place = {at} OR contains(skipped_places, {at}))"));
                    self.delete.push(format!("skipped_places {set}"));
                    self.values.insert(at, n(before));
                    // The places given up right before this one go from the record with it
                    // (a run of sends refused at their limit, say), absent ones harmlessly.
                    let given_up = (before.saturating_sub(SKIPPED_FORGOTTEN).max(1)..=before).map(|p| p.to_string());
                    self.values.insert(set, AttributeValue::Ns(given_up.collect()));
                }
                None => self.condition.push("attribute_not_exists(last_place)".to_owned()),
            }
        }
        self.set("last_place", n(number))
    }

    fn placeholder(&self, after: usize) -> String {
        format!(":v{}", self.values.len() + after)
    }

    fn meet(self, condition: Condition) -> Self {
        match condition {
            Condition::Revision(revision) => self.require("revision = {}", n(revision)),
            Condition::NotClosed => self.require("#status <> {}", s(status_name(SessionStatus::Closed))),
            Condition::Closed => self.require("#status = {}", s(status_name(SessionStatus::Closed))),
            // An item written before ratings existed may hold a null.
            Condition::Unrated => {
                self.require("(attribute_not_exists(rating) OR attribute_type(rating, {}))", s("NULL"))
            }
            Condition::LastMessageAtMost(at) => self.require("last_message_at <= {}", s(at.to_string())),
            Condition::LastMessageIdBelow(id) => self.require("last_message_id < {}", n(id)),
            Condition::LastMessageIdAtLeast(id) => self.require("last_message_id >= {}", n(id)),
            Condition::AwaitingReplySince(None) => self.require_absent("awaiting_reply_since"),
            Condition::AwaitingReplySince(Some(since)) => {
                self.require("awaiting_reply_since = {}", s(since.to_string()))
            }
            Condition::MarkBelow(reader, kind, id) => {
                self.require(&format!("{} < {{}}", mark_path(reader, kind, "up_to")), n(id))
            }
            Condition::LastMessageFromAtMost(party, id) => {
                self.require(&format!("{} <= {{}}", last_message_from(party)), n(id))
            }
            Condition::NoAwayReply => self.require_absent("away_replied_at"),
            Condition::DigestedBelow(id) => {
                self.require("(attribute_not_exists(digested_up_to) OR digested_up_to < {})", n(id))
            }
            Condition::NoDigestSince(since) => {
                self.require("(attribute_not_exists(digested_at) OR digested_at < {})", s(since.to_string()))
            }
            Condition::NotEmailed(kind) => self.require_absent(emailed_at(kind)),
            Condition::Sends(party, SendCharge::Opens { minute }) => {
                let window = sends(party);
                self.require(&format!("(attribute_not_exists({window}) OR {window}.in_minute < {{}})"), n(minute))
            }
            Condition::Sends(party, SendCharge::Adds { minute, limit }) => {
                let window = sends(party);
                self.require(&format!("{window}.in_minute = {{}}"), n(minute))
                    .require(&format!("{window}.sent < {{}}"), n(limit))
            }
        }
    }

    fn effect(self, id: SessionId, effect: Effect) -> StorageResult<Self> {
        Ok(match effect {
            Effect::Status(status) => {
                let update = self.set("#status", s(status_name(status)));
                // Only open sessions are in the `OpenQueue` index, closed ones in `ClosedSessions`.
                match status {
                    SessionStatus::Open => update.set("QueuePK", s(OPEN_QUEUE)),
                    SessionStatus::Claimed => update.remove("QueuePK"),
                    SessionStatus::Closed => update.remove("QueuePK").set("ClosedPK", s(CLOSED)),
                }
            }
            Effect::AdminId(admin_id) => {
                let update = self.set("admin_id", to_attribute(&admin_id)?);
                match admin_id {
                    Some(admin) => update.set("AdminPK", s(admin_pk(admin))),
                    None => update.remove("AdminPK"),
                }
            }
            // Absent when false, as the item is first written.
            Effect::Assigned(true) => self.set("assigned", AttributeValue::Bool(true)),
            Effect::Assigned(false) => self.remove("assigned"),
            Effect::PickedUp(admin, at) => {
                self.set_if_absent("picked_up_by", n(admin.0)).set_if_absent("picked_up_at", s(at.to_string()))
            }
            Effect::Updated(at) => self.set("updated", s(at.to_string())),
            Effect::ClosedAt(at) => self.set("closed_at", s(at.to_string())),
            Effect::NextRevision => self.add("revision", n(1)),
            Effect::LastMessageId(message) => self.set("last_message_id", n(message)),
            Effect::LastMessageAt(at) => {
                self.set("last_message_at", s(at.to_string())).set("ActivityKey", s(activity_key(at, id)))
            }
            Effect::LastMessage(message) => self.set("last_message", to_attribute(&message)?),
            Effect::LastMessageFrom(party, message) => self.set(last_message_from(party), n(message)),
            Effect::CountMessageFrom(party) => self.add(message_count(party), n(1)),
            Effect::StartWaiting(at) => self.set_if_absent("awaiting_reply_since", s(at.to_string())),
            // The `WaitingQueue` index sorts by it while the session is open.
            Effect::Queued(at) => {
                self.set_if_absent("queued_at", s(at.to_string())).set_if_absent("WaitingKey", s(activity_key(at, id)))
            }
            Effect::Answered { waited_ms } => {
                self.remove("awaiting_reply_since").add("reply_ms_total", n(waited_ms)).add("reply_count", n(1))
            }
            Effect::Mark(reader, kind, up_to, at) => self
                .set(&mark_path(reader, kind, "up_to"), n(up_to))
                .set(&mark_path(reader, kind, "at"), s(at.to_string())),
            Effect::ReadCount(reader, count) => self.set(&read_count(reader), n(count)),
            Effect::ReadAll(reader) => self.copy(&read_count(reader), message_count(reader.other())),
            Effect::Tags(tags) => self.set("tags", to_attribute(&tags)?),
            Effect::Rating(rating) => self.set("rating", n(rating)),
            Effect::Feedback(feedback) => self.set("feedback", to_attribute(&feedback)?),
            Effect::AwayReplied(at) => self.set("away_replied_at", s(at.to_string())),
            Effect::Digested(up_to, at) => self.set("digested_up_to", n(up_to)).set("digested_at", s(at.to_string())),
            Effect::Emailed(kind, at) => self.set(emailed_at(kind), s(at.to_string())),
            Effect::Sends(party, charge @ SendCharge::Opens { .. }) => {
                self.set(sends(party), to_attribute(&charge.applied(SendWindow::default()))?)
            }
            // `ADD` takes top-level attributes only.
            Effect::Sends(party, SendCharge::Adds { .. }) => self.increment(&format!("{}.sent", sends(party))),
        })
    }

    fn new() -> Self {
        SessionUpdate {
            set: vec![],
            add: vec![],
            remove: vec![],
            delete: vec![],
            condition: vec![],
            values: HashMap::new(),
        }
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

    /// Adds one to the number at `path`, which may be within a map.
    fn increment(mut self, path: &str) -> Self {
        let placeholder = format!(":v{}", self.values.len());
        self.set.push(format!("{path} = {path} + {placeholder}"));
        self.values.insert(placeholder, n(1));
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
        let clauses = [("SET", &self.set), ("ADD", &self.add), ("REMOVE", &self.remove), ("DELETE", &self.delete)];
        for (keyword, clauses) in clauses {
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

    pub(in crate::storage::dynamo) fn in_transaction(self, store: &DynamoStore, id: SessionId) -> TransactWriteItem {
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
    pub(super) async fn send(
        self,
        store: &DynamoStore,
        id: SessionId,
    ) -> StorageResult<Result<Session, Option<Session>>> {
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

/// The attributes of a session item, as [`Session`] names its fields.
fn message_count(party: SenderType) -> &'static str {
    match party {
        SenderType::Store => "store_message_count",
        SenderType::Admin => "admin_message_count",
    }
}

fn last_message_from(party: SenderType) -> &'static str {
    match party {
        SenderType::Store => "last_store_message_id",
        SenderType::Admin => "last_admin_message_id",
    }
}

fn receipts(reader: SenderType) -> &'static str {
    match reader {
        SenderType::Store => "store_receipts",
        SenderType::Admin => "admin_receipts",
    }
}

/// `reader`'s mark of `kind`: its `up_to` or its `at`.
fn mark_path(reader: SenderType, kind: ReceiptKind, field: &str) -> String {
    let kind = match kind {
        ReceiptKind::Delivered => "delivered",
        ReceiptKind::Read => "read",
    };
    format!("{}.{kind}_{field}", receipts(reader))
}

fn read_count(reader: SenderType) -> String {
    format!("{}.read_count", receipts(reader))
}

/// The attribute that records when a mail of `kind` went out about a session.
fn emailed_at(kind: EmailKind) -> &'static str {
    match kind {
        EmailKind::OnCall => "on_call_emailed_at",
        EmailKind::Transcript => "transcript_emailed_at",
    }
}

/// The attribute of `party`'s sends in the minute.
fn sends(party: SenderType) -> &'static str {
    match party {
        SenderType::Store => "store_sends",
        SenderType::Admin => "admin_sends",
    }
}
