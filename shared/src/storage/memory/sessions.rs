use async_trait::async_trait;

use super::{MemoryStore, SessionData};
use crate::Timestamp;
use crate::domain::{
    AdminId, EmailClaim, Message, MessageId, NewMessage, ReceiptKind, SendLimit, SenderType, Session, SessionChange,
    SessionId, SessionStatus, StoreId, opened_with,
};
use crate::storage::{
    ActiveSession, AppendGuard, AppendOutcome, Bucket, ClosedSession, IdReservation, IdsFor, MessageSlice,
    MessageWindow, Opening, SessionList, SessionPage, SessionQuery, SessionStore, StorageResult, Waiting, WriteOutcome,
};

impl MemoryStore {
    /// Applies `change` to the session as it is, if its conditions hold there; answers as
    /// [`WriteOutcome`] says: the session `seen` with the change applied.
    fn change(&self, seen: &Session, change: &SessionChange) -> StorageResult<WriteOutcome> {
        let mut state = self.state();
        let data = state.session_mut(seen.id)?;
        Ok(match change.apply(&data.session) {
            Ok(changed) => {
                state.write_session(changed)?;
                WriteOutcome::Written(change.effects_on(seen))
            }
            Err(_) => WriteOutcome::Stale(data.session.clone()),
        })
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
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
        state.last_session_id.0 += 1;
        let session = Session::new(state.last_session_id, profile, now);
        state.active.insert(store, session.id);
        let page = SessionPage { session: session.clone(), messages: Vec::new(), opened: true };
        state.insert_session(SessionData::new(session));
        Ok(Some(page))
    }

    async fn active_session(&self, store: StoreId) -> StorageResult<Option<ActiveSession>> {
        let state = self.state();
        Ok(state.active_session(store))
    }

    async fn latest_session(&self, store: StoreId, newest: usize) -> StorageResult<Option<SessionPage>> {
        let state = self.state();
        let id = state.active.get(&store).or_else(|| state.latest.get(&store));
        Ok(id.map(|id| state.sessions[id].page(newest)))
    }

    async fn waiting_sessions(&self, limit: usize) -> StorageResult<Vec<Waiting>> {
        let state = self.state();
        let mut waiting: Vec<Waiting> = state
            .sessions
            .values()
            .filter_map(|data| {
                let session = &data.session;
                let since = session.queued_at.filter(|_| session.is_waiting())?;
                Some(Waiting { session: session.id, store: session.store.id, since })
            })
            .collect();
        waiting.sort_by_key(|w| (w.since, w.session));
        waiting.truncate(limit);
        Ok(waiting)
    }

    async fn waiting_ahead_of(&self, session: &Session) -> StorageResult<u64> {
        let Some(mine) = session.queued_at.map(|at| (at, session.id)) else { return Ok(0) };
        let state = self.state();
        let ahead = state
            .sessions
            .values()
            .map(|data| &data.session)
            .filter(|other| other.is_waiting() && other.queued_at.is_some_and(|at| (at, other.id) < mine));
        Ok(ahead.count() as u64)
    }

    async fn session(&self, id: SessionId) -> StorageResult<Option<Session>> {
        Ok(self.state().sessions.get(&id).map(|data| data.session.clone()))
    }

    async fn session_page(&self, id: SessionId, newest: usize) -> StorageResult<Option<SessionPage>> {
        Ok(self.state().sessions.get(&id).map(|data| data.page(newest)))
    }

    async fn messages(
        &self,
        id: SessionId,
        window: MessageWindow,
        limit: usize,
    ) -> StorageResult<Option<MessageSlice>> {
        let state = self.state();
        let Some(data) = state.sessions.get(&id) else {
            return Ok(None);
        };
        let messages: Vec<Message> = match window {
            MessageWindow::After(after) => {
                data.messages.range(after.next()..).take(limit + 1).map(|(_, m)| m.clone()).collect()
            }
            MessageWindow::Before(before) => {
                data.messages.range(..before).rev().take(limit + 1).map(|(_, m)| m.clone()).collect()
            }
        };
        Ok(Some(MessageSlice::from_one_more(data.session.clone(), messages, window, limit)))
    }

    async fn list_sessions(&self, query: &SessionQuery) -> StorageResult<SessionList> {
        let state = self.state();
        let buckets = Bucket::for_query(query);
        let matching: Vec<&Session> = state
            .sessions
            .values()
            .map(|data| &data.session)
            .filter(|s| buckets.iter().any(|b| b.contains(s)))
            .filter(|s| query.tag.as_ref().is_none_or(|tag| s.tags.contains(tag)))
            .filter(|s| query.filter.matches(s))
            .collect();
        let total_count = matching.len() as u64;
        Ok(SessionList::page(matching, query, total_count))
    }

    async fn sessions_of_store(&self, store: StoreId, limit: usize) -> StorageResult<(Vec<Session>, u64)> {
        let state = self.state();
        let mut sessions: Vec<Session> =
            state.sessions.values().map(|data| &data.session).filter(|s| s.store.id == store).cloned().collect();
        sessions.sort_by_key(|s| std::cmp::Reverse((s.created, s.id)));
        let count = sessions.len() as u64;
        sessions.truncate(limit);
        Ok((sessions, count))
    }

    async fn reserve_message_ids(&self, _into: IdsFor) -> StorageResult<IdReservation> {
        // Sends here take turns on one lock, so one fresh id each is all they need.
        let mut state = self.state();
        state.last_message_id = state.last_message_id.next();
        Ok(IdReservation { place: None, fresh: Some((state.last_message_id, state.last_message_id)) })
    }

    async fn release_message_ids(&self, _ids: IdReservation) {
        // Sends here take turns on one lock: none waits for another's ids.
    }

    async fn open_with_message(
        &self,
        store: StoreId,
        ids: IdReservation,
        message: NewMessage,
        now: Timestamp,
        limit: SendLimit,
    ) -> StorageResult<Opening> {
        let mut state = self.state();
        if let Some(active) = state.active_session(store) {
            return Ok(Opening::Active { active, ids });
        }
        let Some(profile) = state.stores.get(&store).cloned() else {
            return Ok(Opening::NoStore);
        };
        state.last_session_id.0 += 1;
        let session_id = state.last_session_id;
        let id = ids.fresh.map_or_else(|| state.last_message_id.next(), |(id, _)| id);
        let stored = message.stored(id, session_id, now);
        let session = opened_with(session_id, profile, &stored, limit);
        let mut data = SessionData::new(session.clone());
        data.messages.insert(id, stored.clone());
        if let Some(key) = message.idempotency_key() {
            data.by_client_id.insert(key, id);
        }
        state.active.insert(store, session_id);
        state.insert_session(data);
        state.last_message_id = state.last_message_id.max(id);
        Ok(Opening::Opened { session: Box::new(session), message: stored })
    }

    async fn append_message(
        &self,
        session_id: SessionId,
        guard: AppendGuard<'_>,
        ids: IdReservation,
        message: NewMessage,
        now: Timestamp,
        limit: SendLimit,
    ) -> StorageResult<AppendOutcome> {
        let mut state = self.state();
        // Ids handed out are never reused, so a fresh one is above every committed id.
        let fresh_id = state.last_message_id.next();
        let data = state.session_mut(session_id)?;
        let idempotency_key = message.idempotency_key();
        if let Some(existing) = idempotency_key.as_ref().and_then(|key| data.by_client_id.get(key)) {
            return Ok(AppendOutcome::Duplicate(data.messages[existing].clone()));
        }
        if let Some(holder) = message.upload_id.as_ref().and_then(|upload| data.by_upload_id.get(upload)) {
            return Ok(AppendOutcome::UploadTaken(*holder));
        }
        // Holding the lock, the proposal is made against the session as it is: only the
        // guard can fail.
        let current = &data.session;
        let id = match ids.fresh {
            Some((id, _)) if id > current.last_message_id => id,
            _ => fresh_id,
        };
        let stored = message.stored(id, session_id, current.time_of_change(now));
        let change = SessionChange::append(stored.clone(), guard.revision(), current.awaiting_reply_since);
        if change.check(current).is_err() {
            return Ok(AppendOutcome::Stale(Box::new(current.clone())));
        }
        let charge = match limit.charge(current.sends_of(stored.sender_type), stored.created) {
            Ok(charge) => charge,
            Err(too_many) => return Ok(AppendOutcome::TooMany(too_many)),
        };
        let Ok(changed) = change.charged(charge).apply(current) else {
            return Ok(AppendOutcome::Stale(Box::new(current.clone())));
        };
        if let Some(key) = idempotency_key {
            data.by_client_id.insert(key, id);
        }
        if let Some(upload) = &message.upload_id {
            data.by_upload_id.insert(upload.clone(), id);
        }
        data.messages.insert(id, stored.clone());
        state.write_session(changed)?;
        state.feed.message_added(&stored);
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
        let current = &state.session_mut(seen.id)?.session;
        let at = current.time_of_change(now);
        let change = SessionChange::Move { revision: seen.revision, status, admin_id, at };
        let Ok(changed) = change.apply(current) else {
            return Ok(WriteOutcome::Stale(current.clone()));
        };
        state.write_session(changed)?;
        // Closing frees the store's active slot in the same step.
        if status == SessionStatus::Closed && state.active.get(&seen.store.id) == Some(&seen.id) {
            state.active.remove(&seen.store.id);
            state.latest.insert(seen.store.id, seen.id);
        }
        Ok(WriteOutcome::Written(change.effects_on(seen)))
    }

    async fn close_active_session(&self, store: StoreId, now: Timestamp) -> StorageResult<Option<ClosedSession>> {
        let mut state = self.state();
        let Some(&id) = state.active.get(&store) else {
            return Ok(None);
        };
        let data = state.session_mut(id)?;
        let current = &data.session;
        let at = current.time_of_change(now);
        let change = SessionChange::Move {
            revision: current.revision,
            status: SessionStatus::Closed,
            admin_id: current.admin_id,
            at,
        };
        // Made against the session as it is, under the lock: its conditions hold.
        let closed = change.effects_on(current);
        state.write_session(closed)?;
        state.active.remove(&store);
        state.latest.insert(store, id);
        let session = &state.sessions[&id].session;
        Ok(Some(ClosedSession { id, status: session.status, admin_id: session.admin_id, closed_at: at }))
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
        let cap = up_to.min(data.session.last_message_id);
        let above: Vec<Message> = data.messages.range(cap.next()..).map(|(_, m)| m.clone()).collect();
        // Made against the session as it is, under the lock: its conditions hold.
        if let Some(change) = SessionChange::mark_against(&data.session, reader, kind, up_to, &above, now) {
            let marked = change.effects_on(&data.session);
            state.write_session(marked)?;
        }
        Ok(Some(state.sessions[&session].session.clone()))
    }

    async fn set_tags(&self, seen: &Session, tags: Vec<String>, now: Timestamp) -> StorageResult<WriteOutcome> {
        let change = SessionChange::Retag { revision: seen.revision, tags, at: now };
        self.change(seen, &change)
    }

    async fn rate_session(
        &self,
        seen: &Session,
        rating: u8,
        feedback: Option<String>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        let change = SessionChange::Rate { rating, feedback, at: now };
        self.change(seen, &change)
    }

    async fn claim_email(&self, seen: &Session, claim: EmailClaim, now: Timestamp) -> StorageResult<WriteOutcome> {
        self.change(seen, &SessionChange::Emailed { claim, at: now })
    }
}
