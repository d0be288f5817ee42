//! Every change of a session, as data: what must hold of the session for it to commit
//! ([`Condition`]) and what it does to the session ([`Effect`]). The rules (counts, reply
//! time, watermarks and their cap, "not closed", "closed and unrated", dating after the last
//! message) are written here once: the embedded store applies a change with
//! [`SessionChange::apply`]; the DynamoDB store translates the same conditions and effects,
//! one by one, into one condition and update expression.
//!
//! Effects are written so that they commute with messages arriving meanwhile (counts are
//! added to, not set), which lets a writer that has not read the newest state commit
//! without a read; the conditions say what it must have got right.

use super::email_marks::{EmailClaim, EmailKind};
use super::ids::{AdminId, MessageId};
use super::message::{Message, SenderType};
use super::receipts::ReceiptKind;
use super::send_limit::{SendCharge, SendLimit};
use super::session::{Session, SessionStatus};
use crate::Timestamp;

/// A change of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionChange {
    /// `message` joins the session: its id above every id there, dated at or after its
    /// last message.
    Append {
        message: Box<Message>,
        /// The revision the sender was authorised against, if it read the session.
        revision: Option<u64>,
        /// Since when the store waits for an answer, as the writer knows it; an admin's
        /// answer commits only if that is still so, so that its reply time is exact.
        awaiting_reply_since: Option<Timestamp>,
        /// What it takes from its sender's sends of the minute, under a limit.
        charge: Option<SendCharge>,
    },
    /// Claim, close or transfer: the session moves to `status`, held by `admin_id`.
    Move {
        revision: u64,
        status: SessionStatus,
        admin_id: Option<AdminId>,
        at: Timestamp,
    },
    /// Automatic assignment: the session is claimed for `admin_id`, as their claim would.
    Assign {
        revision: u64,
        admin_id: AdminId,
        at: Timestamp,
    },
    /// `reader`'s delivered or read mark rises to `up_to`.
    Mark {
        reader: SenderType,
        kind: ReceiptKind,
        up_to: MessageId,
        at: Timestamp,
        read_count: ReadCount,
    },
    Retag {
        revision: u64,
        tags: Vec<String>,
        at: Timestamp,
    },
    /// A mail about the session is claimed before it is sent, so that it goes out once.
    Emailed {
        claim: EmailClaim,
        at: Timestamp,
    },
    /// Its last message was edited or deleted: the session's copy follows, as long as it is
    /// still the last.
    Revise {
        message: Box<Message>,
    },
    /// The store's rating of a closed session, given once.
    Rate {
        rating: u8,
        feedback: Option<String>,
        at: Timestamp,
    },
}

/// How many of the other party's messages a read mark covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadCount {
    /// Not a read mark.
    Unchanged,
    /// All of them: the mark is at or above that party's newest message.
    All,
    Exactly(u64),
}

/// What must hold of the session, as it is when the change commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Its status, holder and tags are still those of this revision.
    Revision(u64),
    NotClosed,
    Closed,
    Unrated,
    /// Its last message is not dated after this time.
    LastMessageAtMost(Timestamp),
    /// Every message in it has a smaller id.
    LastMessageIdBelow(MessageId),
    /// It holds a message with this id or greater.
    LastMessageIdAtLeast(MessageId),
    /// The store waits for an answer since exactly then, or (`None`) does not wait.
    AwaitingReplySince(Option<Timestamp>),
    /// `reader`'s mark of this kind is below this id.
    MarkBelow(SenderType, ReceiptKind, MessageId),
    /// `party`'s newest message has this id or a smaller one.
    LastMessageFromAtMost(SenderType, MessageId),
    /// The store has not been sent the session's automatic away reply.
    NoAwayReply,
    /// No digest has covered this answer.
    DigestedBelow(MessageId),
    /// No digest went out since then.
    NoDigestSince(Timestamp),
    /// No mail of this kind went out about the session.
    NotEmailed(EmailKind),
    /// `party`'s count of sends in the minute allows the charge.
    Sends(SenderType, SendCharge),
}

/// One field a change writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Status(SessionStatus),
    AdminId(Option<AdminId>),
    /// Whether its holder has it by automatic assignment.
    Assigned(bool),
    /// Taken from the queue by this admin then, unless it was before.
    PickedUp(AdminId, Timestamp),
    Updated(Timestamp),
    ClosedAt(Timestamp),
    /// The revision goes up by one.
    NextRevision,
    LastMessageId(MessageId),
    LastMessageAt(Timestamp),
    LastMessage(Box<Message>),
    /// `party`'s newest message.
    LastMessageFrom(SenderType, MessageId),
    /// `party`'s message count goes up by one.
    CountMessageFrom(SenderType),
    /// The store waits for an answer since then, unless it already waits.
    StartWaiting(Timestamp),
    /// The store wrote for the first time then, unless it wrote before: the session's place
    /// in the waiting queue.
    Queued(Timestamp),
    /// Nobody waits any more; the wait, in milliseconds, joins the reply-time totals.
    Answered {
        waited_ms: u64,
    },
    /// `reader`'s mark of this kind is at `up_to` since `at`.
    Mark(SenderType, ReceiptKind, MessageId, Timestamp),
    /// `reader` has read this many of the other party's messages.
    ReadCount(SenderType, u64),
    /// `reader` has read every message of the other party.
    ReadAll(SenderType),
    Tags(Vec<String>),
    Rating(u8),
    Feedback(Option<String>),
    /// The store was sent the session's away reply then.
    AwayReplied(Timestamp),
    /// A digest covering the answers up to this one went out then.
    Digested(MessageId, Timestamp),
    /// A mail of this kind went out then.
    Emailed(EmailKind, Timestamp),
    /// The sender's count of sends in the minute takes the charge.
    Sends(SenderType, SendCharge),
}

/// The conditions of a change that do not hold; the session is as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet(pub Vec<Condition>);

impl Unmet {
    /// Whether the session changed under the writer's decision (its status, holder or
    /// tags), rather than only under what it proposed: then it must decide again.
    pub fn must_decide_again(&self) -> bool {
        self.0.iter().any(|condition| !condition.is_renewable())
    }

    /// Whether the proposed id was taken: a message at or above it is there already.
    pub fn id_taken(&self) -> bool {
        self.0.iter().any(|condition| matches!(condition, Condition::LastMessageIdBelow(_)))
    }
}

/// A store's new session `id`, with `store`'s profile copied in and `message` as its first
/// (its store's first send of the minute, under `limit`): opened when its first message is
/// stored, in the same write.
pub fn opened_with(
    id: super::ids::SessionId,
    store: super::principal::StoreProfile,
    message: &Message,
    limit: SendLimit,
) -> Session {
    let session = Session::new(id, store, message.created);
    // A fresh count always has room for one.
    let charge = limit.charge(session.store_sends, message.created).ok().flatten();
    SessionChange::append(message.clone(), None, None).charged(charge).effects_on(&session)
}

impl SessionChange {
    /// A message from `sender`, its id and time as the sender proposes them; see
    /// [`Session::time_of_change`] and [`Self::Append`].
    pub fn append(message: Message, revision: Option<u64>, awaiting_reply_since: Option<Timestamp>) -> Self {
        SessionChange::Append { message: Box::new(message), revision, awaiting_reply_since, charge: None }
    }

    /// The append, taking `charge` from its sender's sends of the minute.
    pub fn charged(mut self, new_charge: Option<SendCharge>) -> Self {
        if let SessionChange::Append { charge, .. } = &mut self {
            *charge = new_charge;
        }
        self
    }

    /// A mark made without reading the session: it commits only when `up_to` is within the
    /// session and, for a read mark, at or above the other party's newest message, whose
    /// count it then copies. Otherwise see [`Self::mark_against`].
    pub fn mark_up_to_newest(reader: SenderType, kind: ReceiptKind, up_to: MessageId, at: Timestamp) -> Self {
        let read_count = match kind {
            ReceiptKind::Delivered => ReadCount::Unchanged,
            ReceiptKind::Read => ReadCount::All,
        };
        SessionChange::Mark { reader, kind, up_to, at, read_count }
    }

    /// The mark against the session as read: capped at its last message, its read count
    /// taken from `above`, the session's messages above the cap (needed only when
    /// [`mark_needs_messages_above`]). `None` when the mark already stands there or
    /// higher: a mark never moves back.
    pub fn mark_against(
        current: &Session,
        reader: SenderType,
        kind: ReceiptKind,
        up_to: MessageId,
        above: &[Message],
        at: Timestamp,
    ) -> Option<Self> {
        let up_to = up_to.min(current.last_message_id);
        if up_to <= current.receipts_of(reader).mark(kind) {
            return None;
        }
        let read_count = match kind {
            ReceiptKind::Delivered => ReadCount::Unchanged,
            ReceiptKind::Read => ReadCount::Exactly(read_count_at(current, reader, up_to, above)),
        };
        Some(SessionChange::Mark { reader, kind, up_to, at, read_count })
    }

    /// What must hold of the session for this change to commit.
    pub fn conditions(&self) -> Vec<Condition> {
        match self {
            SessionChange::Append { message, revision, awaiting_reply_since, charge } => {
                let mut conditions = vec![
                    Condition::NotClosed,
                    Condition::LastMessageAtMost(message.created),
                    // Checked at commit, whatever id the sender proposed: ids increase in
                    // commit order within the session.
                    Condition::LastMessageIdBelow(message.id),
                ];
                conditions.extend(revision.map(Condition::Revision));
                // An automatic reply is sent once a session and answers nobody's wait; a
                // person's answer ends the wait it was written against.
                if message.automatic {
                    conditions.push(Condition::NoAwayReply);
                } else if message.sender_type == SenderType::Admin {
                    conditions.push(Condition::AwaitingReplySince(*awaiting_reply_since));
                }
                conditions.extend(charge.map(|charge| Condition::Sends(message.sender_type, charge)));
                conditions
            }
            SessionChange::Move { revision, at, .. } | SessionChange::Assign { revision, at, .. } => {
                vec![Condition::Revision(*revision), Condition::LastMessageAtMost(*at)]
            }
            SessionChange::Mark { reader, kind, up_to, read_count, .. } => {
                let mut conditions =
                    vec![Condition::LastMessageIdAtLeast(*up_to), Condition::MarkBelow(*reader, *kind, *up_to)];
                if *read_count == ReadCount::All {
                    conditions.push(Condition::LastMessageFromAtMost(reader.other(), *up_to));
                }
                conditions
            }
            SessionChange::Retag { revision, .. } => vec![Condition::Revision(*revision)],
            SessionChange::Rate { .. } => vec![Condition::Closed, Condition::Unrated],
            SessionChange::Revise { message } => {
                vec![Condition::LastMessageIdAtLeast(message.id), Condition::LastMessageIdBelow(message.id.next())]
            }
            SessionChange::Emailed { claim: EmailClaim::Digest { up_to, window }, .. } => {
                vec![Condition::DigestedBelow(*up_to), Condition::NoDigestSince(*window)]
            }
            SessionChange::Emailed { claim: EmailClaim::Once(kind), .. } => vec![Condition::NotEmailed(*kind)],
        }
    }

    pub fn effects(&self) -> Vec<Effect> {
        match self {
            SessionChange::Append { message, awaiting_reply_since, charge, .. } => {
                let (id, at, party) = (message.id, message.created, message.sender_type);
                let mut effects = vec![
                    Effect::LastMessageId(id),
                    Effect::LastMessageFrom(party, id),
                    Effect::LastMessageAt(at),
                    Effect::Updated(at),
                    Effect::LastMessage(message.clone()),
                    Effect::CountMessageFrom(party),
                ];
                match (party, awaiting_reply_since) {
                    _ if message.automatic => effects.push(Effect::AwayReplied(at)),
                    (SenderType::Store, _) => effects.extend([Effect::StartWaiting(at), Effect::Queued(at)]),
                    (SenderType::Admin, Some(since)) => {
                        effects.push(Effect::Answered { waited_ms: at.millis_since(*since) })
                    }
                    (SenderType::Admin, None) => {}
                }
                effects.extend(charge.map(|charge| Effect::Sends(party, charge)));
                effects
            }
            SessionChange::Move { status, admin_id, at, .. } => {
                let mut effects = vec![Effect::Status(*status), Effect::AdminId(*admin_id), Effect::Updated(*at)];
                match (status, admin_id) {
                    (SessionStatus::Closed, _) => effects.push(Effect::ClosedAt(*at)),
                    (SessionStatus::Claimed, Some(admin)) => effects.push(Effect::PickedUp(*admin, *at)),
                    _ => {}
                }
                effects.extend([Effect::Assigned(false), Effect::NextRevision]);
                effects
            }
            SessionChange::Assign { admin_id, at, .. } => vec![
                Effect::Status(SessionStatus::Claimed),
                Effect::AdminId(Some(*admin_id)),
                Effect::Updated(*at),
                Effect::Assigned(true),
                Effect::PickedUp(*admin_id, *at),
                Effect::NextRevision,
            ],
            SessionChange::Mark { reader, kind, up_to, at, read_count } => {
                let mut effects = vec![Effect::Mark(*reader, *kind, *up_to, *at)];
                match read_count {
                    ReadCount::Unchanged => {}
                    ReadCount::All => effects.push(Effect::ReadAll(*reader)),
                    ReadCount::Exactly(count) => effects.push(Effect::ReadCount(*reader, *count)),
                }
                effects
            }
            SessionChange::Retag { tags, at, .. } => {
                vec![Effect::Tags(tags.clone()), Effect::Updated(*at), Effect::NextRevision]
            }
            SessionChange::Rate { rating, feedback, at } => {
                vec![Effect::Rating(*rating), Effect::Feedback(feedback.clone()), Effect::Updated(*at)]
            }
            SessionChange::Revise { message } => vec![Effect::LastMessage(message.clone())],
            SessionChange::Emailed { claim: EmailClaim::Digest { up_to, .. }, at } => {
                vec![Effect::Digested(*up_to, *at)]
            }
            SessionChange::Emailed { claim: EmailClaim::Once(kind), at } => vec![Effect::Emailed(*kind, *at)],
        }
    }

    /// Whether this change's conditions hold for `session`.
    pub fn check(&self, session: &Session) -> Result<(), Unmet> {
        let unmet: Vec<Condition> = self.conditions().into_iter().filter(|c| !c.holds(session)).collect();
        if unmet.is_empty() { Ok(()) } else { Err(Unmet(unmet)) }
    }

    /// `session` with this change, if its conditions hold.
    pub fn apply(&self, session: &Session) -> Result<Session, Unmet> {
        self.check(session)?;
        Ok(self.effects_on(session))
    }

    /// `session` with this change's effects, its conditions unchecked: what a writer expects
    /// to have written when they hold at commit.
    pub fn effects_on(&self, session: &Session) -> Session {
        let mut changed = session.clone();
        for effect in self.effects() {
            effect.apply(&mut changed);
        }
        changed
    }
}

impl Condition {
    /// Whether a writer meets it by proposing again (a fresh id, a later time, the wait as
    /// it now is) without deciding again.
    pub fn is_renewable(&self) -> bool {
        matches!(
            self,
            Condition::LastMessageIdBelow(_)
                | Condition::LastMessageAtMost(_)
                | Condition::AwaitingReplySince(_)
                | Condition::Sends(..)
        )
    }

    pub fn holds(&self, session: &Session) -> bool {
        match self {
            Condition::Revision(revision) => session.revision == *revision,
            Condition::NotClosed => session.status != SessionStatus::Closed,
            Condition::Closed => session.status == SessionStatus::Closed,
            Condition::Unrated => session.rating.is_none(),
            Condition::LastMessageAtMost(at) => session.last_message_at <= *at,
            Condition::LastMessageIdBelow(id) => session.last_message_id < *id,
            Condition::LastMessageIdAtLeast(id) => session.last_message_id >= *id,
            Condition::AwaitingReplySince(since) => session.awaiting_reply_since == *since,
            Condition::MarkBelow(reader, kind, id) => session.receipts_of(*reader).mark(*kind) < *id,
            Condition::LastMessageFromAtMost(party, id) => session.last_message_from(*party) <= *id,
            Condition::NoAwayReply => session.away_replied_at.is_none(),
            Condition::DigestedBelow(id) => session.emails.digested_up_to < *id,
            Condition::NoDigestSince(since) => session.emails.digested_at.is_none_or(|at| at < *since),
            Condition::NotEmailed(kind) => session.emails.emailed_at(*kind).is_none(),
            Condition::Sends(party, charge) => charge.holds(session.sends_of(*party)),
        }
    }
}

impl Effect {
    fn apply(self, session: &mut Session) {
        match self {
            Effect::Status(status) => session.status = status,
            Effect::AdminId(admin_id) => session.admin_id = admin_id,
            Effect::Assigned(assigned) => session.assigned = assigned,
            Effect::PickedUp(admin, at) => {
                if session.picked_up_at.is_none() {
                    (session.picked_up_by, session.picked_up_at) = (Some(admin), Some(at));
                }
            }
            Effect::Updated(at) => session.updated = at,
            Effect::ClosedAt(at) => session.closed_at = Some(at),
            Effect::NextRevision => session.revision += 1,
            Effect::LastMessageId(id) => session.last_message_id = id,
            Effect::LastMessageAt(at) => session.last_message_at = at,
            Effect::LastMessage(message) => session.last_message = Some(*message),
            Effect::LastMessageFrom(SenderType::Store, id) => session.last_store_message_id = id,
            Effect::LastMessageFrom(SenderType::Admin, id) => session.last_admin_message_id = id,
            Effect::CountMessageFrom(SenderType::Store) => session.store_message_count += 1,
            Effect::CountMessageFrom(SenderType::Admin) => session.admin_message_count += 1,
            Effect::StartWaiting(at) => {
                session.awaiting_reply_since.get_or_insert(at);
            }
            Effect::Queued(at) => {
                session.queued_at.get_or_insert(at);
            }
            Effect::Answered { waited_ms } => {
                session.awaiting_reply_since = None;
                session.reply_ms_total += waited_ms;
                session.reply_count += 1;
            }
            Effect::Mark(reader, kind, up_to, at) => {
                let receipts = session.receipts_mut(reader);
                match kind {
                    ReceiptKind::Delivered => (receipts.delivered_up_to, receipts.delivered_at) = (up_to, Some(at)),
                    ReceiptKind::Read => (receipts.read_up_to, receipts.read_at) = (up_to, Some(at)),
                }
            }
            Effect::ReadCount(reader, count) => session.receipts_mut(reader).read_count = count,
            Effect::ReadAll(reader) => {
                session.receipts_mut(reader).read_count = session.messages_from(reader.other());
            }
            Effect::Tags(tags) => session.tags = tags,
            Effect::Rating(rating) => session.rating = Some(rating),
            Effect::Feedback(feedback) => session.feedback = feedback,
            Effect::AwayReplied(at) => session.away_replied_at = Some(at),
            Effect::Digested(up_to, at) => {
                (session.emails.digested_up_to, session.emails.digested_at) = (up_to, Some(at))
            }
            Effect::Emailed(EmailKind::OnCall, at) => session.emails.on_call_emailed_at = Some(at),
            Effect::Emailed(EmailKind::Transcript, at) => session.emails.transcript_emailed_at = Some(at),
            Effect::Sends(party, charge) => {
                let window = session.sends_mut(party);
                *window = charge.applied(*window);
            }
        }
    }
}

/// The number of `reader`'s receipts a read mark at `up_to` covers, from the session as
/// read and the other party's messages above `up_to` up to the session's last message.
fn read_count_at(seen: &Session, reader: SenderType, up_to: MessageId, above: &[Message]) -> u64 {
    let other = reader.other();
    if up_to >= seen.last_message_from(other) {
        return seen.messages_from(other);
    }
    let unread =
        above.iter().filter(|m| m.sender_type == other && m.id > up_to && m.id <= seen.last_message_id).count() as u64;
    seen.messages_from(other).saturating_sub(unread)
}

/// Whether a read mark at `up_to` against `current` needs the other party's messages above
/// it to count what it covers.
pub fn mark_needs_messages_above(current: &Session, reader: SenderType, kind: ReceiptKind, up_to: MessageId) -> bool {
    kind == ReceiptKind::Read && up_to.min(current.last_message_id) < current.last_message_from(reader.other())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Receipts;

    const T0: &str = "2026-01-05T10:00:00.000Z";

    fn at(seconds: i64) -> Timestamp {
        Timestamp::parse(T0).unwrap().plus_seconds(seconds)
    }

    /// A claimed session whose store wrote message 3 at T0+10 and waits since then; the
    /// admin wrote message 2.
    fn session() -> Session {
        let mut session = Session::sample(SessionStatus::Claimed, Some(AdminId(2)));
        session.created = at(0);
        session.last_message_id = MessageId(3);
        session.last_message_at = at(10);
        (session.last_store_message_id, session.store_message_count) = (MessageId(3), 2);
        (session.last_admin_message_id, session.admin_message_count) = (MessageId(2), 1);
        session.awaiting_reply_since = Some(at(10));
        session.revision = 4;
        session
    }

    fn message(id: u64, sender_type: SenderType, created: Timestamp) -> Message {
        Message::sample(id, sender_type, created)
    }

    fn append(id: u64, sender: SenderType, created: Timestamp, awaiting: Option<Timestamp>) -> SessionChange {
        SessionChange::append(message(id, sender, created), None, awaiting)
    }

    #[test]
    fn an_appended_message_is_counted_for_its_party_and_timed_as_an_answer() {
        let s = session();
        let store = append(7, SenderType::Store, at(20), None).apply(&s).unwrap();
        assert_eq!((store.last_message_id.0, store.last_store_message_id.0, store.store_message_count), (7, 7, 3));
        assert_eq!((store.last_message_at, store.updated), (at(20), at(20)));
        assert_eq!(store.last_message.as_ref().map(|m| m.id), Some(MessageId(7)));
        // The store already waited: still since its first unanswered message.
        assert_eq!(store.awaiting_reply_since, Some(at(10)));
        assert_eq!(store.admin_message_count, 1);
        assert_eq!(store.revision, s.revision, "messages do not bump the revision");

        let answer = append(8, SenderType::Admin, at(40), Some(at(10))).apply(&store).unwrap();
        assert_eq!((answer.last_admin_message_id.0, answer.admin_message_count), (8, 2));
        assert_eq!(answer.awaiting_reply_since, None);
        assert_eq!((answer.reply_ms_total, answer.reply_count), (30_000, 1));

        // A second answer is not a reply: nobody waited.
        let again = append(9, SenderType::Admin, at(50), None).apply(&answer).unwrap();
        assert_eq!((again.reply_ms_total, again.reply_count), (30_000, 1));
        // And the store's next message starts a new wait.
        let asks = append(10, SenderType::Store, at(60), None).apply(&again).unwrap();
        assert_eq!(asks.awaiting_reply_since, Some(at(60)));
    }

    #[test]
    fn what_an_append_requires() {
        use Condition::*;
        let s = session();
        let closed = Session { status: SessionStatus::Closed, ..session() };
        let seen = Session { revision: 3, ..session() };
        type Case<'a> = (&'a Session, SessionChange, Result<(), Vec<Condition>>);
        #[rustfmt::skip]
        let table: Vec<Case> = vec![
            (&s,      append(4, SenderType::Store, at(10), None), Ok(())),
            (&closed, append(4, SenderType::Store, at(10), None), Err(vec![NotClosed])),
            (&s,      append(3, SenderType::Store, at(10), None), Err(vec![LastMessageIdBelow(MessageId(3))])),
            (&s,      append(4, SenderType::Store, at(9), None), Err(vec![LastMessageAtMost(at(9))])),
            (&s,      append(4, SenderType::Admin, at(20), Some(at(10))), Ok(())),
            (&s,      append(4, SenderType::Admin, at(20), None), Err(vec![AwaitingReplySince(None)])),
            (&s,      SessionChange::append(message(4, SenderType::Admin, at(20)), Some(seen.revision), Some(at(10))),
                      Err(vec![Revision(3)])),
        ];
        for (session, change, expected) in table {
            assert_eq!(change.check(session).map_err(|unmet| unmet.0), expected, "{change:?}");
        }
    }

    #[test]
    fn only_a_changed_decision_must_be_decided_again() {
        let proposal = Unmet(vec![Condition::LastMessageIdBelow(MessageId(3)), Condition::LastMessageAtMost(at(1))]);
        assert!(!proposal.must_decide_again());
        assert!(Unmet(vec![Condition::LastMessageIdBelow(MessageId(3)), Condition::Revision(2)]).must_decide_again());
        assert!(Unmet(vec![Condition::NotClosed]).must_decide_again());
    }

    #[test]
    fn moves_bump_the_revision_and_closing_dates_the_close() {
        let s = session();
        let claim =
            SessionChange::Move { revision: 4, status: SessionStatus::Claimed, admin_id: Some(AdminId(3)), at: at(20) };
        let claimed = claim.apply(&s).unwrap();
        assert_eq!(
            (claimed.status, claimed.admin_id, claimed.revision, claimed.updated),
            (s.status, Some(AdminId(3)), 5, at(20))
        );
        assert_eq!(claimed.closed_at, None);
        let close =
            SessionChange::Move { revision: 5, status: SessionStatus::Closed, admin_id: Some(AdminId(3)), at: at(30) };
        assert_eq!(close.apply(&claimed).unwrap().closed_at, Some(at(30)));
        // Stale, or dated before the last message: nothing changes.
        assert_eq!(close.check(&s), Err(Unmet(vec![Condition::Revision(5)])));
        let early =
            SessionChange::Move { revision: 4, status: SessionStatus::Closed, admin_id: Some(AdminId(2)), at: at(9) };
        assert_eq!(early.check(&s), Err(Unmet(vec![Condition::LastMessageAtMost(at(9))])));
    }

    #[test]
    fn marks_rise_to_the_sessions_last_message_and_count_what_they_cover() {
        use ReceiptKind::{Delivered, Read};
        let s = session();
        // The store's messages 1 and 3, the admin's 2: the admin reads up to 1, then all.
        let above_one = [message(2, SenderType::Admin, at(5)), message(3, SenderType::Store, at(10))];
        let mark = SessionChange::mark_against(&s, SenderType::Admin, Read, MessageId(1), &above_one, at(20)).unwrap();
        let read = mark.apply(&s).unwrap();
        assert_eq!(
            read.admin_receipts,
            Receipts { read_up_to: MessageId(1), read_at: Some(at(20)), read_count: 1, ..Receipts::default() }
        );
        assert_eq!(read.unread_by(SenderType::Admin), 1);
        // A mark past the last message stops there; one below the mark changes nothing.
        let all = SessionChange::mark_against(&read, SenderType::Admin, Read, MessageId(99), &[], at(30)).unwrap();
        let all = all.apply(&read).unwrap();
        assert_eq!((all.admin_receipts.read_up_to.0, all.admin_receipts.read_count), (3, 2));
        assert_eq!(SessionChange::mark_against(&all, SenderType::Admin, Read, MessageId(2), &[], at(40)), None);
        assert!(mark_needs_messages_above(&s, SenderType::Admin, Read, MessageId(1)));
        assert!(!mark_needs_messages_above(&s, SenderType::Admin, Read, MessageId(3)));
        assert!(!mark_needs_messages_above(&s, SenderType::Admin, Delivered, MessageId(1)));
    }

    #[test]
    fn a_mark_made_without_reading_holds_only_up_to_the_newest() {
        use Condition::*;
        use ReceiptKind::{Delivered, Read};
        let s = session();
        #[rustfmt::skip]
        let table = [
            (SenderType::Admin, Read, 3, Ok(())),
            // Below the store's newest: the count needs the messages.
            (SenderType::Admin, Read, 2, Err(vec![LastMessageFromAtMost(SenderType::Store, MessageId(2))])),
            // Past the session's last message.
            (SenderType::Admin, Read, 4, Err(vec![LastMessageIdAtLeast(MessageId(4))])),
            (SenderType::Admin, Delivered, 2, Ok(())),
            (SenderType::Store, Read, 2, Ok(())),
        ];
        for (reader, kind, up_to, expected) in table {
            let change = SessionChange::mark_up_to_newest(reader, kind, MessageId(up_to), at(20));
            assert_eq!(change.check(&s).map_err(|unmet| unmet.0), expected, "{reader:?} {kind:?} {up_to}");
        }
        let read = SessionChange::mark_up_to_newest(SenderType::Admin, Read, MessageId(3), at(20)).apply(&s).unwrap();
        assert_eq!((read.admin_receipts.read_count, read.unread_by(SenderType::Admin)), (2, 0));
        let again = SessionChange::mark_up_to_newest(SenderType::Admin, Read, MessageId(3), at(30));
        assert_eq!(again.check(&read), Err(Unmet(vec![MarkBelow(SenderType::Admin, Read, MessageId(3))])));
    }

    #[test]
    fn retags_bump_the_revision_and_ratings_need_a_closed_unrated_session() {
        let s = session();
        let retag = SessionChange::Retag { revision: 4, tags: vec!["vip".into()], at: at(20) };
        let tagged = retag.apply(&s).unwrap();
        assert_eq!((tagged.tags.clone(), tagged.revision, tagged.updated), (vec!["vip".to_owned()], 5, at(20)));
        assert_eq!(retag.check(&tagged), Err(Unmet(vec![Condition::Revision(4)])));

        let rate = SessionChange::Rate { rating: 4, feedback: Some("quick".into()), at: at(30) };
        assert_eq!(rate.check(&s), Err(Unmet(vec![Condition::Closed])));
        let closed = Session { status: SessionStatus::Closed, ..s };
        let rated = rate.apply(&closed).unwrap();
        assert_eq!((rated.rating, rated.feedback.as_deref(), rated.revision), (Some(4), Some("quick"), 4));
        assert_eq!(rate.check(&rated), Err(Unmet(vec![Condition::Unrated])));
    }
}
