//! The embedded store: the whole model in one mutex-guarded map. It keeps the same
//! invariants as the DynamoDB store and passes the same conformance suite: session changes
//! are the domain's, applied as they are ([`crate::domain::SessionChange::apply`]); counts
//! of lists are computed from the map, which is as cheap as keeping counters at this size.

mod connections;
mod desks;
mod identities;
mod sessions;
mod webhooks;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{SessionPage, StorageError, StorageResult};
use crate::Timestamp;
use crate::domain::{
    AdminId, AdminProfile, Connection, Desk, Message, MessageId, Principal, Session, SessionId, StoreId, StoreProfile,
    Subscription, TokenGrant, TokenHash,
};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
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
    webhooks: Vec<Subscription>,
    webhook_logs: HashMap<String, webhooks::WebhookLog>,
}

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
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every mutation is computed before it is written, so a panic while holding the
        // lock leaves no half-applied change and a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
