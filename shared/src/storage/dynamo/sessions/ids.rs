//! Message ids. Each session owns a block of ids taken from the one counter, sixteen at a
//! time, and its sends use them in turn: a counter write once per block rather than once per
//! send (one item takes about 1,000 writes a second, which would cap every send of the
//! deployment), and no id is given twice anywhere. Within a session ids rise in commit
//! order: a send is conditional on the session's last id being below its own, and on its id
//! lying in the session's current block.
//!
//! This process remembers, per session, the last id and the end of the block as it last
//! saw them; a send proposes the next id from that, so that sends taking turns here never
//! collide, and a send that finds the memory stale learns the truth from its failed
//! condition and proposes once more.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use super::super::DynamoStore;
use super::super::items::Item;
use crate::Timestamp;
use crate::domain::{MessageId, SessionId, StoreId};
use crate::storage::{IdReservation, IdsFor, SessionStore, StorageResult};

/// Ids a session takes from the counter at a time.
pub(super) const BLOCK: u64 = 16;
/// The counter blocks come from.
const MESSAGE_ID_COUNTER: &str = "MESSAGE_ID";
/// Sessions remembered at most; beyond, memory starts over (a send then takes a block).
const REMEMBERED: usize = 10_000;

/// Where a session's ids stood when this process last saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SessionIds {
    pub(super) last: MessageId,
    pub(super) block_end: MessageId,
    /// When its last message is dated: a message proposed earlier would be refused.
    pub(super) last_message_at: Option<Timestamp>,
}

impl SessionIds {
    /// As a session item has them (an item from before blocks has none: its block is over).
    pub(super) fn of_item(item: &Item) -> Self {
        let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
        SessionIds {
            last: MessageId(number("last_message_id").unwrap_or(0)),
            block_end: MessageId(number("id_block_end").unwrap_or(0)),
            last_message_at: item
                .get("last_message_at")
                .and_then(|v| v.as_s().ok())
                .and_then(|at| Timestamp::parse(at).ok()),
        }
    }

    fn next_in_block(self) -> Option<MessageId> {
        self.ahead_in_block(0)
    }

    /// The id `lead` ids past the next, or the block's last when that is nearer: still in
    /// the block, above the last.
    fn ahead_in_block(self, lead: u64) -> Option<MessageId> {
        let next = self.last.next();
        (next <= self.block_end).then(|| MessageId(next.0.saturating_add(lead).min(self.block_end.0)))
    }
}

/// The id a send proposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Proposal {
    /// The next id of the session's block.
    InBlock(MessageId),
    /// The first id of a fresh block, which becomes the session's.
    FreshBlock { first: MessageId, end: MessageId },
}

impl Proposal {
    pub(super) fn id(self) -> MessageId {
        match self {
            Proposal::InBlock(id) | Proposal::FreshBlock { first: id, .. } => id,
        }
    }
}

/// What this process knows of one session's ids.
#[derive(Clone, Copy, Debug, Default)]
struct Known {
    ids: SessionIds,
    /// A fresh block taken ahead, beside a read, for the send that finds the block used up.
    spare: Option<(MessageId, MessageId)>,
    /// A send is taking the spare block now; the others need not.
    taking_spare: bool,
    /// A send is opening a fresh block now: until it commits, the block looks used up.
    opening_block: bool,
}

/// Clears a session's `opening_block` when the send that may have set it ends.
pub(super) struct OpeningBlock<'a> {
    store: &'a DynamoStore,
    session: SessionId,
}

impl Drop for OpeningBlock<'_> {
    fn drop(&mut self) {
        if let Some(known) = self.store.known_ids().sessions.get_mut(&self.session) {
            known.opening_block = false;
        }
    }
}

/// Clears a session's `taking_spare`, and wakes the sends waiting for it, when the
/// reservation that set it ends, however it ends.
struct TakingSpare<'a> {
    store: &'a DynamoStore,
    session: SessionId,
}

impl Drop for TakingSpare<'_> {
    fn drop(&mut self) {
        if let Some(known) = self.store.known_ids().sessions.get_mut(&self.session) {
            known.taking_spare = false;
        }
        self.store.message_ids.spare_taken.notify_waiters();
    }
}

/// What this process knows of sessions' ids.
#[derive(Default)]
struct KnownIds {
    sessions: HashMap<SessionId, Known>,
    active: HashMap<StoreId, SessionId>,
}

/// This process's side of message ids: what it knows of sessions' blocks, and a signal for
/// a send that waits for the spare block another is taking.
#[derive(Default)]
pub(in crate::storage::dynamo) struct MessageIds {
    known: Mutex<KnownIds>,
    spare_taken: Notify,
}

impl KnownIds {
    fn session_of(&self, into: IdsFor) -> Option<SessionId> {
        match into {
            IdsFor::Session(id) => Some(id),
            IdsFor::ActiveSessionOf(store) => self.active.get(&store).copied(),
        }
    }
}

impl DynamoStore {
    fn known_ids(&self) -> MutexGuard<'_, KnownIds> {
        self.message_ids.known.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remembers where `session`'s ids stand (and, for a send into a store's active session,
    /// that it is the store's): from a commit or a read of this process, unless it already
    /// knows of a later message.
    pub(super) fn remember(&self, session: SessionId, into: IdsFor, ids: SessionIds) {
        self.learn(session, into, ids, false);
    }

    /// Remembers where `session`'s ids stand as a failed condition found them: the truth, even
    /// when it is behind what this process believed (the table was replaced, say).
    pub(super) fn correct(&self, session: SessionId, into: IdsFor, ids: SessionIds) {
        self.learn(session, into, ids, true);
    }

    fn learn(&self, session: SessionId, into: IdsFor, ids: SessionIds, whatever_it_knew: bool) {
        let mut known = self.known_ids();
        if known.sessions.len() >= REMEMBERED {
            *known = KnownIds::default();
        }
        let entry = known.sessions.entry(session).or_default();
        if whatever_it_knew || ids.last >= entry.ids.last {
            entry.ids = ids;
        }
        if let IdsFor::ActiveSessionOf(store) = into {
            known.active.insert(store, session);
        }
    }

    /// Marks `session` as having a send of this process opening a block until the returned
    /// guard is dropped, when that send ends, however it ends.
    pub(super) fn opening_block(&self, session: SessionId) -> OpeningBlock<'_> {
        OpeningBlock { store: self, session }
    }

    /// When `session`'s last message is dated, as this process knows it.
    pub(super) fn known_last_message_at(&self, session: SessionId) -> Option<Timestamp> {
        self.known_ids().sessions.get(&session).and_then(|known| known.ids.last_message_at)
    }

    /// The end of `session`'s block as this process knows it.
    pub(super) fn known_block_end(&self, session: SessionId) -> MessageId {
        self.known_ids().sessions.get(&session).map(|known| known.ids.block_end).unwrap_or_default()
    }

    /// Beside the read that decides a send: nothing when the session's block has room (or
    /// another send is already taking the next one), or when the read will tell (a send into
    /// a session it names reads that session); else a fresh block from the counter, left for
    /// the send that will need it.
    pub(super) async fn reserve(&self, into: IdsFor) -> StorageResult<IdReservation> {
        // A store's send reads only its pointer; when this process knows which session that
        // leads to, it reads the session beside it, to propose from the truth rather than
        // from what it last wrote (the admin's replies come from other processes). Beside,
        // not before, the block taken from what it knew: neither waits for the other.
        let store_session = match into {
            IdsFor::ActiveSessionOf(store) => self.known_ids().active.get(&store).copied(),
            IdsFor::Session(_) => None,
        };
        let read = async {
            match store_session {
                Some(session) => self.session(session).await.map(|_| ()),
                None => Ok(()),
            }
        };
        let (read, reservation) = tokio::join!(read, self.reserve_from_memory(into));
        read?;
        reservation
    }

    async fn reserve_from_memory(&self, into: IdsFor) -> StorageResult<IdReservation> {
        let none = IdReservation { into, fresh: None };
        let session = {
            let mut known = self.known_ids();
            let session = known.session_of(into);
            match session.and_then(|id| known.sessions.get_mut(&id)) {
                Some(known)
                    if known.ids.next_in_block().is_some()
                        || known.spare.is_some()
                        || known.taking_spare
                        || known.opening_block =>
                {
                    return Ok(none);
                }
                Some(known) => {
                    known.taking_spare = true;
                    session
                }
                None if matches!(into, IdsFor::Session(_)) => return Ok(none),
                None => None,
            }
        };
        let Some(session) = session else {
            // A store's session this process has not seen: the block goes with the send.
            let block = self.fresh_block().await?;
            return Ok(IdReservation { into, fresh: Some(block) });
        };
        let _taking = TakingSpare { store: self, session };
        let block = self.fresh_block().await?;
        if let Some(known) = self.known_ids().sessions.get_mut(&session) {
            known.spare = Some(block);
        }
        Ok(none)
    }

    async fn fresh_block(&self) -> StorageResult<(MessageId, MessageId)> {
        let end = self.bump_counter(MESSAGE_ID_COUNTER, BLOCK).await?;
        Ok((MessageId(end + 1 - BLOCK), MessageId(end)))
    }

    /// The id a send into `session` proposes now, taking turns with the other sends of this
    /// process: the next of the session's block, else the spare block, else the block the
    /// send brought, else (when others used the spare up meanwhile) a block taken now.
    ///
    /// A send that lost `lost` races for the next id to sends of other processes proposes
    /// that many ids further: what it learnt from its loss is one round trip old, and others
    /// commit meanwhile. Proposing the next id again, it would lose to whichever process
    /// committed last, which alone knows the next id for sure, over and over; skipped ids
    /// are never used.
    pub(super) async fn propose(
        &self,
        session: SessionId,
        ids: &mut IdReservation,
        lost: u64,
    ) -> StorageResult<Proposal> {
        let (last, spare) = loop {
            let spare_taken = {
                let mut known = self.known_ids();
                let known = known.sessions.entry(session).or_default();
                if let Some(next) = known.ids.ahead_in_block(lost) {
                    return Ok(Proposal::InBlock(next));
                }
                if known.spare.is_some() || !known.taking_spare {
                    known.opening_block = true;
                    break (known.ids.last, known.spare.take());
                }
                // Another send is taking the spare block: wait for it rather than take a
                // second one. Made under the lock, so the signal cannot come before it.
                self.message_ids.spare_taken.notified()
            };
            spare_taken.await;
        };
        let above_last = |(first, _): &(MessageId, MessageId)| *first > last;
        let (first, end) = match spare.filter(above_last).or_else(|| ids.fresh.take().filter(above_last)) {
            Some(block) => block,
            None => self.fresh_block().await?,
        };
        Ok(Proposal::FreshBlock { first, end })
    }
}
