//! The embedded store: the whole model in one mutex-guarded map. It keeps the same
//! invariants as the DynamoDB store and passes the same conformance suite.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    AppendOutcome, ChatStore, LifecycleOutcome, MessagesAfter, SessionPage, StorageResult,
};
use crate::Timestamp;
use crate::auth::TokenHash;
use crate::domain::{
    AdminId, AdminProfile, Message, MessageId, NewMessage, Principal, SenderType, Session,
    SessionId, SessionStatus, StoreId, StoreProfile,
};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    stores: HashMap<StoreId, StoreProfile>,
    admins: HashMap<AdminId, AdminProfile>,
    tokens: HashMap<TokenHash, Principal>,
    active: HashMap<StoreId, SessionId>,
    sessions: HashMap<SessionId, SessionData>,
    last_session_id: SessionId,
    last_message_id: MessageId,
}

struct SessionData {
    session: Session,
    messages: BTreeMap<MessageId, Message>,
    by_client_id: HashMap<String, MessageId>,
}

impl SessionData {
    fn page(&self, newest: usize) -> SessionPage {
        let mut messages: Vec<Message> =
            self.messages.values().rev().take(newest).cloned().collect();
        messages.reverse();
        SessionPage {
            session: self.session.clone(),
            messages,
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves no half-applied change (every mutation below
        // is computed before it is written), so a poisoned lock is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl ChatStore for MemoryStore {
    async fn put_store(&self, store: &StoreProfile) -> StorageResult<()> {
        self.state().stores.insert(store.id, store.clone());
        Ok(())
    }

    async fn put_admin(&self, admin: &AdminProfile) -> StorageResult<()> {
        self.state().admins.insert(admin.id, admin.clone());
        Ok(())
    }

    async fn store_profile(&self, id: StoreId) -> StorageResult<Option<StoreProfile>> {
        Ok(self.state().stores.get(&id).cloned())
    }

    async fn admin_profile(&self, id: AdminId) -> StorageResult<Option<AdminProfile>> {
        Ok(self.state().admins.get(&id).cloned())
    }

    async fn put_token(&self, token: &TokenHash, principal: Principal) -> StorageResult<()> {
        self.state().tokens.insert(token.clone(), principal);
        Ok(())
    }

    async fn revoke_token(&self, token: &TokenHash) -> StorageResult<bool> {
        Ok(self.state().tokens.remove(token).is_some())
    }

    async fn principal_for(&self, token: &TokenHash) -> StorageResult<Option<Principal>> {
        Ok(self.state().tokens.get(token).copied())
    }

    async fn get_or_create_active_session(
        &self,
        store: StoreId,
        newest: usize,
        now: Timestamp,
    ) -> StorageResult<Option<SessionPage>> {
        let mut state = self.state();
        if let Some(id) = state.active.get(&store) {
            return Ok(Some(state.sessions[id].page(newest)));
        }
        let Some(profile) = state.stores.get(&store).cloned() else {
            return Ok(None);
        };
        state.last_session_id += 1;
        let session = Session::new(state.last_session_id, profile, now);
        state.active.insert(store, session.id);
        let page = SessionPage {
            session: session.clone(),
            messages: Vec::new(),
        };
        state.sessions.insert(
            session.id,
            SessionData {
                session,
                messages: BTreeMap::new(),
                by_client_id: HashMap::new(),
            },
        );
        Ok(Some(page))
    }

    async fn session_page(
        &self,
        id: SessionId,
        newest: usize,
    ) -> StorageResult<Option<SessionPage>> {
        Ok(self.state().sessions.get(&id).map(|data| data.page(newest)))
    }

    async fn messages_after(
        &self,
        id: SessionId,
        after: MessageId,
        limit: usize,
    ) -> StorageResult<Option<MessagesAfter>> {
        let state = self.state();
        let Some(data) = state.sessions.get(&id) else {
            return Ok(None);
        };
        let messages = data
            .messages
            .range(after.saturating_add(1)..)
            .take(limit + 1)
            .map(|(_, m)| m.clone());
        Ok(Some(MessagesAfter::from_one_more(
            data.session.clone(),
            messages.collect(),
            limit,
        )))
    }

    async fn append_message(
        &self,
        seen: &Session,
        message: NewMessage,
        now: Timestamp,
    ) -> StorageResult<AppendOutcome> {
        let mut state = self.state();
        let id = state.last_message_id + 1;
        let Some(data) = state.sessions.get_mut(&seen.id) else {
            return Err(super::StorageError::Malformed(format!(
                "session {} vanished",
                seen.id
            )));
        };
        if let Some(existing) = message
            .client_message_id
            .as_ref()
            .and_then(|c| data.by_client_id.get(c))
        {
            return Ok(AppendOutcome::Duplicate(data.messages[existing].clone()));
        }
        let session = &mut data.session;
        if session.lifecycle_version != seen.lifecycle_version
            || session.status == SessionStatus::Closed
        {
            return Ok(AppendOutcome::Stale(session.clone()));
        }
        session.last_message_id = id;
        session.last_message_at = now;
        session.updated = now;
        match message.sender_type {
            SenderType::Store => session.store_message_count += 1,
            SenderType::Admin => session.admin_message_count += 1,
        }
        let stored = message.stored(id, session.id, now);
        if let Some(client_id) = &stored.client_message_id {
            data.by_client_id.insert(client_id.clone(), id);
        }
        data.messages.insert(id, stored.clone());
        state.last_message_id = id;
        Ok(AppendOutcome::Appended(stored))
    }

    async fn change_lifecycle(
        &self,
        seen: &Session,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        now: Timestamp,
    ) -> StorageResult<LifecycleOutcome> {
        let mut state = self.state();
        let Some(data) = state.sessions.get_mut(&seen.id) else {
            return Err(super::StorageError::Malformed(format!(
                "session {} vanished",
                seen.id
            )));
        };
        let session = &mut data.session;
        if session.lifecycle_version != seen.lifecycle_version {
            return Ok(LifecycleOutcome::Stale(session.clone()));
        }
        let changed = seen.with_lifecycle(status, admin_id, now);
        session.status = changed.status;
        session.admin_id = changed.admin_id;
        session.updated = changed.updated;
        session.closed_at = changed.closed_at;
        session.lifecycle_version = changed.lifecycle_version;
        if status == SessionStatus::Closed
            && state.active.get(&changed.store.id) == Some(&changed.id)
        {
            state.active.remove(&changed.store.id);
        }
        Ok(LifecycleOutcome::Changed(changed))
    }
}
