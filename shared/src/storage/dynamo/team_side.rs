//! The team's side of sessions in the table:
//!
//! | item | PK | SK |
//! |---|---|---|
//! | note | `TEAM#SESSION#<id>` | `NOTE#<written at>#<20-digit id>` |
//! | a message's revision (what it said before) | `TEAM#SESSION#<id>` | `REVISION#<20-digit message id>#<10-digit version>` |
//! | saved reply | `REPLIES#team` or `REPLIES#admin#<id>` | `REPLY#<shortcut>` |
//! | how many replies a scope holds | `REPLIES#…` | `COUNT` |
//!
//! A store's reads query `SESSION#<id>` only, so no note and no earlier version can reach
//! one. A revision is one transaction: the message put back revised on the condition that
//! it is still the version read, its record beside it, and the session's copy of its last
//! message when it is that one.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::items::*;
use super::sessions::SessionUpdate;
use super::{DynamoStore, MAX_ATTEMPTS, TransactionFailure, back_off};
use crate::Timestamp;
use crate::domain::{
    AdminId, MAX_SAVED_REPLIES, Message, MessageId, MessageRevision, Note, NoteId, ReplyScope, RevisionRecord,
    SavedReply, Session, SessionChange, SessionId,
};
use crate::storage::{RevisionOutcome, SaveOutcome, StorageError, StorageResult, TeamSideStore};

const REPLY_SK_PREFIX: &str = "REPLY#";
const REPLY_COUNT_SK: &str = "COUNT";

fn replies_pk(scope: ReplyScope) -> String {
    match scope {
        ReplyScope::Team => "REPLIES#team".to_owned(),
        ReplyScope::Personal(admin) => format!("REPLIES#admin#{admin}"),
    }
}

fn revision_sk(message: MessageId, version: u32) -> String {
    format!("{}{version:010}", revisions_sk_prefix(message))
}

#[async_trait]
impl TeamSideStore for DynamoStore {
    async fn message(&self, session: SessionId, id: MessageId) -> StorageResult<Option<Message>> {
        self.get(session_pk(session), &message_sk(id)).await?.map(message_from).transpose()
    }

    async fn revise_message(
        &self,
        session: &Session,
        message: &Message,
        revision: &MessageRevision,
    ) -> StorageResult<RevisionOutcome> {
        let revised = revision.applied_to(message);
        let record = revision.record(message);
        let mut record_item = to_item(&record)?;
        record_item.insert("PK".into(), s(team_side_pk(session.id)));
        record_item.insert("SK".into(), s(revision_sk(message.id, record.version)));
        let condition = &revision.condition;
        let put_message = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&MessageItem::new(revised.clone()))?))
            .condition_expression(if condition.version == 0 {
                "attribute_exists(PK) AND attribute_not_exists(version) AND attribute_not_exists(deleted_at) \
                 AND created >= :start"
            } else {
                "attribute_exists(PK) AND version = :version AND attribute_not_exists(deleted_at) \
                 AND created >= :start"
            })
            .set_expression_attribute_values(Some(HashMap::from_iter(
                [(":start".to_owned(), s(condition.sent_at_or_after.to_string()))]
                    .into_iter()
                    .chain((condition.version > 0).then(|| (":version".to_owned(), n(condition.version)))),
            )))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StorageError::Malformed(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().put(put_message).build(), self.put_new(record_item)];
        // The session's copy of its last message follows, while it is this one.
        if session.last_message_id == message.id {
            let follow = SessionChange::Revise { message: Box::new(revised.clone()) };
            items.push(SessionUpdate::of(session.id, &follow)?.in_transaction(self, session.id));
        }
        let _turn = self.session_turn(session.id).await;
        for attempt in 0..MAX_ATTEMPTS {
            match self.transact(items.clone()).await {
                Ok(()) => return Ok(RevisionOutcome::Revised(revised)),
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.first()) => {
                    let current = reasons[0].item.clone().ok_or_else(|| {
                        StorageError::Malformed(format!("message {} of session {} vanished", message.id, session.id))
                    })?;
                    return Ok(RevisionOutcome::Refused(message_from(current)?));
                }
                // A newer message is the session's last now: its copy is not this one's.
                Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.get(2)) => {
                    items.truncate(2);
                }
                Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.get(1)) => {
                    return Err(StorageError::Malformed(format!(
                        "message {} of session {}: its trail disagrees with it",
                        message.id, session.id
                    )));
                }
                Err(TransactionFailure::Cancelled(_)) => back_off(attempt).await,
            }
        }
        Err(StorageError::Unavailable(format!("session {}: too much contention", session.id)))
    }

    async fn revisions(&self, session: SessionId, message: MessageId) -> StorageResult<Vec<RevisionRecord>> {
        let query = self.prefix_query(team_side_pk(session), &revisions_sk_prefix(message));
        self.query_items(query, usize::MAX).await?.into_iter().map(from_item).collect()
    }

    async fn add_note(
        &self,
        session: SessionId,
        admin: AdminId,
        content: String,
        at: Timestamp,
    ) -> StorageResult<Note> {
        let note = Note {
            id: NoteId(self.next_id(&self.note_ids).await?),
            session_id: session,
            admin_id: admin,
            content,
            created: at,
        };
        let mut item = to_item(&note)?;
        item.insert("PK".into(), s(team_side_pk(session)));
        item.insert("SK".into(), s(note_sk(&note)));
        self.put(item).await?;
        Ok(note)
    }

    async fn notes(&self, session: SessionId, limit: usize) -> StorageResult<(Vec<Note>, bool)> {
        let query = (self.prefix_query(team_side_pk(session), NOTE_SK_PREFIX))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        let mut notes: Vec<Note> =
            self.query_items(query, limit + 1).await?.into_iter().map(from_item).collect::<Result<_, _>>()?;
        let more = notes.len() > limit;
        notes.truncate(limit);
        notes.reverse();
        Ok((notes, more))
    }

    async fn saved_replies(&self, admin: AdminId) -> StorageResult<Vec<SavedReply>> {
        let scope_query =
            |scope: ReplyScope| self.query_items(self.prefix_query(replies_pk(scope), REPLY_SK_PREFIX), usize::MAX);
        let (team, own) = tokio::join!(scope_query(ReplyScope::Team), scope_query(ReplyScope::Personal(admin)));
        let mut replies: Vec<SavedReply> = team?.into_iter().chain(own?).map(reply_from).collect::<Result<_, _>>()?;
        replies.sort_by(|a, b| a.shortcut.cmp(&b.shortcut));
        Ok(replies)
    }

    async fn save_reply(&self, reply: SavedReply) -> StorageResult<SaveOutcome> {
        let item = reply_item(&reply);
        for attempt in 0..MAX_ATTEMPTS {
            // Most saves replace a reply: one conditional put.
            let replaced = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_exists(PK)")
                .send()
                .await;
            match replaced {
                Ok(_) => return Ok(SaveOutcome::Replaced),
                Err(error) if !is_failed_condition(&error) => return Err(unavailable(error)),
                Err(_) => {}
            }
            // A new one is counted in the same write, within the scope's limit.
            let count = Update::builder()
                .table_name(&self.table)
                .key("PK", s(replies_pk(reply.scope)))
                .key("SK", s(REPLY_COUNT_SK))
                .update_expression("ADD #count :one")
                .condition_expression("attribute_not_exists(#count) OR #count < :max")
                .expression_attribute_names("#count", "count")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":max", n(MAX_SAVED_REPLIES))
                .build()
                .map_err(|e| StorageError::Malformed(e.to_string()))?;
            let items = vec![self.put_new(item.clone()), TransactWriteItem::builder().update(count).build()];
            match self.transact(items).await {
                Ok(()) => return Ok(SaveOutcome::Created),
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                // Created meanwhile: replaced on the next try, whatever the count says.
                Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.first()) => {}
                Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.get(1)) => {
                    return Ok(SaveOutcome::Full);
                }
                Err(TransactionFailure::Cancelled(_)) => back_off(attempt).await,
            }
        }
        Err(StorageError::Unavailable("saved replies: too much contention".into()))
    }

    async fn delete_reply(&self, scope: ReplyScope, shortcut: &str) -> StorageResult<bool> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("PK", s(replies_pk(scope)))
            .key("SK", s(format!("{REPLY_SK_PREFIX}{shortcut}")))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(|e| StorageError::Malformed(e.to_string()))?;
        let count = Update::builder()
            .table_name(&self.table)
            .key("PK", s(replies_pk(scope)))
            .key("SK", s(REPLY_COUNT_SK))
            .update_expression("ADD #count :minus_one")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus_one", n(-1))
            .build()
            .map_err(|e| StorageError::Malformed(e.to_string()))?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        for attempt in 0..MAX_ATTEMPTS {
            match self.transact(items.clone()).await {
                Ok(()) => return Ok(true),
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.first()) => return Ok(false),
                Err(TransactionFailure::Cancelled(_)) => back_off(attempt).await,
            }
        }
        Err(StorageError::Unavailable("saved replies: too much contention".into()))
    }
}

fn is_failed_condition<R>(
    error: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>,
) -> bool {
    matches!(
        error.as_service_error(),
        Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
    )
}

fn reply_item(reply: &SavedReply) -> Item {
    let mut item = HashMap::from([
        ("PK".to_owned(), s(replies_pk(reply.scope))),
        ("SK".to_owned(), s(format!("{REPLY_SK_PREFIX}{}", reply.shortcut))),
        ("shortcut".to_owned(), s(reply.shortcut.as_str())),
        ("content".to_owned(), s(reply.content.as_str())),
        ("updated".to_owned(), s(reply.updated.to_string())),
        ("updated_by".to_owned(), n(reply.updated_by)),
    ]);
    if let ReplyScope::Personal(admin) = reply.scope {
        item.insert("admin_id".to_owned(), n(admin));
    }
    item
}

fn reply_from(mut item: Item) -> StorageResult<SavedReply> {
    let malformed = |field: &str| StorageError::Malformed(format!("saved reply item: {field} is missing or mistyped"));
    let mut text = |field: &str| match item.remove(field) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(malformed(field)),
    };
    let (shortcut, content, updated) = (text("shortcut")?, text("content")?, text("updated")?);
    let mut number = |field: &str| match item.remove(field) {
        Some(AttributeValue::N(value)) => value.parse::<u64>().map(Some).map_err(|_| malformed(field)),
        None => Ok(None),
        Some(_) => Err(malformed(field)),
    };
    let updated_by = AdminId(number("updated_by")?.ok_or_else(|| malformed("updated_by"))?);
    let scope = number("admin_id")?.map_or(ReplyScope::Team, |admin| ReplyScope::Personal(AdminId(admin)));
    let updated = Timestamp::parse(&updated).map_err(|_| malformed("updated"))?;
    Ok(SavedReply { shortcut, content, scope, updated, updated_by })
}
