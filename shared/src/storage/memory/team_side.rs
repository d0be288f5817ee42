use async_trait::async_trait;

use super::MemoryStore;
use crate::Timestamp;
use crate::domain::{
    AdminId, Message, MessageId, MessageRevision, Note, ReplyScope, RevisionRecord, SavedReply, Session, SessionChange,
    SessionId,
};
use crate::storage::{RevisionOutcome, SaveOutcome, StorageError, StorageResult, TeamSideStore};

#[async_trait]
impl TeamSideStore for MemoryStore {
    async fn message(&self, session: SessionId, id: MessageId) -> StorageResult<Option<Message>> {
        let state = self.state();
        Ok(state.sessions.get(&session).and_then(|data| data.messages.get(&id)).cloned())
    }

    async fn revise_message(
        &self,
        session: &Session,
        message: &Message,
        revision: &MessageRevision,
    ) -> StorageResult<RevisionOutcome> {
        let mut state = self.state();
        let data = state.session_mut(session.id)?;
        let current = (data.messages.get(&message.id))
            .ok_or_else(|| StorageError::Malformed(format!("message {} vanished", message.id)))?
            .clone();
        if !revision.condition.holds(&current) {
            return Ok(RevisionOutcome::Refused(current));
        }
        let revised = revision.applied_to(&current);
        data.messages.insert(revised.id, revised.clone());
        let last = SessionChange::Revise { message: Box::new(revised.clone()) };
        if let Ok(changed) = last.apply(&data.session) {
            state.write_session(changed)?;
        }
        state.revisions.entry((session.id, message.id)).or_default().push(revision.record(&current));
        state.feed.message_revised(&revised);
        Ok(RevisionOutcome::Revised(revised))
    }

    async fn revisions(&self, session: SessionId, message: MessageId) -> StorageResult<Vec<RevisionRecord>> {
        Ok(self.state().revisions.get(&(session, message)).cloned().unwrap_or_default())
    }

    async fn add_note(
        &self,
        session: SessionId,
        admin: AdminId,
        content: String,
        at: Timestamp,
    ) -> StorageResult<Note> {
        let mut state = self.state();
        state.last_note_id.0 += 1;
        let note = Note { id: state.last_note_id, session_id: session, admin_id: admin, content, created: at };
        state.notes.entry(session).or_default().push(note.clone());
        state.feed.note_added(&note);
        Ok(note)
    }

    async fn notes(&self, session: SessionId, limit: usize) -> StorageResult<(Vec<Note>, bool)> {
        let state = self.state();
        let notes = state.notes.get(&session).map(Vec::as_slice).unwrap_or_default();
        let from = notes.len().saturating_sub(limit);
        Ok((notes[from..].to_vec(), from > 0))
    }

    async fn saved_replies(&self, admin: AdminId) -> StorageResult<Vec<SavedReply>> {
        let state = self.state();
        let mut replies: Vec<SavedReply> = (state.saved_replies.values())
            .filter(|reply| matches!(reply.scope, ReplyScope::Team) || reply.scope == ReplyScope::Personal(admin))
            .cloned()
            .collect();
        replies.sort_by(|a, b| a.shortcut.cmp(&b.shortcut));
        Ok(replies)
    }

    async fn save_reply(&self, reply: SavedReply) -> StorageResult<SaveOutcome> {
        let mut state = self.state();
        let key = (reply.scope, reply.shortcut.clone());
        if let Some(saved) = state.saved_replies.get_mut(&key) {
            *saved = reply;
            return Ok(SaveOutcome::Replaced);
        }
        let in_scope = state.saved_replies.keys().filter(|(scope, _)| *scope == reply.scope).count();
        if in_scope as u64 >= crate::domain::MAX_SAVED_REPLIES {
            return Ok(SaveOutcome::Full);
        }
        state.saved_replies.insert(key, reply);
        Ok(SaveOutcome::Created)
    }

    async fn delete_reply(&self, scope: ReplyScope, shortcut: &str) -> StorageResult<bool> {
        Ok(self.state().saved_replies.remove(&(scope, shortcut.to_owned())).is_some())
    }
}
