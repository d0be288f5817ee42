//! Email to people who are not there: the rules for when a mail is due, and the marks on
//! the session that make each one go out once.
//!
//! - **A digest** to the store of the team's answers that reached none of its connections
//!   within the configured wait: at most one a session per quarter hour, each answer in one
//!   digest only ([`Condition::DigestedBelow`], [`Condition::NoDigestSince`]).
//! - **An on-call alert** to the admins on call when a session arrives out of hours or waits
//!   unassigned longer than the configured while: once a session.
//! - **A transcript** to the store of a closed session, when it asks: once a session.
//!
//! Each is claimed by a conditional write of its mark before it is sent, so racing instances
//! send it once; a send that fails after its claim is not tried again (a second try could
//! not know whether the first went out), which makes every mail at most once.
//!
//! Every mail names the recipient's one-click unsubscribe link (RFC 8058), signed with the
//! deployment's link key: it unsubscribes that recipient and nothing else, and carries no
//! token that opens anything.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::hours::BusinessHours;
use super::ids::{AdminId, SessionId, StoreId};
use super::message::{Message, SenderType};
use super::session::{Session, SessionStatus};
use crate::Timestamp;

/// One mail's worth of delayed work, as the email queue carries it: which session to look
/// at, and for what. The job decides when it runs whether the mail is (still) due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EmailJob {
    Digest { session_id: SessionId },
    OnCall { session_id: SessionId },
    Transcript { session_id: SessionId },
}

impl EmailJob {
    pub fn session_id(self) -> SessionId {
        match self {
            EmailJob::Digest { session_id } | EmailJob::OnCall { session_id } | EmailJob::Transcript { session_id } => {
                session_id
            }
        }
    }
}

/// Digests a session gets at most: one per this window, the windows starting on the
/// quarter hours.
pub const DIGEST_WINDOW_SECONDS: i64 = 15 * 60;

/// The start of the digest window `now` is in.
pub fn digest_window(now: Timestamp) -> Timestamp {
    let seconds = now.unix_seconds();
    Timestamp::from_unix_seconds(seconds - seconds.rem_euclid(DIGEST_WINDOW_SECONDS)).unwrap_or(now)
}

/// What a digest job finds.
#[derive(Debug, PartialEq, Eq)]
pub enum DigestDue<'a> {
    /// Every answer reached the store, or is in a digest.
    Nothing,
    /// Answers will be due then: the first one missed has not waited long enough yet, or
    /// this quarter hour had its digest and the next window opens then.
    Later(Timestamp),
    /// These answers, oldest first (the first has waited; the others go with it): the digest
    /// to send now.
    Now(Vec<&'a Message>),
}

/// Whether `session` owes its store a digest at `now`, from `messages` (its messages above
/// the store's delivered mark, in order): the team's answers that no connection of the
/// store received within `wait`, that no digest covered, and that their sender did not
/// delete.
pub fn digest_due<'a>(session: &Session, messages: &'a [Message], now: Timestamp, wait: Duration) -> DigestDue<'a> {
    let receipts = &session.store_receipts;
    let reached = receipts.delivered_up_to.max(receipts.read_up_to).max(session.emails.digested_up_to);
    let missed: Vec<&Message> = messages
        .iter()
        .filter(|m| m.sender_type == SenderType::Admin && !m.automatic && !m.is_deleted() && m.id > reached)
        .collect();
    let Some(first) = missed.first() else { return DigestDue::Nothing };
    if Duration::from_millis(now.millis_since(first.created)) < wait {
        return DigestDue::Later(first.created.plus_millis(wait.as_millis() as i64));
    }
    let window = digest_window(now);
    match session.emails.digested_at {
        Some(last) if last >= window => DigestDue::Later(window.plus_seconds(DIGEST_WINDOW_SECONDS)),
        // The younger answers have not reached the store either: one digest says them all.
        _ => DigestDue::Now(missed),
    }
}

/// Why the admins on call are told of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCallReason {
    /// It arrived out of business hours.
    OutOfHours,
    /// Nobody has taken it for the configured while.
    Waiting,
}

/// Whether the admins on call are due an alert about `session` at `now`: it is in the queue,
/// nobody was alerted, and it is out of `hours` or it has waited `after`.
pub fn on_call_due(
    session: &Session,
    hours: Option<&BusinessHours>,
    now: Timestamp,
    after: Duration,
) -> Option<OnCallReason> {
    if session.status != SessionStatus::Open || session.emails.on_call_emailed_at.is_some() {
        return None;
    }
    let queued_at = session.queued_at?;
    if hours.is_some_and(|hours| !hours.is_open(now)) {
        return Some(OnCallReason::OutOfHours);
    }
    (Duration::from_millis(now.millis_since(queued_at)) >= after).then_some(OnCallReason::Waiting)
}

/// Why a store may not have a transcript of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptRefused {
    #[error("the conversation is still open; a transcript is sent once it is closed")]
    NotClosed,
    #[error("the transcript of this conversation was already sent")]
    AlreadySent,
    #[error("there is no email address on file for this store")]
    NoAddress,
}

/// Whether the store of `session` may be sent its transcript.
pub fn transcript_allowed(session: &Session) -> Result<(), TranscriptRefused> {
    if session.status != SessionStatus::Closed {
        return Err(TranscriptRefused::NotClosed);
    }
    if session.emails.transcript_emailed_at.is_some() {
        return Err(TranscriptRefused::AlreadySent);
    }
    if session.store.email.trim().is_empty() {
        return Err(TranscriptRefused::NoAddress);
    }
    Ok(())
}

/// Who a mail goes to: what an unsubscribe stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Recipient {
    Store(StoreId),
    Admin(AdminId),
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Store(id) => write!(f, "store-{id}"),
            Recipient::Admin(id) => write!(f, "admin-{id}"),
        }
    }
}

impl std::str::FromStr for Recipient {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        let (kind, id) = text.split_once('-').ok_or(())?;
        let id: u64 = id.parse().map_err(|_| ())?;
        match kind {
            "store" => Ok(Recipient::Store(StoreId(id))),
            "admin" => Ok(Recipient::Admin(AdminId(id))),
            _ => Err(()),
        }
    }
}

/// The shortest link key a deployment may have.
pub const MIN_LINK_KEY_BYTES: usize = 32;

fn unsubscribe_text(recipient: Recipient) -> String {
    format!("unsubscribe:{recipient}")
}

/// The signature of `recipient`'s unsubscribe link under the deployment's link `key`.
pub fn unsubscribe_signature(key: &[u8], recipient: Recipient) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), unsubscribe_text(recipient).as_bytes());
    URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// Whether `signature` signs `recipient`'s unsubscribe link under `key` (in constant time).
pub fn verify_unsubscribe(key: &[u8], recipient: Recipient, signature: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else { return false };
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), unsubscribe_text(recipient).as_bytes(), &tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MessageId, Receipts};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn answer(id: u64, created: &str) -> Message {
        Message {
            id: MessageId(id),
            session_id: SessionId(1),
            sender_type: SenderType::Admin,
            sender_id: 3,
            content: format!("answer {id}"),
            attachment_url: String::new(),
            attachment_type: String::new(),
            created: at(created),
            client_message_id: None,
            upload_id: None,
            attachment_key: None,
            automatic: false,
            version: 0,
            edited_at: None,
            deleted_at: None,
        }
    }

    const WAIT: Duration = Duration::from_secs(300);

    #[test]
    fn windows_start_on_the_quarter_hours() {
        assert_eq!(digest_window(at("2026-12-03T10:14:59.999Z")), at("2026-12-03T10:00:00.000Z"));
        assert_eq!(digest_window(at("2026-12-03T10:15:00.000Z")), at("2026-12-03T10:15:00.000Z"));
    }

    #[test]
    fn a_digest_holds_every_answer_that_reached_nobody_once_the_first_waited() {
        let session = Session::sample(SessionStatus::Claimed, Some(AdminId(3)));
        let mut automatic = answer(4, "2026-12-03T10:00:00.000Z");
        automatic.automatic = true;
        let mut from_store = answer(5, "2026-12-03T10:00:00.000Z");
        from_store.sender_type = SenderType::Store;
        let mut withdrawn = answer(8, "2026-12-03T10:06:30.000Z");
        withdrawn.deleted_at = Some(at("2026-12-03T10:06:40.000Z"));
        let messages = [
            answer(3, "2026-12-03T10:00:00.000Z"),
            automatic,
            from_store,
            answer(6, "2026-12-03T10:02:00.000Z"),
            answer(7, "2026-12-03T10:06:00.000Z"),
            withdrawn,
        ];
        let now = at("2026-12-03T10:07:00.000Z");
        let DigestDue::Now(due) = digest_due(&session, &messages, now, WAIT) else { panic!("due") };
        assert_eq!(due.iter().map(|m| m.id.0).collect::<Vec<_>>(), [3, 6, 7]);
    }

    #[test]
    fn an_answer_that_has_not_waited_yet_is_due_when_it_has() {
        let session = Session::sample(SessionStatus::Claimed, Some(AdminId(3)));
        let messages = [answer(3, "2026-12-03T10:00:00.000Z")];
        let early = at("2026-12-03T10:04:59.000Z");
        assert_eq!(digest_due(&session, &messages, early, WAIT), DigestDue::Later(at("2026-12-03T10:05:00.000Z")));
    }

    #[test]
    fn answers_delivered_read_or_digested_are_not_due() {
        let messages = [answer(3, "2026-12-03T10:00:00.000Z"), answer(6, "2026-12-03T10:00:00.000Z")];
        let now = at("2026-12-03T10:30:00.000Z");
        let mut session = Session::sample(SessionStatus::Claimed, Some(AdminId(3)));
        for reached in [
            Receipts { delivered_up_to: MessageId(6), ..Receipts::default() },
            Receipts { read_up_to: MessageId(6), ..Receipts::default() },
        ] {
            session.store_receipts = reached;
            assert_eq!(digest_due(&session, &messages, now, WAIT), DigestDue::Nothing);
        }
        session.store_receipts = Receipts::default();
        session.emails.digested_up_to = MessageId(6);
        assert_eq!(digest_due(&session, &messages, now, WAIT), DigestDue::Nothing);
    }

    #[test]
    fn a_second_digest_waits_for_the_next_quarter_hour() {
        let mut session = Session::sample(SessionStatus::Claimed, Some(AdminId(3)));
        session.emails.digested_up_to = MessageId(3);
        session.emails.digested_at = Some(at("2026-12-03T10:16:00.000Z"));
        let messages = [answer(6, "2026-12-03T10:17:00.000Z")];
        let now = at("2026-12-03T10:23:00.000Z");
        assert_eq!(digest_due(&session, &messages, now, WAIT), DigestDue::Later(at("2026-12-03T10:30:00.000Z")));
        let later = at("2026-12-03T10:30:00.000Z");
        assert!(matches!(digest_due(&session, &messages, later, WAIT), DigestDue::Now(due) if due.len() == 1));
    }

    #[test]
    fn on_call_is_due_out_of_hours_or_after_the_wait_once() {
        let mut session = Session::sample(SessionStatus::Open, None);
        session.queued_at = Some(at("2026-12-03T10:00:00.000Z"));
        let soon = at("2026-12-03T10:01:00.000Z");
        let later = at("2026-12-03T10:10:00.000Z");
        let after = Duration::from_secs(600);
        assert_eq!(on_call_due(&session, None, soon, after), None);
        assert_eq!(on_call_due(&session, None, later, after), Some(OnCallReason::Waiting));
        let closed: BusinessHours =
            serde_json::from_value(serde_json::json!({"time_zone": "UTC", "week": {}})).unwrap();
        assert_eq!(on_call_due(&session, Some(&closed), soon, after), Some(OnCallReason::OutOfHours));
        session.emails.on_call_emailed_at = Some(soon);
        assert_eq!(on_call_due(&session, Some(&closed), later, after), None);
        session.emails.on_call_emailed_at = None;
        session.status = SessionStatus::Claimed;
        assert_eq!(on_call_due(&session, Some(&closed), later, after), None);
    }

    #[test]
    fn a_transcript_is_for_a_closed_session_with_an_address_once() {
        let mut session = Session::sample(SessionStatus::Claimed, Some(AdminId(3)));
        assert_eq!(transcript_allowed(&session), Err(TranscriptRefused::NotClosed));
        session.status = SessionStatus::Closed;
        assert_eq!(transcript_allowed(&session), Err(TranscriptRefused::NoAddress));
        session.store.email = "owner@tech.example".into();
        assert_eq!(transcript_allowed(&session), Ok(()));
        session.emails.transcript_emailed_at = Some(at("2026-12-03T10:00:00.000Z"));
        assert_eq!(transcript_allowed(&session), Err(TranscriptRefused::AlreadySent));
    }

    #[test]
    fn an_unsubscribe_signature_holds_for_its_recipient_and_key_only() {
        let key = [7u8; 32];
        let store = Recipient::Store(StoreId(5));
        let signature = unsubscribe_signature(&key, store);
        assert!(verify_unsubscribe(&key, store, &signature));
        assert!(!verify_unsubscribe(&key, Recipient::Store(StoreId(6)), &signature));
        assert!(!verify_unsubscribe(&key, Recipient::Admin(AdminId(5)), &signature));
        assert!(!verify_unsubscribe(&[8u8; 32], store, &signature));
        assert!(!verify_unsubscribe(&key, store, "not-a-signature"));
        assert_eq!("admin-12".parse(), Ok(Recipient::Admin(AdminId(12))));
        assert_eq!("store-x".parse::<Recipient>(), Err(()));
    }
}
