//! Sessions and their messages: reading them, and the writes that change them.

use std::borrow::Borrow;
use std::cmp::Reverse;

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::{
    AdminId, EmailClaim, Holder, Message, MessageId, NewMessage, ReceiptKind, SendLimit, SenderType, Session,
    SessionFilter, SessionId, SessionStatus, StoreId, TooManySends,
};

/// A session with some of its messages, ascending by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPage {
    pub session: Session,
    pub messages: Vec<Message>,
    /// True when the call that returned it opened the session.
    pub opened: bool,
}

/// Which of a session's messages a page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageWindow {
    /// The oldest of those with ids above this one: what a client missed.
    After(MessageId),
    /// The newest of those with ids below this one: the history before what a client shows.
    Before(MessageId),
}

/// A page of a session's messages, ascending, with the session they belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageSlice {
    pub session: Session,
    pub messages: Vec<Message>,
    /// Whether the window holds more beyond the page (later ones after an id, earlier ones
    /// before it).
    pub has_more: bool,
}

impl MessageSlice {
    /// From a read of up to `limit + 1` messages in the window's order (ascending after an
    /// id, newest first before one): the extra one only says there are more.
    pub(crate) fn from_one_more(
        session: Session,
        mut messages: Vec<Message>,
        window: MessageWindow,
        limit: usize,
    ) -> Self {
        let has_more = messages.len() > limit;
        messages.truncate(limit);
        if let MessageWindow::Before(_) = window {
            messages.reverse();
        }
        MessageSlice { session, messages, has_more }
    }
}

/// What a send is conditional on, beyond the session not being closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendGuard<'a> {
    /// The session's revision is still the one of the session the sender was authorised
    /// against (which also tells the store what it knew of the session then).
    Seen(&'a Session),
    /// The session's revision is still this one: its holder is still the one the sender
    /// will tell (a store that read its pointer).
    Revision(u64),
    /// Nothing more.
    NotClosed,
}

impl<'a> AppendGuard<'a> {
    /// The session the sender read, if it read one.
    pub fn seen(self) -> Option<&'a Session> {
        match self {
            AppendGuard::Seen(session) => Some(session),
            AppendGuard::Revision(_) | AppendGuard::NotClosed => None,
        }
    }

    /// The revision the send is conditional on, if any.
    pub fn revision(self) -> Option<u64> {
        match self {
            AppendGuard::Seen(session) => Some(session.revision),
            AppendGuard::Revision(revision) => Some(revision),
            AppendGuard::NotClosed => None,
        }
    }
}

/// The session a send goes into, as the sender knows it before reading anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdsFor {
    Session(SessionId),
    /// The store's active session, whichever that is.
    ActiveSessionOf(StoreId),
}

/// Ids set aside for one send, beside the read that decides it, so that taking them costs
/// the send no round trip of its own. A send that does not use them gives them back
/// ([`SessionStore::release_message_ids`]), or they are skipped: ids are never reused.
/// Neither cloned nor built outside storage: ids given to two sends could give one id twice.
#[derive(Debug)]
pub struct IdReservation {
    /// The send's place in the order of its session's sends, when storage orders them.
    pub(crate) place: Option<Place>,
    /// Ids no other send will be given, first and last: the embedded store's id for the
    /// send, or a block to open a session with.
    pub(crate) fresh: Option<(MessageId, MessageId)>,
}

/// A send's place in the order of one session's sends, and the id it commits with once the
/// place before it is committed or given up.
#[derive(Debug)]
pub(crate) struct Place {
    pub(crate) session: SessionId,
    /// Its number in the session's order, from 1.
    pub(crate) number: u64,
    pub(crate) id: MessageId,
    /// How long taking it took: about how far apart the places before it commit.
    pub(crate) took: std::time::Duration,
    /// Kept while the place is in use; dropped when the send is done with it.
    pub(crate) _in_use: InUse,
}

/// What storage keeps while a place is in use: dropping it lets the next send go.
pub(crate) struct InUse {
    _kept: Box<dyn std::any::Any + Send + Sync>,
}

impl InUse {
    pub(crate) fn new(kept: impl std::any::Any + Send + Sync) -> Self {
        InUse { _kept: Box::new(kept) }
    }
}

impl std::fmt::Debug for InUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InUse")
    }
}

/// What opening a store's session with its first message came to.
#[derive(Debug)]
pub enum Opening {
    /// Opened, with the message stored as its first.
    Opened { session: Box<Session>, message: Message },
    /// The store has an active session after all (another request opened it first); nothing
    /// was written, and the ids are back for the send into that one.
    Active { active: ActiveSession, ids: IdReservation },
    /// There is no such store.
    NoStore,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Stored with an id above every id the session held.
    Appended(Message),
    /// The session already holds a message with this `client_message_id`; nothing was stored.
    Duplicate(Message),
    /// The upload is attached to this other message already; nothing was stored.
    UploadTaken(MessageId),
    /// The guard no longer holds; nothing was stored. The caller decides again on the
    /// current session.
    Stale(Box<Session>),
    /// Its sender sent the minute's limit into the session already; nothing was stored.
    TooMany(TooManySends),
}

/// The outcome of a write conditional on the session the caller read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written; the session as it now is, as far as the write knows: the one the caller
    /// read with the change applied (messages may have arrived since).
    Written(Session),
    /// The session changed since the caller read it; nothing was written.
    Stale(Session),
}

/// A session waiting in the open queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub session: SessionId,
    pub store: StoreId,
    /// When its store first wrote: the queue's order.
    pub since: Timestamp,
}

/// A store's open or claimed session, as its pointer knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveSession {
    pub id: SessionId,
    pub status: SessionStatus,
    pub admin_id: Option<AdminId>,
    /// The session's revision when the pointer was last in step with it.
    pub revision: u64,
}

/// A session a store just closed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClosedSession {
    pub id: SessionId,
    pub status: SessionStatus,
    pub admin_id: Option<AdminId>,
    pub closed_at: Timestamp,
}

/// Which sessions an admin lists (API.md: all open ones; claimed and closed only its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionQuery {
    pub admin: AdminId,
    /// The statuses to list; empty lists all.
    pub statuses: Vec<SessionStatus>,
    pub tag: Option<String>,
    pub limit: usize,
    pub offset: usize,
    /// Continue after this position (a previous page's `next_cursor`).
    pub after: Option<ListPosition>,
    /// A search, an activity range, whose.
    pub filter: SessionFilter,
}

/// A place in the activity order of sessions: newest activity first, ties by id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListPosition {
    pub last_message_at: Timestamp,
    pub session_id: SessionId,
}

impl ListPosition {
    pub fn of(session: &Session) -> Self {
        ListPosition { last_message_at: session.last_message_at, session_id: session.id }
    }

    /// The opaque text clients hand back as `cursor`.
    pub fn to_cursor(&self) -> String {
        use base64::Engine;
        let text = format!("{}|{}", self.last_message_at, self.session_id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    pub fn from_cursor(cursor: &str) -> Option<Self> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (at, id) = text.split_once('|')?;
        Some(ListPosition { last_message_at: Timestamp::parse(at).ok()?, session_id: id.parse().ok()? })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionList {
    pub sessions: Vec<Session>,
    /// How many sessions match the query, whatever the page.
    pub total_count: u64,
    /// Where the next page starts, if there is one.
    pub next: Option<ListPosition>,
}

impl SessionList {
    /// The page `query` asks for among `matching`, in any order: newest activity first, after
    /// `query.after`, past `query.offset`, at most `query.limit`, and where the next starts.
    pub(crate) fn page<S: Borrow<Session>>(mut matching: Vec<S>, query: &SessionQuery, total_count: u64) -> Self {
        matching.sort_by_key(|s| Reverse(ListPosition::of(s.borrow())));
        let mut sessions: Vec<Session> = matching
            .iter()
            .map(Borrow::borrow)
            .filter(|s| query.after.as_ref().is_none_or(|after| ListPosition::of(s) < *after))
            .skip(query.offset)
            .take(query.limit + 1)
            .cloned()
            .collect();
        let next = (sessions.len() > query.limit).then(|| ListPosition::of(&sessions[query.limit - 1]));
        sessions.truncate(query.limit);
        SessionList { sessions, total_count, next }
    }
}

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    // Reading.
    /// The store's open or claimed session with its `newest` messages, created (open, with
    /// the store's profile copied in) when it has none. Concurrent calls for one store
    /// yield one session. `None` when the store does not exist.
    async fn get_or_create_active_session(
        &self,
        store: StoreId,
        newest: usize,
        now: Timestamp,
    ) -> StorageResult<Option<SessionPage>>;
    /// The store's open or claimed session, if it has one: its id and who holds it.
    async fn active_session(&self, store: StoreId) -> StorageResult<Option<ActiveSession>>;
    /// The store's active session, or else the one it closed last, with its `newest`
    /// messages; `None` if it has had none. Creates nothing.
    async fn latest_session(&self, store: StoreId, newest: usize) -> StorageResult<Option<SessionPage>>;
    /// Up to `limit` of the sessions waiting in the open queue ([`Session::is_waiting`]),
    /// longest waiting first.
    async fn waiting_sessions(&self, limit: usize) -> StorageResult<Vec<Waiting>>;
    /// How many sessions have waited longer than `session`, a waiting one.
    async fn waiting_ahead_of(&self, session: &Session) -> StorageResult<u64>;
    async fn session(&self, id: SessionId) -> StorageResult<Option<Session>>;
    /// A session with its `newest` messages.
    async fn session_page(&self, id: SessionId, newest: usize) -> StorageResult<Option<SessionPage>>;
    /// Up to `limit` messages of `window`, ascending.
    async fn messages(&self, id: SessionId, window: MessageWindow, limit: usize)
    -> StorageResult<Option<MessageSlice>>;
    /// The sessions `query.admin` may list, newest activity first.
    async fn list_sessions(&self, query: &SessionQuery) -> StorageResult<SessionList>;
    /// The newest `limit` sessions of `store`, newest first, and how many it has had.
    async fn sessions_of_store(&self, store: StoreId, limit: usize) -> StorageResult<(Vec<Session>, u64)>;

    // Writing.
    /// Sets ids aside for a send into `into`, beside the read that decides the send, so that
    /// taking them costs the send no round trip of its own.
    async fn reserve_message_ids(&self, into: IdsFor) -> StorageResult<IdReservation>;
    /// Gives back ids a send will not use, so that the sends after it need not wait for them.
    async fn release_message_ids(&self, ids: IdReservation);
    /// Opens the store's active session with `message` as its first, in one write, if the
    /// store has none (with the store's profile copied in, dated `now`, its first send of
    /// the minute under `limit`); a send that cannot be stored opens nothing.
    async fn open_with_message(
        &self,
        store: StoreId,
        ids: IdReservation,
        message: NewMessage,
        now: Timestamp,
        limit: SendLimit,
    ) -> StorageResult<Opening>;
    /// Appends `message` to `session` under `guard`, with an id above every id the session
    /// holds and held by no other message anywhere (from `ids`, or fresh ones if those no
    /// longer fit); dated `now`, or the session's last message's time if that is later
    /// ([`Session::time_of_change`]); counted in its sender's sends of the minute, which
    /// must stay within `limit`.
    async fn append_message(
        &self,
        session: SessionId,
        guard: AppendGuard<'_>,
        ids: IdReservation,
        message: NewMessage,
        now: Timestamp,
        limit: SendLimit,
    ) -> StorageResult<AppendOutcome>;

    /// Moves `seen` to `status`/`admin_id` if its revision is still the one the caller
    /// read, dated `now` or the session's last message's time if that is later. Closing
    /// releases the store's active slot in the same write.
    async fn change_lifecycle(
        &self,
        seen: &Session,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome>;
    /// Closes the store's active session, if it has one, releasing its active slot; dated
    /// `now`, or the session's last message's time if that is later.
    async fn close_active_session(&self, store: StoreId, now: Timestamp) -> StorageResult<Option<ClosedSession>>;
    /// Raises `reader`'s delivered or read mark on the other party's messages to `up_to`
    /// (or the session's last message, if lower); a mark never moves back. Returns the
    /// session with the mark as it now stands, `None` if there is no such session.
    async fn mark_receipt(
        &self,
        session: SessionId,
        reader: SenderType,
        kind: ReceiptKind,
        up_to: MessageId,
        now: Timestamp,
    ) -> StorageResult<Option<Session>>;
    /// Replaces the tags of `seen` if its revision is still the one the caller read.
    async fn set_tags(&self, seen: &Session, tags: Vec<String>, now: Timestamp) -> StorageResult<WriteOutcome>;
    /// Records the store's rating of `seen` if it is closed and not yet rated.
    async fn rate_session(
        &self,
        seen: &Session,
        rating: u8,
        feedback: Option<String>,
        now: Timestamp,
    ) -> StorageResult<WriteOutcome>;
    /// Claims a mail about `seen` if its conditions hold ([`EmailClaim`]): of the callers
    /// racing for one mail, one is `Written`.
    async fn claim_email(&self, seen: &Session, claim: EmailClaim, now: Timestamp) -> StorageResult<WriteOutcome>;
}

/// The list a session counts in for `total_count`: the open queue, or one admin's claimed
/// or closed sessions. Sessions closed before anyone claimed them are in no list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Bucket {
    Open,
    Held(AdminId, SessionStatus),
}

impl Bucket {
    pub(crate) fn of(status: SessionStatus, admin_id: Option<AdminId>) -> Option<Bucket> {
        match (status, admin_id) {
            (SessionStatus::Open, _) => Some(Bucket::Open),
            (status, Some(admin)) => Some(Bucket::Held(admin, status)),
            (SessionStatus::Claimed | SessionStatus::Closed, None) => None,
        }
    }

    /// The lists a query reads and counts: of its statuses, of the lists the admin sees,
    /// whose its filter asks for.
    pub(crate) fn for_query(query: &SessionQuery) -> Vec<Bucket> {
        [SessionStatus::Open, SessionStatus::Claimed, SessionStatus::Closed]
            .into_iter()
            .filter(|status| query.statuses.is_empty() || query.statuses.contains(status))
            .filter(|status| match query.filter.holder {
                Holder::Anyone => true,
                Holder::Nobody => *status == SessionStatus::Open,
                Holder::Me => *status != SessionStatus::Open,
            })
            .map(|status| match status {
                SessionStatus::Open => Bucket::Open,
                held => Bucket::Held(query.admin, held),
            })
            .collect()
    }

    pub(crate) fn contains(&self, session: &Session) -> bool {
        Bucket::of(session.status, session.admin_id).as_ref() == Some(self)
    }
}
