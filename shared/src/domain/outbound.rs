//! Events out: what the platform hears of each change the table records. A change is read
//! from the table's change stream as item images ([`TableChange`]); this turns it into the
//! domain events it means, named and shaped as the admin-facing WebSocket events are, each
//! with an id made of what it says (the session and its revision, or the message id), so a
//! retried batch yields the same ids and a consumer can deduplicate.

use serde::Serialize;

use super::ids::{AdminId, SessionId};
use super::message::{Message, MessageView, SenderType};
use super::note::Note;
use super::receipts::Receipts;
use super::session::{Session, SessionStatus, SessionSummary};
use crate::Timestamp;

/// A change of an item that means something outside: a session written, a message added,
/// edited or deleted, a note added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableChange {
    Session {
        before: Option<Box<Session>>,
        after: Option<Box<Session>>,
    },
    MessageAdded(Message),
    /// Its sender edited or deleted it: the message as it now is.
    MessageRevised(Message),
    NoteAdded(Note),
}

/// One record of the table's change stream: where it is in the stream (a decimal number,
/// rising), and what it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRecord {
    pub sequence_number: String,
    pub change: TableChange,
}

/// What happened, as its event's `type` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    SessionCreated,
    /// Automatic assignment gave a session from the queue to an admin.
    SessionAssigned,
    /// An admin took a session from the queue.
    SessionClaimed,
    /// From one admin to another, or back to the queue.
    SessionTransferred,
    SessionClosed,
    SessionRated,
    SessionTagged,
    MessageCreated,
    /// Its sender edited or deleted it.
    MessageUpdated,
    /// An admin wrote a private note (admin-facing only, as every event out is).
    NoteCreated,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::SessionCreated,
        EventKind::SessionAssigned,
        EventKind::SessionClaimed,
        EventKind::SessionTransferred,
        EventKind::SessionClosed,
        EventKind::SessionRated,
        EventKind::SessionTagged,
        EventKind::MessageCreated,
        EventKind::MessageUpdated,
        EventKind::NoteCreated,
    ];

    /// The event's `type`, as the WebSocket events name theirs.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::SessionCreated => "session.created",
            EventKind::SessionAssigned => "session.assigned",
            EventKind::SessionClaimed => "session.claimed",
            EventKind::SessionTransferred => "session.transferred",
            EventKind::SessionClosed => "session.closed",
            EventKind::SessionRated => "session.rated",
            EventKind::SessionTagged => "session.tagged",
            EventKind::MessageCreated => "message.created",
            EventKind::MessageUpdated => "message.updated",
            EventKind::NoteCreated => "note.created",
        }
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// What an event carries: the session as admins list it, or the message as admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EventBody {
    Session {
        session: Box<SessionSummary>,
        /// For a transfer, who held it before (none: it came from the queue).
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_admin_id: Option<AdminId>,
    },
    Message {
        message: MessageView,
    },
    Note {
        note: Note,
    },
}

/// One event out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboundEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub session_id: SessionId,
    pub occurred_at: Timestamp,
    /// Where the change is in the table's change stream: a session's events are in order of
    /// it (compared as numbers). Set when the change is read from the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// How long the store waited for the team's first answer, in milliseconds, if `change` is
/// the write of that answer: the one change in a session's life whose answers go from none
/// to one (an automatic away reply is no answer).
pub fn first_answer_wait_ms(change: &TableChange) -> Option<u64> {
    match change {
        TableChange::Session { before: Some(before), after: Some(after) } => first_answer_wait(before, after),
        _ => None,
    }
}

/// The store's wait for the team's first answer, if the write from `before` to `after` is it.
pub(super) fn first_answer_wait(before: &Session, after: &Session) -> Option<u64> {
    (before.reply_count == 0 && after.reply_count > 0).then_some(after.reply_ms_total)
}

/// The events `change` means, in the order they happened; none for a change only clients
/// care about (read marks, counters, a message's delivery).
pub fn events_of(change: &TableChange) -> Vec<OutboundEvent> {
    match change {
        TableChange::MessageAdded(message) => {
            vec![message_event(EventKind::MessageCreated, format!("message-{}", message.id), message, message.created)]
        }
        TableChange::MessageRevised(message) => {
            let id = format!("message-{}-v{}", message.id, message.version);
            let at = message.deleted_at.or(message.edited_at).unwrap_or(message.created);
            vec![message_event(EventKind::MessageUpdated, id, message, at)]
        }
        TableChange::NoteAdded(note) => vec![OutboundEvent {
            id: format!("note-{}", note.id),
            kind: EventKind::NoteCreated,
            session_id: note.session_id,
            occurred_at: note.created,
            sequence: None,
            body: EventBody::Note { note: note.clone() },
        }],
        TableChange::Session { after: None, .. } => Vec::new(),
        TableChange::Session { before, after: Some(after) } => session_events(before.as_deref(), after),
    }
}

/// An event about `message`: as it was sent or revised, before anyone received it. A file
/// shows by its type; its short-lived link is only ever given by the routes.
fn message_event(kind: EventKind, id: String, message: &Message, at: Timestamp) -> OutboundEvent {
    OutboundEvent {
        id,
        kind,
        session_id: message.session_id,
        occurred_at: at,
        sequence: None,
        body: EventBody::Message { message: message.view(&Receipts::default()) },
    }
}

fn session_events(before: Option<&Session>, after: &Session) -> Vec<OutboundEvent> {
    let event = |kind: EventKind, key: String, at: Timestamp, previous_admin_id: Option<AdminId>| OutboundEvent {
        id: format!("session-{}-{key}-{}", after.id, kind.name()),
        kind,
        session_id: after.id,
        occurred_at: at,
        sequence: None,
        body: EventBody::Session { session: Box::new(after.summary(SenderType::Admin)), previous_admin_id },
    };
    let revision = after.revision.to_string();
    let Some(before) = before else {
        return vec![event(EventKind::SessionCreated, revision, after.created, None)];
    };
    let mut events = Vec::new();
    if before.revision != after.revision {
        let moved = before.admin_id != after.admin_id;
        if moved && before.admin_id.is_none() && after.status == SessionStatus::Claimed {
            let kind = if after.assigned { EventKind::SessionAssigned } else { EventKind::SessionClaimed };
            events.push(event(kind, revision.clone(), after.updated, None));
        } else if moved && after.status != SessionStatus::Closed {
            events.push(event(EventKind::SessionTransferred, revision.clone(), after.updated, before.admin_id));
        }
        if before.status != SessionStatus::Closed && after.status == SessionStatus::Closed {
            events.push(event(
                EventKind::SessionClosed,
                revision.clone(),
                after.closed_at.unwrap_or(after.updated),
                None,
            ));
        }
        if before.tags != after.tags {
            events.push(event(EventKind::SessionTagged, revision, after.updated, None));
        }
    }
    // Given once, without a new revision.
    if before.rating.is_none() && after.rating.is_some() {
        events.push(event(EventKind::SessionRated, "rating".into(), after.updated, None));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AdminId, MessageId, SessionStatus::*};

    fn session(status: SessionStatus, admin: Option<u64>, revision: u64) -> Session {
        Session { revision, ..Session::sample(status, admin.map(AdminId)) }
    }

    #[test]
    fn the_first_answer_is_the_change_from_no_answer_to_one() {
        let change = |before: &Session, after: &Session| TableChange::Session {
            before: Some(Box::new(before.clone())),
            after: Some(Box::new(after.clone())),
        };
        let waiting = session(Claimed, Some(2), 3);
        let answered = Session { reply_count: 1, reply_ms_total: 42_000, ..waiting.clone() };
        let again = Session { reply_count: 2, reply_ms_total: 50_000, ..waiting.clone() };
        assert_eq!(first_answer_wait_ms(&change(&waiting, &answered)), Some(42_000));
        assert_eq!(first_answer_wait_ms(&change(&answered, &again)), None, "a second answer");
        assert_eq!(first_answer_wait_ms(&change(&waiting, &waiting)), None, "no answer");
        let opened = TableChange::Session { before: None, after: Some(Box::new(answered)) };
        assert_eq!(first_answer_wait_ms(&opened), None);
    }

    fn kinds(before: Option<Session>, after: Session) -> Vec<(EventKind, String)> {
        let events = events_of(&TableChange::Session { before: before.map(Box::new), after: Some(Box::new(after)) });
        events.into_iter().map(|e| (e.kind, e.id)).collect()
    }

    #[test]
    fn a_session_s_lifecycle_is_told_once_per_change_with_stable_ids() {
        use EventKind::*;
        let open = session(Open, None, 0);
        assert_eq!(kinds(None, open.clone()), [(SessionCreated, "session-1-0-session.created".into())]);
        let claimed = session(Claimed, Some(2), 1);
        assert_eq!(
            kinds(Some(open.clone()), claimed.clone()),
            [(SessionClaimed, "session-1-1-session.claimed".into())]
        );
        let assigned = Session { assigned: true, ..claimed.clone() };
        assert_eq!(kinds(Some(open.clone()), assigned), [(SessionAssigned, "session-1-1-session.assigned".into())]);
        let moved = session(Claimed, Some(3), 2);
        assert_eq!(kinds(Some(claimed.clone()), moved.clone())[0].0, SessionTransferred);
        let requeued = session(Open, None, 3);
        assert_eq!(kinds(Some(moved.clone()), requeued)[0].0, SessionTransferred);
        let tagged = Session { tags: vec!["vip".into()], ..session(Claimed, Some(3), 3) };
        assert_eq!(kinds(Some(moved.clone()), tagged.clone()), [(SessionTagged, "session-1-3-session.tagged".into())]);
        let closed = Session { status: Closed, revision: 4, closed_at: Some(Timestamp::now()), ..tagged.clone() };
        assert_eq!(kinds(Some(tagged), closed.clone()), [(SessionClosed, "session-1-4-session.closed".into())]);
        let rated = Session { rating: Some(5), ..closed.clone() };
        assert_eq!(
            kinds(Some(closed.clone()), rated.clone()),
            [(SessionRated, "session-1-rating-session.rated".into())]
        );
        // A message, a read mark or a retried write: no session event.
        let counted = Session { store_message_count: 3, last_message_id: MessageId(9), ..rated.clone() };
        assert_eq!(kinds(Some(rated.clone()), counted), []);
        assert_eq!(kinds(Some(rated.clone()), rated), []);
        // Closed straight from the queue: closed, not transferred.
        assert_eq!(kinds(Some(open), session(Closed, None, 1))[0].0, SessionClosed);
    }

    #[test]
    fn a_message_is_told_as_admins_see_it() {
        let message = Message { content: "hello".into(), ..Message::sample(7, SenderType::Store, Timestamp::now()) };
        let events = events_of(&TableChange::MessageAdded(message.clone()));
        assert_eq!(events.len(), 1);
        let json = serde_json::to_value(&events[0]).unwrap();
        assert_eq!(json["id"], "message-7");
        assert_eq!(json["type"], "message.created");
        assert_eq!(json["message"]["content"], "hello");
        assert_eq!(json["message"]["status"], "sent");
        assert_eq!(json["session_id"], json["message"]["session_id"]);
    }

    #[test]
    fn each_version_of_a_message_is_told_once() {
        let sent = Message::sample(7, SenderType::Store, Timestamp::now());
        let edited_at = sent.created.plus_seconds(30);
        let edited = Message { content: "fixed".into(), version: 1, edited_at: Some(edited_at), ..sent };
        let events = events_of(&TableChange::MessageRevised(edited.clone()));
        let json = serde_json::to_value(&events[0]).unwrap();
        assert_eq!((json["id"].as_str(), json["type"].as_str()), (Some("message-7-v1"), Some("message.updated")));
        assert_eq!(json["message"]["content"], "fixed");
        assert_eq!(json["message"]["edited_at"], serde_json::to_value(edited_at).unwrap());
        assert_eq!(json["occurred_at"], json["message"]["edited_at"]);
        let deleted = Message { version: 2, deleted_at: Some(edited_at.plus_seconds(1)), ..edited };
        assert_eq!(events_of(&TableChange::MessageRevised(deleted))[0].id, "message-7-v2");
    }
}
