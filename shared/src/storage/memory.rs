//! The embedded store: the whole model in one mutex-guarded map. It keeps the same
//! invariants as the DynamoDB store and passes the same conformance suite; counts are
//! computed from the map, which is as cheap as keeping counters at this size.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{
    ActiveSession, AppendGuard, AppendOutcome, Bucket, ChatStore, ClosedSession, ListPosition, MessagesAfter,
    ReceiptKind, SessionList, SessionPage, SessionQuery, StorageError, StorageResult, WriteOutcome, read_count_at,
};
use crate::Timestamp;
use crate::domain::TokenHash;
use crate::domain::{
    AdminId, AdminProfile, Audience, Connection, Message, MessageId, NewMessage, Principal, SenderType, Session,
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
    connections: HashMap<String, Connection>,
}

struct SessionData {
    session: Session,
    messages: BTreeMap<MessageId, Message>,
    /// By [`NewMessage::idempotency_key`].
    by_client_id: HashMap<String, MessageId>,
}

impl SessionData {
    fn page(&self, newest: usize) -> SessionPage {
        let mut messages: Vec<Message> = self.messages.values().rev().take(newest).cloned().collect();
        messages.reverse();
        SessionPage { session: self.session.clone(), messages, opened: false }
    }
}

impl State {
    fn session_mut(&mut self, id: SessionId) -> StorageResult<&mut SessionData> {
        self.sessions.get_mut(&id).ok_or_else(|| StorageError::Malformed(format!("session {id} vanished")))
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every mutation below is computed before it is written, so a panic while holding
        // the lock leaves no half-applied change and a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` to the session if `condition` holds for it, else reports it as it is.
    fn write_if(
        &self,
        seen: &Session,
        condition: impl Fn(&Session) -> bool,
        change: impl FnOnce(&mut Session),
    ) -> StorageResult<WriteOutcome> {
        let mut state = self.state();
        let session = &mut state.session_mut(seen.id)?.session;
        if !condition(session) {
            return Ok(WriteOutcome::Stale(session.clone()));
        }
        change(session);
        Ok(WriteOutcome::Written(session.clone()))
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

    async fn admin_profiles(&self, ids: &[AdminId]) -> StorageResult<Vec<AdminProfile>> {
        let state = self.state();
        Ok(ids.iter().filter_map(|id| state.admins.get(id).cloned()).collect())
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
        let page = SessionPage { session: session.clone(), messages: Vec::new(), opened: true };
        let data = SessionData { session, messages: BTreeMap::new(), by_client_id: HashMap::new() };
        state.sessions.insert(data.session.id, data);
        Ok(Some(page))
    }

    async fn active_session(&self, store: StoreId) -> StorageResult<Option<ActiveSession>> {
        let state = self.state();
        Ok(state.active.get(&store).map(|id| {
            let session = &state.sessions[id].session;
            ActiveSession { id: *id, status: session.status, admin_id: session.admin_id }
        }))
    }

    async fn session(&self, id: SessionId) -> StorageResult<Option<Session>> {
        Ok(self.state().sessions.get(&id).map(|data| data.session.clone()))
    }

    async fn session_page(&self, id: SessionId, newest: usize) -> StorageResult<Option<SessionPage>> {
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
        let messages = data.messages.range(after.saturating_add(1)..).take(limit + 1).map(|(_, m)| m.clone());
        Ok(Some(MessagesAfter::from_one_more(data.session.clone(), messages.collect(), limit)))
    }

    async fn list_sessions(&self, query: &SessionQuery) -> StorageResult<SessionList> {
        let state = self.state();
        let buckets = Bucket::for_query(query);
        let mut matching: Vec<&Session> = state
            .sessions
            .values()
            .map(|data| &data.session)
            .filter(|s| buckets.iter().any(|b| b.contains(s)))
            .filter(|s| query.tag.as_ref().is_none_or(|tag| s.tags.contains(tag)))
            .collect();
        let total_count = matching.len() as u64;
        matching.sort_by_key(|s| std::cmp::Reverse(ListPosition::of(s)));
        let mut page: Vec<Session> = matching
            .into_iter()
            .filter(|s| query.after.as_ref().is_none_or(|after| ListPosition::of(s) < *after))
            .skip(query.offset)
            .take(query.limit + 1)
            .cloned()
            .collect();
        let next = (page.len() > query.limit).then(|| ListPosition::of(&page[query.limit - 1]));
        page.truncate(query.limit);
        Ok(SessionList { sessions: page, total_count, next })
    }

    async fn next_message_id(&self) -> StorageResult<MessageId> {
        let mut state = self.state();
        state.last_message_id += 1;
        Ok(state.last_message_id)
    }

    async fn append_message(
        &self,
        session_id: SessionId,
        guard: AppendGuard<'_>,
        id: MessageId,
        message: NewMessage,
        now: Timestamp,
    ) -> StorageResult<AppendOutcome> {
        let mut state = self.state();
        // Ids handed out are never reused, so a fresh one is above every committed id.
        let fresh_id = state.last_message_id + 1;
        let data = state.session_mut(session_id)?;
        let idempotency_key = message.idempotency_key();
        if let Some(existing) = idempotency_key.as_ref().and_then(|key| data.by_client_id.get(key)) {
            return Ok(AppendOutcome::Duplicate(data.messages[existing].clone()));
        }
        let session = &mut data.session;
        let allowed = match guard {
            AppendGuard::Seen(seen) => session.revision == seen.revision,
            AppendGuard::NotClosed => true,
        };
        if !allowed || session.status == SessionStatus::Closed {
            return Ok(AppendOutcome::Stale(Box::new(session.clone())));
        }
        let now = session.time_of_change(now);
        let id = if id > session.last_message_id { id } else { fresh_id };
        let stored = message.stored(id, session.id, now);
        session.last_message_id = id;
        session.last_message_at = now;
        session.updated = now;
        session.last_message = Some(stored.clone());
        match stored.sender_type {
            SenderType::Store => {
                session.store_message_count += 1;
                session.last_store_message_id = id;
                session.awaiting_reply_since.get_or_insert(now);
            }
            SenderType::Admin => {
                session.admin_message_count += 1;
                session.last_admin_message_id = id;
                if let Some(since) = session.awaiting_reply_since.take() {
                    session.reply_ms_total += now.millis_since(since);
                    session.reply_count += 1;
                }
            }
        }
        if let Some(key) = idempotency_key {
            data.by_client_id.insert(key, id);
        }
        data.messages.insert(id, stored.clone());
        state.last_message_id = state.last_message_id.max(id);
        Ok(AppendOutcome::Appended(stored))
    }

    async fn change_lifecycle(
        &self,
        seen: &Session,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        let mut state = self.state();
        let session = &mut state.session_mut(seen.id)?.session;
        if session.revision != seen.revision {
            return Ok(WriteOutcome::Stale(session.clone()));
        }
        let changed = seen.with_lifecycle(status, admin_id, session.time_of_change(now));
        session.status = changed.status;
        session.admin_id = changed.admin_id;
        session.updated = changed.updated;
        session.closed_at = changed.closed_at;
        session.revision = changed.revision;
        // Closing frees the store's active slot in the same step.
        if status == SessionStatus::Closed && state.active.get(&seen.store.id) == Some(&seen.id) {
            state.active.remove(&seen.store.id);
        }
        Ok(WriteOutcome::Written(changed))
    }

    async fn put_connection(&self, connection: &Connection) -> StorageResult<()> {
        self.state().connections.insert(connection.connection_id.clone(), connection.clone());
        Ok(())
    }

    async fn connection(&self, id: &str) -> StorageResult<Option<Connection>> {
        Ok(self.state().connections.get(id).cloned())
    }

    async fn delete_connection(&self, id: &str) -> StorageResult<()> {
        self.state().connections.remove(id);
        Ok(())
    }

    async fn connections_of(&self, audience: Audience, now: Timestamp) -> StorageResult<Vec<Connection>> {
        let state = self.state();
        let mut connections: Vec<Connection> =
            state.connections.values().filter(|c| audience.includes(c.principal) && c.is_live(now)).cloned().collect();
        connections.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        Ok(connections)
    }

    async fn close_active_session(&self, store: StoreId, now: Timestamp) -> StorageResult<Option<ClosedSession>> {
        let mut state = self.state();
        let Some(id) = state.active.remove(&store) else {
            return Ok(None);
        };
        let session = &mut state.session_mut(id)?.session;
        let now = session.time_of_change(now);
        *session = session.with_lifecycle(SessionStatus::Closed, session.admin_id, now);
        Ok(Some(ClosedSession { id, status: session.status, admin_id: session.admin_id, closed_at: now }))
    }

    async fn mark_receipt(
        &self,
        session: SessionId,
        reader: SenderType,
        kind: ReceiptKind,
        up_to: MessageId,
        now: Timestamp,
    ) -> StorageResult<Option<Session>> {
        let mut state = self.state();
        let Some(data) = state.sessions.get_mut(&session) else {
            return Ok(None);
        };
        let seen = data.session.clone();
        let up_to = up_to.min(seen.last_message_id);
        let above: Vec<Message> = data.messages.range(up_to.saturating_add(1)..).map(|(_, m)| m.clone()).collect();
        let receipts = match reader {
            SenderType::Store => &mut data.session.store_receipts,
            SenderType::Admin => &mut data.session.admin_receipts,
        };
        match kind {
            ReceiptKind::Delivered if up_to > receipts.delivered_up_to => {
                receipts.delivered_up_to = up_to;
                receipts.delivered_at = Some(now);
            }
            ReceiptKind::Read if up_to > receipts.read_up_to => {
                receipts.read_up_to = up_to;
                receipts.read_at = Some(now);
                receipts.read_count = read_count_at(&seen, reader, up_to, &above);
            }
            _ => {}
        }
        Ok(Some(data.session.clone()))
    }

    async fn set_tags(&self, seen: &Session, tags: Vec<String>, now: Timestamp) -> StorageResult<WriteOutcome> {
        self.write_if(
            seen,
            |current| current.revision == seen.revision,
            |session| {
                session.tags = tags;
                session.updated = now;
                session.revision += 1;
            },
        )
    }

    async fn rate_session(
        &self,
        seen: &Session,
        rating: u8,
        feedback: Option<String>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        let unrated_and_closed =
            |current: &Session| current.status == SessionStatus::Closed && current.rating.is_none();
        self.write_if(seen, unrated_and_closed, |session| {
            session.rating = Some(rating);
            session.feedback = feedback;
            session.updated = now;
        })
    }
}
