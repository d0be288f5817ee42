//! The one automatic reply a store gets when nobody is there to answer it: written out of
//! business hours, or waiting in the queue longer than the team lets a store wait unheard.
//!
//! It is a message of the admin side (`sender_type` stays `admin`, as the seeds have it) by
//! no admin (`sender_id` 0), marked `automatic`. It commits only while the session has had
//! none ([`super::Condition::NoAwayReply`]), so racing instances send it once; it starts and
//! ends nobody's wait, so reply times count people's answers only.

use std::time::Duration;

use super::hours::{BusinessHours, HoursState};
use super::language::Language;
use super::message::{NewMessage, SenderType};
use super::session::{Session, SessionStatus};
use crate::Timestamp;

/// The `sender_id` of automatic messages: no admin.
pub const AUTOMATIC_SENDER: u64 = 0;

/// Why a session is due its away reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwayReason {
    /// The store wrote out of business hours; the team is back then (if within two weeks).
    OutOfHours { back: Option<Timestamp> },
    /// Within hours, nobody has taken the session for the configured while.
    NobodyTookIt,
}

/// Whether `session` is due its away reply at `now`: the store waits for an answer, has had
/// no away reply, and either it is out of `hours` or the session has waited in the queue
/// for `unheard_for`.
pub fn away_reply_due(
    session: &Session,
    hours: Option<&BusinessHours>,
    now: Timestamp,
    unheard_for: Duration,
) -> Option<AwayReason> {
    if session.away_replied_at.is_some() || session.status == SessionStatus::Closed {
        return None;
    }
    session.awaiting_reply_since?;
    if let Some(HoursState::Closed { until }) = hours.map(|hours| hours.state_at(now)) {
        return Some(AwayReason::OutOfHours { back: until });
    }
    let queued_at = session.queued_at?;
    (session.status == SessionStatus::Open && waited_unheard(queued_at, now, unheard_for))
        .then_some(AwayReason::NobodyTookIt)
}

/// Whether a session queued at `queued_at` has waited `unheard_for` by `now`: what makes it
/// due the within-hours reply, and what a sweep looks for before it reads the session.
pub fn waited_unheard(queued_at: Timestamp, now: Timestamp, unheard_for: Duration) -> bool {
    Duration::from_millis(now.millis_since(queued_at)) >= unheard_for
}

/// The away reply for `reason`, in `language`, saying when the team is back in the hours'
/// time zone, and that the answer comes by email too when it will (`by_email`).
pub fn away_reply(
    reason: AwayReason,
    hours: Option<&BusinessHours>,
    language: Language,
    now: Timestamp,
    by_email: bool,
) -> NewMessage {
    let mut content = match reason {
        AwayReason::OutOfHours { back } => {
            let back = back.zip(hours).and_then(|(back, hours)| {
                hours.local(back, now).map(|moment| language.moment(&moment, hours.time_zone()))
            });
            language.away_out_of_hours(back.as_deref())
        }
        AwayReason::NobodyTookIt => language.away_nobody_available(),
    };
    if by_email {
        content.push_str(language.by_email_too());
    }
    NewMessage {
        sender_type: SenderType::Admin,
        sender_id: AUTOMATIC_SENDER,
        content,
        attachment_url: String::new(),
        attachment_type: String::new(),
        upload_id: None,
        attachment_key: None,
        client_message_id: None,
        automatic: true,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::hours::{HoursInput, OpeningInput};
    use crate::domain::{MessageId, SessionChange};

    const MINUTE: Duration = Duration::from_secs(60);

    /// Weekdays 9:00 to 17:00 in Berlin.
    fn office() -> BusinessHours {
        let day = vec![OpeningInput { opens: "09:00".into(), closes: "17:00".into() }];
        let week: BTreeMap<String, Vec<OpeningInput>> =
            ["mon", "tue", "wed", "thu", "fri"].into_iter().map(|d| (d.to_owned(), day.clone())).collect();
        let input = HoursInput {
            time_zone: "Europe/Berlin".into(),
            week,
            holidays: vec![],
            expected_reply: None,
            on_call: vec![],
        };
        BusinessHours::check(input).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// A session whose store wrote at `wrote`, nobody holding it.
    fn waiting(wrote: Timestamp) -> Session {
        let mut session = Session::sample(SessionStatus::Open, None);
        (session.awaiting_reply_since, session.queued_at) = (Some(wrote), Some(wrote));
        session
    }

    #[test]
    fn out_of_hours_a_waiting_store_is_told_when_the_team_is_back() {
        // Saturday 10:00 in Berlin: back Monday 9:00.
        let now = at("2026-12-05T09:00:00Z");
        let due = away_reply_due(&waiting(now), Some(&office()), now, 5 * MINUTE);
        let back = at("2026-12-07T08:00:00Z");
        assert_eq!(due, Some(AwayReason::OutOfHours { back: Some(back) }));
        let reply = away_reply(due.unwrap(), Some(&office()), Language::German, now, false);
        assert_eq!((reply.sender_type, reply.sender_id, reply.automatic), (SenderType::Admin, 0, true));
        assert!(reply.content.contains("bis Montag um 09:00 Uhr (Europe/Berlin)"), "{}", reply.content);
        let by_email = away_reply(due.unwrap(), Some(&office()), Language::English, now, true);
        assert!(by_email.content.ends_with("by email too."), "{}", by_email.content);
    }

    #[test]
    fn within_hours_only_a_session_nobody_took_for_the_while_is_due() {
        // Monday 10:00 in Berlin.
        let now = at("2026-12-07T09:00:00Z");
        let wrote = now.plus_seconds(-4 * 60);
        assert_eq!(away_reply_due(&waiting(wrote), Some(&office()), now, 5 * MINUTE), None);
        let wrote = now.plus_seconds(-5 * 60);
        assert_eq!(away_reply_due(&waiting(wrote), Some(&office()), now, 5 * MINUTE), Some(AwayReason::NobodyTookIt));
        assert_eq!(away_reply_due(&waiting(wrote), None, now, 5 * MINUTE), Some(AwayReason::NobodyTookIt));
        let mut held = waiting(wrote);
        held.status = SessionStatus::Claimed;
        assert_eq!(away_reply_due(&held, Some(&office()), now, 5 * MINUTE), None, "someone has it");
        let mut answered = waiting(wrote);
        answered.awaiting_reply_since = None;
        assert_eq!(away_reply_due(&answered, Some(&office()), now, 5 * MINUTE), None, "nobody waits");
    }

    #[test]
    fn one_away_reply_a_session_which_answers_nobody() {
        let now = at("2026-12-05T09:00:00Z");
        let session = waiting(now);
        let reply = away_reply(AwayReason::NobodyTookIt, None, Language::English, now, false);
        let change = SessionChange::append(reply.stored(MessageId(9), session.id, now), None, None);
        let replied = change.apply(&session).unwrap();
        assert_eq!(replied.away_replied_at, Some(now));
        assert_eq!(replied.awaiting_reply_since, Some(now), "the store still waits for a person");
        assert_eq!((replied.reply_count, replied.admin_message_count), (0, 1));
        assert_eq!(away_reply_due(&replied, None, now.plus_seconds(3600), MINUTE), None);
        // A second, decided from the session as it was, does not commit.
        let again = away_reply(AwayReason::NobodyTookIt, None, Language::English, now, false);
        let second = SessionChange::append(again.stored(MessageId(10), session.id, now), None, None);
        assert!(second.apply(&replied).is_err());
    }
}
