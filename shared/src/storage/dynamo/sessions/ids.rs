//! Message ids. Every id comes from the one counter (`COUNTER`/`MESSAGE_ID`), sixteen at a
//! time: a session takes a block as it needs one, so the counter takes one write per sixteen
//! sends (one item takes about 1,000 writes a second, which would cap every send of the
//! deployment), and no id is given twice anywhere.
//!
//! Within a session, the session's places item (`SESSION#<id>`/`IDS`) puts the sends in
//! order: each send takes the next place with one atomic `ADD`, beside the read that decides
//! it, whichever process it runs in. Place `p` stands for the id at offset `(p - 1) % 16` of
//! the session's block number `(p - 1) / 16`, whose first id the item records
//! (`block_<number>`). The send that takes a block's ninth place takes the session's next
//! block from the counter, so the block is there before anyone needs it: one counter write
//! per block, made by one send, with no race for it.
//!
//! A send commits on the condition that the place before its own is committed (the session
//! item keeps its `last_place`), or was given up ([`DynamoStore::give_up`]), so ids rise in
//! commit order with none skipped, however the sends' transactions overtake each other on the
//! way: a send that finds the one before it not yet there tries again a moment later, and
//! once the session's order has not moved for [`PATIENCE`] commits without it (that send, if
//! it still comes, takes a new place). Sends of one process into one session take turns in
//! their places' order before they try at all.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use tokio::sync::Notify;

use super::super::DynamoStore;
use super::super::items::*;
use crate::Timestamp;
use crate::domain::{MessageId, SendWindow, SenderType, SessionId, StoreId};
use crate::storage::{IdReservation, IdsFor, InUse, Place, StorageError, StorageResult};

/// Ids a session takes from the counter at a time.
const BLOCK: u64 = 16;
/// The offset in a block whose place's taker takes the session's next block: halfway, so the
/// next is there eight sends before it is needed, and a session of up to eight messages
/// takes one block.
const TAKES_NEXT_BLOCK_AT: u64 = 8;
/// The counter blocks come from.
const MESSAGE_ID_COUNTER: &str = "MESSAGE_ID";
/// How long a send waits for the place before its own to commit, with nothing moving, before
/// it commits without it: far longer than a send takes from taking its place to committing,
/// far shorter than a person waits.
const PATIENCE: Duration = Duration::from_millis(300);
/// Stores whose active session a process remembers at most; beyond, it starts over.
const REMEMBERED: usize = 10_000;

/// This process's side of message ids: what it knows of stores' active sessions, a spare
/// block for the next session it opens, and the order its own sends take turns in.
pub(in crate::storage::dynamo) struct MessageIds {
    /// This process's sends into one session take their places one after the other (by
    /// stripe of sessions), so that they are in use in the order they were taken.
    taking: Vec<tokio::sync::Mutex<()>>,
    active: Mutex<HashMap<StoreId, SessionId>>,
    /// The last place committed in each session, as this process last read or wrote it.
    committed: Mutex<HashMap<SessionId, Committed>>,
    spare: Mutex<Option<(MessageId, MessageId)>>,
    turns: Arc<Turns>,
}

impl Default for MessageIds {
    fn default() -> Self {
        MessageIds {
            taking: (0..TAKING_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            active: Mutex::default(),
            committed: Mutex::default(),
            spare: Mutex::default(),
            turns: Arc::default(),
        }
    }
}

/// Where a session's order of sends stands, as far as a process knows.
#[derive(Clone, Copy, Default)]
struct Committed {
    place: u64,
    /// The date of its last message: a send commits only dated at or after it.
    last_message_at: Option<Timestamp>,
    /// Each party's sends in the minute, as last written here: a send's first guess of
    /// what its write's condition finds.
    sends: [SendWindow; 2],
}

fn party_index(party: SenderType) -> usize {
    match party {
        SenderType::Store => 0,
        SenderType::Admin => 1,
    }
}

/// Sessions whose places this process takes at once, at most.
const TAKING_STRIPES: u64 = 64;

/// The places this process's sends hold, by session, and a signal when one is done with.
#[derive(Default)]
struct Turns {
    in_use: Mutex<HashMap<SessionId, BTreeSet<u64>>>,
    done: Notify,
}

impl Turns {
    fn in_use(&self) -> MutexGuard<'_, HashMap<SessionId, BTreeSet<u64>>> {
        self.in_use.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A place of this process's, in use until dropped.
struct Held {
    turns: Arc<Turns>,
    session: SessionId,
    number: u64,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut in_use = self.turns.in_use();
        if let Some(numbers) = in_use.get_mut(&self.session) {
            numbers.remove(&self.number);
            if numbers.is_empty() {
                in_use.remove(&self.session);
            }
        }
        drop(in_use);
        self.turns.done.notify_waiters();
    }
}

/// A session's places item as an `ADD` left it: the last place taken, and the first ids of
/// the blocks it still records.
struct Places {
    taken: u64,
    blocks: HashMap<u64, MessageId>,
}

impl Places {
    fn of_item(item: &Item) -> Self {
        let number = |value: &AttributeValue| value.as_n().ok()?.parse::<u64>().ok();
        let blocks = item
            .iter()
            .filter_map(|(name, value)| Some((name.strip_prefix("block_")?.parse().ok()?, MessageId(number(value)?))))
            .collect();
        Places { taken: item.get("taken").and_then(number).unwrap_or(0), blocks }
    }

    /// The id place `number` stands for, if its block is recorded.
    fn id_of(&self, number: u64) -> Option<MessageId> {
        let (block, offset) = block_and_offset(number);
        self.blocks.get(&block).map(|first| MessageId(first.0 + offset))
    }
}

/// The block a place's id lies in, and its offset there.
fn block_and_offset(number: u64) -> (u64, u64) {
    ((number - 1) / BLOCK, (number - 1) % BLOCK)
}

fn block_attribute(block: u64) -> String {
    format!("block_{block}")
}

/// A new session's places item: `taken` places taken already (1 when it opens with its first
/// message), and its first block of ids, from `first`.
pub(super) fn places_item(session: SessionId, taken: u64, first: MessageId) -> Item {
    Item::from([
        ("PK".to_owned(), s(session_pk(session))),
        ("SK".to_owned(), s(PLACES_SK)),
        ("taken".to_owned(), n(taken)),
        (block_attribute(0), n(first)),
    ])
}

/// The places item of a session opened before places were: none taken, and no block yet.
fn places_item_of_older_session(session: SessionId) -> Item {
    Item::from([("PK".to_owned(), s(session_pk(session))), ("SK".to_owned(), s(PLACES_SK)), ("taken".to_owned(), n(0))])
}

/// How a send waits for something another send does (commit the places before its own, take
/// a block): with pauses about as long as the work waited for takes, and not once nothing has
/// moved for [`PATIENCE`] per step still awaited.
pub(super) struct Patience {
    progress: u64,
    since: Instant,
}

impl Patience {
    pub(super) fn new() -> Self {
        Patience { progress: 0, since: Instant::now() }
    }

    /// Pauses, if the send is to wait longer: with `progress` made so far (the last place
    /// committed, say), `steps` still awaited, each about `round_trip` long. False if it goes
    /// without them.
    pub(super) async fn pause(&mut self, progress: u64, steps: u64, round_trip: Duration) -> bool {
        if progress != self.progress {
            (self.progress, self.since) = (progress, Instant::now());
        }
        let steps = steps.clamp(1, BLOCK) as u32;
        if self.since.elapsed() >= PATIENCE * steps {
            return false;
        }
        tokio::time::sleep((round_trip * steps).clamp(MIN_PAUSE, MAX_PAUSE)).await;
        true
    }
}

/// The shortest pause between two looks at what a send waits for.
const MIN_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause between two tries of a send waiting for the one before it.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// A party's sends in the minute, as a session item (or a copy of one) holds them.
fn sends_in(item: &Item, name: &str) -> Option<SendWindow> {
    let window = item.get(name)?.as_m().ok()?;
    let number = |field: &str| window.get(field)?.as_n().ok();
    Some(SendWindow { minute: number("in_minute")?.parse().ok()?, count: number("sent")?.parse().ok()? })
}

/// Where a session's order of sends stands, as its item says (none yet: 0): its last
/// committed place, and the places right after it that their senders gave up (a send
/// refused at its limit, say), which no send need wait for.
pub(super) fn last_place(item: &Item) -> u64 {
    let committed = item.get("last_place").and_then(|value| value.as_n().ok()).and_then(|n| n.parse().ok());
    let skipped: BTreeSet<u64> = match item.get("skipped_places") {
        Some(AttributeValue::Ns(numbers)) => numbers.iter().filter_map(|n| n.parse().ok()).collect(),
        _ => BTreeSet::new(),
    };
    let mut settled = committed.unwrap_or(0);
    while skipped.contains(&(settled + 1)) {
        settled += 1;
    }
    settled
}

impl DynamoStore {
    /// Beside the read that decides a send: its place in `into`'s order of sends, if this
    /// process knows which session that is (for a store's, from its last read of the store's
    /// pointer). Otherwise the send takes its place once it knows, or, opening the session, a
    /// block beside the read of the store's profile.
    pub(super) async fn reserve(&self, into: IdsFor) -> StorageResult<IdReservation> {
        let place = match into {
            // The admin's send reads the session anyway.
            IdsFor::Session(session) => self.take_place(session).await?,
            // A store's reads only its pointer: the session beside it tells where the
            // session's order of sends stands.
            IdsFor::ActiveSessionOf(store) => match self.known_active(store) {
                Some(session) => {
                    let (place, read) =
                        tokio::join!(self.take_place(session), self.get(session_pk(session), SESSION_SK));
                    if let Some(item) = read? {
                        self.learn_committed(session, &item);
                    }
                    place?
                }
                None => None,
            },
        };
        Ok(IdReservation { place, fresh: None })
    }

    /// The place for a send into `session`: the one reserved if it is in that session, else
    /// a new one. A block the reservation brought stays for the next session opened here.
    pub(super) async fn place_in(&self, session: SessionId, ids: IdReservation) -> StorageResult<Place> {
        if let Some(block) = ids.fresh {
            self.keep_spare(block);
        }
        match ids.place {
            Some(place) if place.session == session => Ok(place),
            _ => self.new_place(session).await,
        }
    }

    /// A new place in the order of `session`'s sends; a session from before places gets its
    /// places item first.
    pub(super) async fn new_place(&self, session: SessionId) -> StorageResult<Place> {
        if let Some(place) = self.take_place(session).await? {
            return Ok(place);
        }
        let item = places_item_of_older_session(session);
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        match put.condition_expression("attribute_not_exists(PK)").send().await {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {}
            Err(error) => return Err(unavailable(error)),
        }
        self.take_place(session)
            .await?
            .ok_or_else(|| StorageError::Malformed(format!("session {session} has no places item")))
    }

    /// The next place in `session`'s order: one `ADD`. `None` if the session has no places
    /// item (there is no such session, or it is older than places).
    async fn take_place(&self, session: SessionId) -> StorageResult<Option<Place>> {
        let stripe = &self.message_ids.taking[(session.0 % TAKING_STRIPES) as usize];
        let _taking = crate::deadline::not_counted(stripe.lock()).await;
        let started = Instant::now();
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(session_pk(session)))
            .key("SK", s(PLACES_SK))
            .update_expression("ADD taken :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let places = match output {
            Ok(output) => Places::of_item(&output.attributes.unwrap_or_default()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => return Ok(None),
            Err(error) => return Err(unavailable(error)),
        };
        let number = places.taken;
        let id = match places.id_of(number) {
            Some(id) => id,
            None => self.block_for(session, number).await?,
        };
        self.message_ids.turns.in_use().entry(session).or_default().insert(number);
        let held = Held { turns: self.message_ids.turns.clone(), session, number };
        Ok(Some(Place { session, number, id, took: started.elapsed(), _in_use: InUse::new(held) }))
    }

    /// The id of place `number` of `session`, whose block was not recorded when the place
    /// was taken: the send that takes it may still be at it, so it is waited for, as long as
    /// patience lasts; if it does not come (that send failed, or the session is older than
    /// places), this send takes the block.
    async fn block_for(&self, session: SessionId, number: u64) -> StorageResult<MessageId> {
        let block = block_and_offset(number).0;
        let mut patience = Patience::new();
        let mut round_trip = Duration::ZERO;
        // The first block has no taker but the session's first send.
        while block > 0 && patience.pause(0, 1, round_trip).await {
            let started = Instant::now();
            let item = self.get(session_pk(session), PLACES_SK).await?;
            round_trip = started.elapsed();
            if let Some(id) = item.as_ref().map(Places::of_item).and_then(|places| places.id_of(number)) {
                return Ok(id);
            }
        }
        self.record_block(session, block).await
    }

    /// The block of its session that the taker of `place` takes, if it takes one.
    pub(super) fn next_block_taken_by(place: &Place) -> Option<u64> {
        let (block, offset) = block_and_offset(place.number);
        (offset == TAKES_NEXT_BLOCK_AT).then_some(block + 1)
    }

    /// Takes a block from the counter and records it as `session`'s block number `block`
    /// (forgetting the one two before, which no place can need), unless another send did
    /// first: then theirs, and this one is kept for a session this process opens.
    pub(super) async fn record_block(&self, session: SessionId, block: u64) -> StorageResult<MessageId> {
        let taken = self.fresh_block().await?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(session_pk(session)))
            .key("SK", s(PLACES_SK))
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#block)")
            .expression_attribute_names("#block", block_attribute(block))
            .expression_attribute_values(":first", n(taken.0))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = match block.checked_sub(2) {
            Some(old) => update
                .update_expression("SET #block = :first REMOVE #old")
                .expression_attribute_names("#old", block_attribute(old)),
            None => update.update_expression("SET #block = :first"),
        };
        match update.send().await {
            Ok(_) => Ok(taken.0),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let UpdateItemError::ConditionalCheckFailedException(failed) = e.into_err() else {
                    unreachable!("matched above")
                };
                let recorded = failed.item.as_ref().map(Places::of_item).and_then(|p| p.blocks.get(&block).copied());
                let recorded = recorded.ok_or_else(|| {
                    StorageError::Malformed(format!("session {session} has no places item for block {block}"))
                })?;
                self.keep_spare(taken);
                Ok(recorded)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Waits until every place this process holds in `place`'s session before it is done
    /// with, or until they stop moving for [`PATIENCE`] (a send that holds its place while it
    /// waits for something else): then the session's own order decides.
    pub(super) async fn wait_for_turn(&self, place: &Place) {
        let mut waited_for = None;
        let mut since = Instant::now();
        loop {
            let done = {
                let in_use = self.message_ids.turns.in_use();
                let first = in_use.get(&place.session).and_then(|numbers| numbers.first().copied());
                let Some(first) = first.filter(|first| *first < place.number) else { return };
                if waited_for != Some(first) {
                    (waited_for, since) = (Some(first), Instant::now());
                }
                // Made under the lock, so the signal cannot come before it.
                self.message_ids.turns.done.notified()
            };
            let left = PATIENCE.saturating_sub(since.elapsed());
            if left.is_zero() || crate::deadline::not_counted(tokio::time::timeout(left, done)).await.is_err() {
                return;
            }
        }
    }

    /// Tells the sends after `place` that it will not be committed: its sender gave it up.
    /// Written only while the session's order has not gone past it; a failure costs those
    /// sends their patience, nothing more.
    pub(super) async fn give_up(&self, place: Place) {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(session_pk(place.session)))
            .key("SK", s(SESSION_SK))
            .update_expression("ADD skipped_places :number")
            .condition_expression("attribute_exists(PK) AND (attribute_not_exists(last_place) OR last_place < :place)")
            .expression_attribute_values(":number", AttributeValue::Ns(vec![place.number.to_string()]))
            .expression_attribute_values(":place", n(place.number))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {}
            Err(error) => tracing::warn!(error = %DisplayErrorContext(&error), "could not give up a place"),
        }
    }

    /// Remembers the last place committed in the session whose item this is (a read of it,
    /// or a failed condition's copy), unless this process knows of a later one.
    pub(super) fn learn_committed(&self, session: SessionId, item: &Item) {
        let last_message_at = item.get("last_message_at").and_then(|at| Timestamp::parse(at.as_s().ok()?).ok());
        self.committed(session, last_place(item), last_message_at);
        for (party, name) in [(SenderType::Store, "store_sends"), (SenderType::Admin, "admin_sends")] {
            if let Some(window) = sends_in(item, name) {
                self.remember_sends(session, party, window);
            }
        }
    }

    /// Remembers that `place` of `session` is committed, its message (if known) dated `at`.
    pub(super) fn committed(&self, session: SessionId, place: u64, at: Option<Timestamp>) {
        let mut committed = self.message_ids.committed.lock().unwrap_or_else(|p| p.into_inner());
        if committed.len() >= REMEMBERED {
            committed.clear();
        }
        let last = committed.entry(session).or_default();
        if place >= last.place {
            last.last_message_at = at.max(last.last_message_at);
        }
        last.place = last.place.max(place);
    }

    /// The last place committed in `session`, as far as this process knows.
    pub(super) fn known_committed(&self, session: SessionId) -> Option<u64> {
        self.known(session).map(|committed| committed.place)
    }

    /// `party`'s sends in the minute in `session`, as this process last wrote them.
    pub(super) fn known_sends(&self, session: SessionId, party: SenderType) -> Option<SendWindow> {
        self.known(session).map(|committed| committed.sends[party_index(party)])
    }

    pub(super) fn remember_sends(&self, session: SessionId, party: SenderType, window: SendWindow) {
        let mut committed = self.message_ids.committed.lock().unwrap_or_else(|p| p.into_inner());
        let known = &mut committed.entry(session).or_default().sends[party_index(party)];
        // Counts only rise within a minute, and minutes only pass.
        if (window.minute, window.count) > (known.minute, known.count) {
            *known = window;
        }
    }

    /// The date of the last message committed in `session`, as far as this process knows.
    pub(super) fn known_last_message_at(&self, session: SessionId) -> Option<Timestamp> {
        self.known(session).and_then(|committed| committed.last_message_at)
    }

    fn known(&self, session: SessionId) -> Option<Committed> {
        self.message_ids.committed.lock().unwrap_or_else(|p| p.into_inner()).get(&session).copied()
    }

    /// The store's active session as this process last saw it.
    fn known_active(&self, store: StoreId) -> Option<SessionId> {
        self.message_ids.active.lock().unwrap_or_else(|p| p.into_inner()).get(&store).copied()
    }

    /// Remembers `session` as `store`'s active one (or, with `None`, that it has none).
    pub(super) fn remember_active(&self, store: StoreId, session: Option<SessionId>) {
        let mut active = self.message_ids.active.lock().unwrap_or_else(|p| p.into_inner());
        if active.len() >= REMEMBERED {
            active.clear();
        }
        match session {
            Some(session) => active.insert(store, session),
            None => active.remove(&store),
        };
    }

    /// A block for a session this process opens: the spare, else one from the counter.
    pub(super) async fn spare_or_fresh_block(&self) -> StorageResult<(MessageId, MessageId)> {
        let spare = self.message_ids.spare.lock().unwrap_or_else(|p| p.into_inner()).take();
        match spare {
            Some(block) => Ok(block),
            None => self.fresh_block().await,
        }
    }

    /// Keeps `block` for the next session this process opens (one block at most: a process
    /// opens sessions one by one).
    pub(super) fn keep_spare(&self, block: (MessageId, MessageId)) {
        self.message_ids.spare.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(block);
    }

    async fn fresh_block(&self) -> StorageResult<(MessageId, MessageId)> {
        let end = self.bump_counter(MESSAGE_ID_COUNTER, BLOCK).await?;
        Ok((MessageId(end + 1 - BLOCK), MessageId(end)))
    }
}
