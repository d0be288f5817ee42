//! What the team keeps about its work beside the sessions: private notes, the audit trail
//! of edited and deleted messages, and saved replies. None of it is where a store's reads
//! go: notes and the trail live apart from the session's messages.

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::{
    AdminId, Message, MessageId, MessageRevision, Note, ReplyScope, RevisionRecord, SavedReply, Session, SessionId,
};

/// What a revision came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevisionOutcome {
    /// Committed with its record in the trail: the message as it now is.
    Revised(Message),
    /// Its condition no longer holds; nothing was written. The message as it now is.
    Refused(Message),
}

/// What saving a reply came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    Created,
    Replaced,
    /// Its scope holds [`crate::domain::MAX_SAVED_REPLIES`] already; nothing was written.
    Full,
}

#[async_trait]
pub trait TeamSideStore: Send + Sync + 'static {
    /// One message of `session`, if it has it.
    async fn message(&self, session: SessionId, id: MessageId) -> StorageResult<Option<Message>>;
    /// Revises `message` (as read) if `revision`'s condition holds of it as it is, with the
    /// trail's record of what it said before in the same write; the copy of the session's
    /// last message (in `session`, as read) follows when it is that one.
    async fn revise_message(
        &self,
        session: &Session,
        message: &Message,
        revision: &MessageRevision,
    ) -> StorageResult<RevisionOutcome>;
    /// The trail of `message`, oldest first.
    async fn revisions(&self, session: SessionId, message: MessageId) -> StorageResult<Vec<RevisionRecord>>;

    /// Adds a note to `session` with a fresh id, dated `at`.
    async fn add_note(&self, session: SessionId, admin: AdminId, content: String, at: Timestamp)
    -> StorageResult<Note>;
    /// The newest `limit` notes of `session`, ascending, and whether there are older ones.
    async fn notes(&self, session: SessionId, limit: usize) -> StorageResult<(Vec<Note>, bool)>;

    /// The team's saved replies and `admin`'s own, by shortcut.
    async fn saved_replies(&self, admin: AdminId) -> StorageResult<Vec<SavedReply>>;
    /// Creates or replaces the reply with its shortcut in its scope, within the scope's limit.
    async fn save_reply(&self, reply: SavedReply) -> StorageResult<SaveOutcome>;
    /// Deletes the reply with `shortcut` in `scope`; whether there was one.
    async fn delete_reply(&self, scope: ReplyScope, shortcut: &str) -> StorageResult<bool>;
}
