//! Sessions and their messages in the single table. Every change of a session is the
//! domain's [`SessionChange`], written as one conditional update of the session item
//! ([`update`]), in a transaction with the items that follow it ([`companions`]) where
//! there are any.

mod assign;
mod companions;
mod erasure;
mod ids;
mod list;
mod update;
mod waiting;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use futures::future::try_join_all;

pub(super) use self::ids::MessageIds;
use self::ids::{Patience, places_item};
use self::list::Source;
pub(super) use self::update::SessionUpdate;
use super::items::*;
use super::{DynamoStore, MAX_ATTEMPTS, TransactionFailure, back_off};
use crate::Timestamp;
use crate::domain::{
    AdminId, EmailClaim, Message, MessageId, NewMessage, ReceiptKind, SendCharge, SendLimit, SenderType, Session,
    SessionChange, SessionId, SessionStatus, StoreId, StoreProfile, mark_needs_messages_above, opened_with,
};
use crate::storage::{
    ActiveSession, AppendGuard, AppendOutcome, Bucket, ClosedSession, IdReservation, IdsFor, MessageSlice,
    MessageWindow, Opening, Place, SessionList, SessionPage, SessionQuery, SessionStore, StorageError, StorageResult,
    Waiting, WriteOutcome,
};

/// The most tries of one send, whatever they meet.
const MAX_TRIES: u32 = 1_000;

/// What a store's partition holds: its profile and its pointers to sessions.
struct StoreItems {
    profile: Option<StoreProfile>,
    active: Option<SessionId>,
    latest: Option<SessionId>,
}

impl DynamoStore {
    /// The store's profile and pointers: one consistent Query of its partition.
    async fn store_items(&self, store: StoreId) -> StorageResult<StoreItems> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(store_pk(store)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let mut items = StoreItems { profile: None, active: None, latest: None };
        for item in output.items.unwrap_or_default() {
            match sk_of(&item) {
                Some(PROFILE_SK) => items.profile = Some(from_item::<ProfileItem<StoreProfile>>(item)?.profile),
                Some(ACTIVE_SK) => items.active = Some(from_item::<PointerItem>(item)?.session_id),
                Some(LATEST_SK) => items.latest = Some(from_item::<LatestItem>(item)?.session_id),
                _ => {}
            }
        }
        Ok(items)
    }

    /// Opens the store's session with no message yet, with a block of ids for its first
    /// sends taken beside its id.
    async fn create_session(&self, profile: StoreProfile, now: Timestamp) -> StorageResult<Option<Session>> {
        let (id, block) = tokio::join!(self.next_id(&self.session_ids), self.spare_or_fresh_block());
        let (id, block) = (SessionId(id?), block?);
        let session = Session::new(id, profile, now);
        let pointer = PointerItem::to(&session);
        let mut items = vec![
            self.put_new(to_item(&pointer)?),
            self.put_new(to_item(&SessionItem::new(session.clone()))?),
            self.put_new(places_item(session.id, 0, block.0)),
        ];
        items.extend(self.moved_between_lists(None, Some(Bucket::Open), &[]));
        match self.transact(items).await {
            Ok(()) => {
                self.remember_active(session.store.id, Some(session.id));
                Ok(Some(session))
            }
            // Another call created the store's session first, or is creating it now.
            Err(TransactionFailure::Cancelled(_)) => {
                self.keep_spare(block);
                Ok(None)
            }
            Err(TransactionFailure::Unavailable(error)) => Err(error),
        }
    }

    async fn message_by_id(&self, session: SessionId, id: MessageId) -> StorageResult<Message> {
        let item = self
            .get(session_pk(session), &message_sk(id))
            .await?
            .ok_or_else(|| StorageError::Malformed(format!("message {id} of session {session} is missing")))?;
        message_from(item)
    }

    /// Messages of `session` with ids in `from..=to`, at most `limit`: the oldest ones,
    /// ascending, or the newest ones, newest first.
    pub(in crate::storage::dynamo) async fn message_range(
        &self,
        session: SessionId,
        from: MessageId,
        to: MessageId,
        limit: usize,
        newest_first: bool,
    ) -> StorageResult<Vec<Message>> {
        if from > to || limit == 0 {
            return Ok(Vec::new());
        }
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(session_pk(session)))
            .expression_attribute_values(":from", s(message_sk(from)))
            .expression_attribute_values(":to", s(message_sk(to)))
            .scan_index_forward(!newest_first)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .consistent_read(true);
        self.query_items(query, limit).await?.into_iter().map(message_from).collect()
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

    /// Waits until the places before `place` are committed, reading the session item after
    /// each pause, as long as `patience` lasts (`committed`: the last committed, as last seen;
    /// `round_trip`: how long a request took). Whether they are, as far as it knows: if not,
    /// the send goes without them.
    async fn wait_for_places_before(
        &self,
        place: &Place,
        patience: &mut Patience,
        mut committed: Option<u64>,
        mut round_trip: std::time::Duration,
    ) -> StorageResult<bool> {
        // Unknown (a session older than places): the send finds out by trying.
        while let Some(last) = committed.filter(|last| last + 1 < place.number) {
            if !patience.pause(last, place.number - last - 1, round_trip).await {
                return Ok(false);
            }
            let started = std::time::Instant::now();
            let item = self.get(session_pk(place.session), SESSION_SK).await?;
            round_trip = started.elapsed();
            committed = item.as_ref().map(ids::last_place);
            if let Some(item) = &item {
                self.learn_committed(place.session, item);
            }
        }
        Ok(true)
    }

    /// Commits `message` at `place`, once the places before it are (or, when the session's
    /// order stops moving, without them); a place another send went past is traded for a new
    /// one.
    async fn append_in_order(
        &self,
        mut place: Place,
        guard: AppendGuard<'_>,
        message: NewMessage,
        mut now: Timestamp,
        limit: SendLimit,
    ) -> StorageResult<AppendOutcome> {
        let session_id = place.session;
        // Whether, and since when, the store waits for an answer, as far as the sender knows;
        // and no earlier than the last message the sender saw.
        let mut awaiting = guard.seen().and_then(|seen| seen.awaiting_reply_since);
        now = guard.seen().map_or(now, |seen| seen.time_of_change(now));
        // Places before this one still to commit, as far as this process knows: each is
        // about one round trip ahead.
        let mut patience = Patience::new();
        let committed = self.known_committed(session_id);
        let mut in_order = self.wait_for_places_before(&place, &mut patience, committed, place.took).await?;
        if committed.is_some_and(|last| last + 1 < place.number) {
            // Dated after the places before it, which it waited for.
            now = now.max(Timestamp::now());
        }
        // And no earlier than the last message committed as far as this process knows: a
        // send that took the place before this one may have dated its message later.
        now = now.max(self.known_last_message_at(session_id).unwrap_or(now));
        // The sender's sends in the minute as last known here, once the sends before this
        // one are done (a session read with the send may be older): its write's condition
        // says whether they still are.
        let party = message.sender_type;
        let known = self.known_sends(session_id, party).into_iter();
        let seen = guard.seen().map(|seen| seen.sends_of(party));
        let mut sends = known.chain(seen).max_by_key(|window| (window.minute, window.count)).unwrap_or_default();
        let mut conflicts = 0;
        // Whether a write was tried, which looked for an earlier send with this one's key.
        let mut tried = false;
        // Every try but a conflict waits or moves on, so this bound is only a safeguard.
        for _ in 0..MAX_TRIES {
            if conflicts >= MAX_ATTEMPTS {
                break;
            }
            let id = place.id;
            let stored = message.stored(id, session_id, now);
            let charge = match limit.charge(sends, stored.created) {
                Ok(charge) => charge,
                // A repeated send is answered with its original whatever the count: until
                // a write has looked for the original, it is tried (its count condition
                // fails, its reference tells whether it is a repeat).
                Err(_) if !tried && message.idempotency_key().is_some() => {
                    Some(SendCharge::Adds { minute: sends.minute, limit: limit.0 })
                }
                Err(too_many) => {
                    self.give_up(place).await;
                    return Ok(AppendOutcome::TooMany(too_many));
                }
            };
            let change = SessionChange::append(stored.clone(), guard.revision(), awaiting).charged(charge);
            let update = SessionUpdate::of(session_id, &change)?.at_place(place.number, in_order);
            let mut items = vec![
                update.in_transaction(self, session_id),
                self.put_new(to_item(&MessageItem::new(stored.clone()))?),
            ];
            // Items that point to the message and must be new: a repeated idempotency key
            // is the same send again; a repeated upload, a file attached twice.
            let client_id = message.idempotency_key().map(|key| client_sk(&key));
            let upload = message.upload_id.as_deref().map(upload_sk);
            for sk in client_id.iter().chain(&upload) {
                let item = MessageRefItem { pk: session_pk(session_id), sk: sk.clone(), message_id: id };
                items.push(self.put_new(to_item(&item)?));
            }
            let started = std::time::Instant::now();
            tried = true;
            let reasons = match self.transact(items).await {
                Ok(()) => {
                    self.committed(session_id, place.number, Some(stored.created));
                    if let Some(charge) = charge {
                        self.remember_sends(session_id, party, charge.applied(sends));
                    }
                    return Ok(AppendOutcome::Appended(stored));
                }
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                Err(TransactionFailure::Cancelled(reasons)) => reasons,
            };
            let round_trip = started.elapsed();
            let referenced = |index: usize| -> StorageResult<Option<MessageId>> {
                if !failed_condition(reasons.get(index)) {
                    return Ok(None);
                }
                let existing = reasons[index].item.clone().ok_or_else(|| {
                    StorageError::Malformed(format!("a message reference of session {session_id} without item"))
                })?;
                Ok(Some(from_item::<MessageRefItem>(existing)?.message_id))
            };
            if client_id.is_some()
                && let Some(original) = referenced(2)?
            {
                self.give_up(place).await;
                return Ok(AppendOutcome::Duplicate(self.message_by_id(session_id, original).await?));
            }
            if upload.is_some()
                && let Some(holder) = referenced(2 + usize::from(client_id.is_some()))?
            {
                self.give_up(place).await;
                return Ok(AppendOutcome::UploadTaken(holder));
            }
            if !failed_condition(reasons.first()) {
                // Another transaction on the same items.
                back_off(conflicts).await;
                conflicts += 1;
                continue;
            }
            let item = reasons[0].item.clone();
            let last_place = item.as_ref().map(ids::last_place);
            if let Some(item) = &item {
                self.learn_committed(session_id, item);
            }
            let current = current_session(session_id, item)?;
            let unmet = change.check(&current).err();
            if unmet.as_ref().is_some_and(|unmet| unmet.must_decide_again()) {
                self.give_up(place).await;
                return Ok(AppendOutcome::Stale(Box::new(current)));
            }
            if current.last_message_id >= id {
                // A send after this one stopped waiting for it: a new place, at the end.
                place = self.new_place(session_id).await?;
                self.wait_for_turn(&place).await;
                patience = Patience::new();
                let committed = self.known_committed(session_id);
                in_order = self.wait_for_places_before(&place, &mut patience, committed, place.took).await?;
            } else if unmet.is_none() {
                // Only places before this one are not committed yet.
                in_order = self.wait_for_places_before(&place, &mut patience, last_place, round_trip).await?;
            }
            // Dated after the messages committed meanwhile, with the wait and the sends as
            // they now are.
            awaiting = current.awaiting_reply_since;
            sends = current.sends_of(party);
            now = current.time_of_change(now.max(Timestamp::now()));
        }
        Err(StorageError::Unavailable(format!("session {session_id}: too much contention appending")))
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn get_or_create_active_session(
        &self,
        store: StoreId,
        newest: usize,
        now: Timestamp,
    ) -> StorageResult<Option<SessionPage>> {
        for attempt in 0..MAX_ATTEMPTS {
            let StoreItems { profile, active, .. } = self.store_items(store).await?;
            if let Some(id) = active {
                return self.session_page(id, newest).await;
            }
            let Some(profile) = profile else { return Ok(None) };
            if let Some(session) = self.create_session(profile, now).await? {
                return Ok(Some(SessionPage { session, messages: Vec::new(), opened: true }));
            }
            back_off(attempt).await;
        }
        Err(StorageError::Unavailable(format!("store {store}: too much contention creating its session")))
    }

    async fn active_session(&self, store: StoreId) -> StorageResult<Option<ActiveSession>> {
        let item = self.get(store_pk(store), ACTIVE_SK).await?;
        let active = item.map(from_item::<PointerItem>).transpose()?.map(PointerItem::active);
        self.remember_active(store, active.map(|active| active.id));
        Ok(active)
    }

    /// The pointers share the profile's partition: one Query, then the session's page.
    async fn latest_session(&self, store: StoreId, newest: usize) -> StorageResult<Option<SessionPage>> {
        let StoreItems { active, latest, .. } = self.store_items(store).await?;
        match active.or(latest) {
            Some(id) => self.session_page(id, newest).await,
            None => Ok(None),
        }
    }

    async fn waiting_sessions(&self, limit: usize) -> StorageResult<Vec<Waiting>> {
        self.read_waiting(limit).await
    }

    async fn waiting_ahead_of(&self, session: &Session) -> StorageResult<u64> {
        self.count_waiting_ahead(session).await
    }

    async fn session(&self, id: SessionId) -> StorageResult<Option<Session>> {
        let item = self.get(session_pk(id), SESSION_SK).await?;
        if let Some(item) = &item {
            self.learn_committed(id, item);
        }
        item.map(session_from).transpose()
    }

    async fn session_page(&self, id: SessionId, newest: usize) -> StorageResult<Option<SessionPage>> {
        // Descending from `SESSION`: the session item first, then its newest messages.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :first AND :session")
            .expression_attribute_values(":pk", s(session_pk(id)))
            .expression_attribute_values(":first", s("MSG#"))
            .expression_attribute_values(":session", s(SESSION_SK))
            .scan_index_forward(false)
            .limit(i32::try_from(newest + 1).unwrap_or(i32::MAX))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let mut items = output.items.unwrap_or_default().into_iter();
        let Some(first) = items.next().filter(|item| sk_of(item) == Some(SESSION_SK)) else {
            return Ok(None);
        };
        self.learn_committed(id, &first);
        let session = session_from(first)?;
        let mut messages = items.map(message_from).collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(Some(SessionPage { session, messages, opened: false }))
    }

    async fn messages(
        &self,
        id: SessionId,
        window: MessageWindow,
        limit: usize,
    ) -> StorageResult<Option<MessageSlice>> {
        let range = match window {
            MessageWindow::After(after) => self.message_range(id, after.next(), MessageId(u64::MAX), limit + 1, false),
            MessageWindow::Before(before) => {
                // Before the first id there is nothing: an empty range.
                let (to, limit) = before.0.checked_sub(1).map_or((MessageId(0), 0), |to| (MessageId(to), limit + 1));
                self.message_range(id, MessageId(0), to, limit, true)
            }
        };
        // Both reads in parallel: one round trip.
        let (session, messages) = tokio::join!(self.session(id), range);
        let Some(session) = session? else { return Ok(None) };
        Ok(Some(MessageSlice::from_one_more(session, messages?, window, limit)))
    }

    async fn reserve_message_ids(&self, into: IdsFor) -> StorageResult<IdReservation> {
        self.reserve(into).await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> StorageResult<SessionList> {
        // Saturating: an offset near `usize::MAX` is a valid query for an empty page. One more
        // when the cursor's own session may be read again (an activity range's bounds are
        // inclusive).
        let again = usize::from(query.after.is_some() && query.filter.active_from.is_some());
        let wanted = query.offset.saturating_add(query.limit + 1 + again);
        let reads = Source::for_query(query).into_iter().map(|source| self.read_source(source, query, wanted));
        // The index reads and the counters in parallel: one round trip.
        let (pages, total_count) = tokio::join!(try_join_all(reads), self.total_count(query));
        let matching: Vec<Session> = pages?.into_iter().flatten().collect();
        Ok(SessionList::page(matching, query, total_count?))
    }

    async fn sessions_of_store(&self, store: StoreId, limit: usize) -> StorageResult<(Vec<Session>, u64)> {
        self.store_sessions(store, limit).await
    }

    async fn release_message_ids(&self, ids: IdReservation) {
        if let Some(block) = ids.fresh {
            self.keep_spare(block);
        }
        if let Some(place) = ids.place {
            self.give_up(place).await;
        }
    }

    /// The store's profile, and a block of ids beside it: then one transaction writes the
    /// pointer, the session, its places, the list count and the message.
    async fn open_with_message(
        &self,
        store: StoreId,
        ids: IdReservation,
        message: NewMessage,
        now: Timestamp,
        limit: SendLimit,
    ) -> StorageResult<Opening> {
        let block = async {
            match ids.fresh {
                Some(block) => Ok(block),
                None => self.spare_or_fresh_block().await,
            }
        };
        let (profile, block) = tokio::join!(crate::storage::IdentityStore::store_profile(self, store), block);
        let (profile, block) = match (profile?, block?) {
            (Some(profile), block) => (profile, block),
            (None, block) => {
                self.keep_spare(block);
                return Ok(Opening::NoStore);
            }
        };
        for attempt in 0..MAX_ATTEMPTS {
            let session_id = SessionId(self.next_id(&self.session_ids).await?);
            let stored = message.stored(block.0, session_id, now);
            let session = opened_with(session_id, profile.clone(), &stored, limit);
            let mut items = vec![
                self.put_new(to_item(&PointerItem::to(&session))?),
                self.put_new(to_item(&SessionItem::opened(session.clone()))?),
                self.put_new(places_item(session_id, 1, block.0)),
                self.put_new(to_item(&MessageItem::new(stored.clone()))?),
            ];
            if let Some(key) = message.idempotency_key() {
                let item = MessageRefItem { pk: session_pk(session_id), sk: client_sk(&key), message_id: stored.id };
                items.push(self.put_new(to_item(&item)?));
            }
            items.extend(self.moved_between_lists(None, Some(Bucket::Open), &[]));
            match self.transact(items).await {
                Ok(()) => {
                    self.remember_active(store, Some(session_id));
                    self.committed(session_id, 1, Some(stored.created));
                    self.remember_sends(session_id, SenderType::Store, session.store_sends);
                    return Ok(Opening::Opened { session: Box::new(session), message: stored });
                }
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                // Another request opened the store's session first.
                Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.first()) => {
                    let pointer = reasons.into_iter().next().and_then(|reason| reason.item);
                    let pointer = pointer.ok_or_else(|| {
                        StorageError::Malformed(format!("store {store}: a pointer that fails without being there"))
                    })?;
                    let active = from_item::<PointerItem>(pointer)?.active();
                    self.remember_active(store, Some(active.id));
                    let ids = IdReservation { place: None, fresh: Some(block) };
                    return Ok(Opening::Active { active, ids });
                }
                Err(TransactionFailure::Cancelled(_)) => back_off(attempt).await,
            }
        }
        Err(StorageError::Unavailable(format!("store {store}: too much contention opening its session")))
    }

    /// In the session's order of sends (see [`ids`]): the message commits once the send before
    /// it has; the taker of a block's ninth place takes the next block beside it.
    async fn append_message(
        &self,
        session_id: SessionId,
        guard: AppendGuard<'_>,
        ids: IdReservation,
        message: NewMessage,
        now: Timestamp,
        limit: SendLimit,
    ) -> StorageResult<AppendOutcome> {
        let place = self.place_in(session_id, ids).await?;
        self.wait_for_turn(&place).await;
        let next_block = Self::next_block_taken_by(&place);
        let take_next_block = async {
            if let Some(block) = next_block
                && let Err(error) = self.record_block(session_id, block).await
            {
                tracing::warn!(%error, "could not take a session's next block of ids");
            }
        };
        let (appended, ()) = tokio::join!(self.append_in_order(place, guard, message, now, limit), take_next_block);
        appended
    }

    async fn change_lifecycle(
        &self,
        seen: &Session,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        let mut at = seen.time_of_change(now);
        for _ in 0..MAX_ATTEMPTS {
            let change = SessionChange::Move { revision: seen.revision, status, admin_id, at };
            let next = change.effects_on(seen);
            let mut items = vec![SessionUpdate::of(seen.id, &change)?.in_transaction(self, seen.id)];
            // The list counts move with the session, tags and all.
            let (from, to) = (Bucket::of(seen.status, seen.admin_id), Bucket::of(status, admin_id));
            items.extend(self.moved_between_lists(from, to, &seen.tags));
            items.extend(self.sync_pointer(&next)?);
            match self.conditional(seen, items, next).await? {
                // Unchanged but for a message dated after `at` (another writer's clock): the
                // change comes after it.
                WriteOutcome::Stale(current)
                    if change.check(&current).is_err_and(|unmet| !unmet.must_decide_again()) =>
                {
                    at = current.time_of_change(at);
                }
                outcome => return Ok(outcome),
            }
        }
        Err(StorageError::Unavailable(format!("session {}: too much contention", seen.id)))
    }

    /// From the store's pointer alone: one read, one transaction.
    async fn close_active_session(&self, store: StoreId, mut now: Timestamp) -> StorageResult<Option<ClosedSession>> {
        for attempt in 0..MAX_ATTEMPTS {
            let Some(pointer) = self.get(store_pk(store), ACTIVE_SK).await? else {
                return Ok(None);
            };
            let pointer: PointerItem = from_item(pointer)?;
            let (status, admin_id) = (SessionStatus::Closed, pointer.admin_id);
            let change = SessionChange::Move { revision: pointer.revision, status, admin_id, at: now };
            let release = Delete::builder()
                .table_name(&self.table)
                .key("PK", s(store_pk(store)))
                .key("SK", s(ACTIVE_SK))
                .condition_expression("revision = :revision")
                .expression_attribute_values(":revision", n(pointer.revision))
                .build()
                .expect("table, key and condition are set");
            let mut items = vec![
                SessionUpdate::of(pointer.session_id, &change)?.in_transaction(self, pointer.session_id),
                TransactWriteItem::builder().delete(release).build(),
                self.latest(pointer.session_id, store)?,
            ];
            let (from, to) = (Bucket::of(pointer.status, admin_id), Bucket::of(status, admin_id));
            items.extend(self.moved_between_lists(from, to, &pointer.tags));
            let _turn = self.session_turn(pointer.session_id).await;
            match self.transact(items).await {
                Ok(()) => return Ok(Some(ClosedSession { id: pointer.session_id, status, admin_id, closed_at: now })),
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

    /// One conditional `UpdateItem` in the usual case, a mark up to the newest message of
    /// the other party: the read count is then that party's message count, copied in the
    /// same update. Otherwise (a mark below it, or above the session's last message) the
    /// session is read, and for a read mark the other party's messages above the mark are
    /// counted, before the update.
    async fn mark_receipt(
        &self,
        session_id: SessionId,
        reader: SenderType,
        kind: ReceiptKind,
        up_to: MessageId,
        now: Timestamp,
    ) -> StorageResult<Option<Session>> {
        let up_to_newest = SessionChange::mark_up_to_newest(reader, kind, up_to, now);
        let current = match SessionUpdate::of(session_id, &up_to_newest)?.send(self, session_id).await? {
            Ok(session) => return Ok(Some(session)),
            Err(Some(current)) => current,
            Err(None) => return Ok(None),
        };
        let above = if mark_needs_messages_above(&current, reader, kind, up_to) {
            self.message_range(session_id, up_to.next(), current.last_message_id, usize::MAX, false).await?
        } else {
            Vec::new()
        };
        let Some(mark) = SessionChange::mark_against(&current, reader, kind, up_to, &above, now) else {
            return Ok(Some(current));
        };
        // Lost to a concurrent, higher mark: the session as it is.
        Ok(match SessionUpdate::of(session_id, &mark)?.send(self, session_id).await? {
            Ok(session) | Err(Some(session)) => Some(session),
            Err(None) => None,
        })
    }

    async fn set_tags(&self, seen: &Session, tags: Vec<String>, now: Timestamp) -> StorageResult<WriteOutcome> {
        let change = SessionChange::Retag { revision: seen.revision, tags, at: now };
        let written = change.effects_on(seen);
        let mut items = vec![SessionUpdate::of(seen.id, &change)?.in_transaction(self, seen.id)];
        if seen.status.is_active() {
            items.extend(self.sync_pointer(&written)?);
        }
        if let Some(bucket) = Bucket::of(seen.status, seen.admin_id) {
            items.extend(self.retagged(&bucket, &seen.tags, &written.tags));
        }
        self.conditional(seen, items, written).await
    }

    async fn rate_session(
        &self,
        seen: &Session,
        rating: u8,
        feedback: Option<String>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome> {
        self.update_alone(seen, SessionChange::Rate { rating, feedback, at: now }).await
    }

    async fn claim_email(&self, seen: &Session, claim: EmailClaim, now: Timestamp) -> StorageResult<WriteOutcome> {
        self.update_alone(seen, SessionChange::Emailed { claim, at: now }).await
    }
}

impl DynamoStore {
    /// `change` of `seen` as one conditional update of the session item: for a change no
    /// pointer, count or index follows.
    async fn update_alone(&self, seen: &Session, change: SessionChange) -> StorageResult<WriteOutcome> {
        match SessionUpdate::of(seen.id, &change)?.send(self, seen.id).await? {
            Ok(_) => Ok(WriteOutcome::Written(change.effects_on(seen))),
            Err(Some(current)) => Ok(WriteOutcome::Stale(current)),
            Err(None) => Err(StorageError::Malformed(format!("session {} vanished", seen.id))),
        }
    }
}
