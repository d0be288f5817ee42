//! The embedded store: the whole model in one mutex-guarded map. It keeps the same
//! invariants as the DynamoDB store and passes the same conformance suite: session changes
//! are the domain's, applied as they are ([`crate::domain::SessionChange::apply`]); counts
//! of lists are computed from the map, which is as cheap as keeping counters at this size.

mod connections;
mod desks;
mod email;
mod erasure;
mod feed;
mod identities;
mod reports;
mod sessions;
mod team_side;
mod webhooks;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use super::{SessionPage, StorageError, StorageResult};
use crate::Timestamp;
use crate::domain::{
    AdminId, AdminProfile, BusinessHours, ChangeRecord, Connection, Desk, Message, MessageId, Note, NoteId, Principal,
    Recipient, ReplyScope, RevisionRecord, SavedReply, Session, SessionId, StoreId, StoreProfile, Subscription,
    TokenGrant, TokenHash,
};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    stores: HashMap<StoreId, StoreProfile>,
    admins: HashMap<AdminId, AdminProfile>,
    tokens: HashMap<TokenHash, TokenGrant>,
    locales: HashMap<Principal, String>,
    deactivated: HashMap<Principal, Timestamp>,
    active: HashMap<StoreId, SessionId>,
    /// Each store's most recently closed session.
    latest: HashMap<StoreId, SessionId>,
    sessions: HashMap<SessionId, SessionData>,
    last_session_id: SessionId,
    last_message_id: MessageId,
    connections: HashMap<String, Connection>,
    desks: HashMap<AdminId, Desk>,
    business_hours: Option<BusinessHours>,
    email_link_key: LinkKey,
    unsubscribed: HashMap<Recipient, Timestamp>,
    webhooks: Vec<Subscription>,
    webhook_logs: HashMap<String, webhooks::WebhookLog>,
    notes: HashMap<SessionId, Vec<Note>>,
    last_note_id: NoteId,
    revisions: HashMap<(SessionId, MessageId), Vec<RevisionRecord>>,
    saved_replies: HashMap<(ReplyScope, String), SavedReply>,
    erasures: HashMap<StoreId, crate::domain::ErasureRecord>,
    feed: feed::ChangeFeed,
    tallies: crate::domain::Tallies,
    /// The ids of the figure changes recorded.
    figure_ids: HashSet<String>,
}

/// The key that signs unsubscribe links: a secret, which the store's `Debug` leaves out.
#[derive(Default)]
struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "LinkKey(none)" } else { "LinkKey(…)" })
    }
}

#[derive(Debug)]
struct SessionData {
    session: Session,
    messages: BTreeMap<MessageId, Message>,
    /// By [`crate::domain::NewMessage::idempotency_key`].
    by_client_id: HashMap<String, MessageId>,
    /// The message each attached upload belongs to.
    by_upload_id: HashMap<String, MessageId>,
}

impl SessionData {
    fn new(session: Session) -> Self {
        SessionData { session, messages: BTreeMap::new(), by_client_id: HashMap::new(), by_upload_id: HashMap::new() }
    }

    fn page(&self, newest: usize) -> SessionPage {
        let mut messages: Vec<Message> = self.messages.values().rev().take(newest).cloned().collect();
        messages.reverse();
        SessionPage { session: self.session.clone(), messages, opened: false }
    }
}

impl State {
    /// The store's open or claimed session, as its pointer would show it.
    fn active_session(&self, store: StoreId) -> Option<super::ActiveSession> {
        let id = self.active.get(&store)?;
        let session = &self.sessions[id].session;
        Some(super::ActiveSession {
            id: *id,
            status: session.status,
            admin_id: session.admin_id,
            revision: session.revision,
        })
    }

    fn session_mut(&mut self, id: SessionId) -> StorageResult<&mut SessionData> {
        self.sessions.get_mut(&id).ok_or_else(|| StorageError::Malformed(format!("session {id} vanished")))
    }

    /// Writes the session as `after`, as the change feed tells it.
    fn write_session(&mut self, after: Session) -> StorageResult<()> {
        let id = after.id;
        let before = std::mem::replace(&mut self.session_mut(id)?.session, after);
        self.feed.session_written(Some(before), &self.sessions[&id].session);
        Ok(())
    }

    /// Adds a new session with its messages, as the change feed tells it.
    fn insert_session(&mut self, data: SessionData) {
        self.feed.session_written(None, &data.session);
        for message in data.messages.values() {
            self.feed.message_added(message);
        }
        self.sessions.insert(data.session.id, data);
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Up to `limit` records of the change feed after the one numbered `after` (from the
    /// oldest kept without it), in the order the changes were made: what the gateway hands
    /// the stream functions, as DynamoDB's stream does.
    pub fn changes_after(&self, after: Option<&str>, limit: usize) -> Vec<ChangeRecord> {
        self.state().feed.after(after, limit)
    }

    /// Everything it holds but its change feed, as `Debug` writes it: what a scan of the
    /// table is to DynamoDB, where the stream is not scanned either.
    pub fn contents(&self) -> String {
        format!("{:?}", *self.state())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every mutation is computed before it is written, so a panic while holding the
        // lock leaves no half-applied change and a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
