//! Editing and deleting a message after it was sent: who may, until when, what the message
//! becomes, and what the team keeps of what it said before (the audit trail).
//!
//! A revision is conditional on the version its writer read ([`RevisionCondition`]), so of
//! an edit racing a delete or another edit one commits and the other is refused; the
//! window is a condition too, decided by the time the writer gives, not by when storage
//! gets to it.

use serde::{Deserialize, Serialize};

use super::ids::{MessageId, SessionId};
use super::input::{InvalidInput, MAX_CONTENT_CHARS};
use super::message::{Message, SenderType};
use super::principal::Principal;
use crate::Timestamp;

/// How long after sending a sender may edit or delete a message, unless configured.
pub const DEFAULT_EDIT_WINDOW_SECONDS: u64 = 15 * 60;

/// What a sender does to its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revision {
    /// New content; the attachment stays.
    Edit { content: String },
    /// Content and attachment go; the message stays in its place, shown as deleted.
    Delete,
}

impl Revision {
    /// An edit of `message` to `content`: at most [`MAX_CONTENT_CHARS`], empty only where
    /// the message keeps an attachment.
    pub fn edit(message: &Message, content: String) -> Result<Self, InvalidInput> {
        let chars = content.chars().count();
        if chars > MAX_CONTENT_CHARS {
            return Err(InvalidInput(format!("content must be at most {MAX_CONTENT_CHARS} characters")));
        }
        let attached = !message.attachment_url.is_empty() || message.attachment_key.is_some();
        if chars == 0 && !attached {
            return Err(InvalidInput("content must not be empty".into()));
        }
        Ok(Revision::Edit { content })
    }
}

/// Why a revision is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RevisionDenied {
    #[error("Only its sender may edit or delete a message")]
    NotTheSender,
    #[error("Automatic replies cannot be edited or deleted")]
    Automatic,
    #[error("The message was deleted")]
    Deleted,
    #[error("The message can no longer be edited or deleted")]
    WindowClosed,
    #[error("The message was edited meanwhile; load it again")]
    ChangedMeanwhile,
}

/// What must hold of the message, as it is when the revision commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevisionCondition {
    /// It is still at the version the writer read (which also says it was not deleted
    /// since: a delete is a version).
    pub version: u32,
    /// It was sent at or after this time: the window's start, counted back from the
    /// writer's time.
    pub sent_at_or_after: Timestamp,
}

impl RevisionCondition {
    pub fn holds(&self, message: &Message) -> bool {
        message.version == self.version && !message.is_deleted() && message.created >= self.sent_at_or_after
    }
}

/// One revision of one message by its sender, at `at`, as decided on the message it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRevision {
    pub revision: Revision,
    pub condition: RevisionCondition,
    pub at: Timestamp,
}

/// Whether `by` may revise `message` at `now` within `window_seconds` of its sending, and if
/// so the revision, conditional on the message as read.
pub fn decide_revision(
    message: &Message,
    by: Principal,
    revision: Revision,
    now: Timestamp,
    window_seconds: u64,
) -> Result<MessageRevision, RevisionDenied> {
    if message.automatic {
        return Err(RevisionDenied::Automatic);
    }
    if (message.sender_type, message.sender_id) != (by.party(), by.id()) {
        return Err(RevisionDenied::NotTheSender);
    }
    if message.is_deleted() {
        return Err(RevisionDenied::Deleted);
    }
    let condition = RevisionCondition { version: message.version, sent_at_or_after: window_start(now, window_seconds) };
    // A window of nothing is no window, whatever the clocks say.
    if window_seconds == 0 || !condition.holds(message) {
        return Err(RevisionDenied::WindowClosed);
    }
    Ok(MessageRevision { revision, condition, at: now })
}

/// The earliest sending time a message may have to be revised at `now`.
fn window_start(now: Timestamp, window_seconds: u64) -> Timestamp {
    now.plus_millis(-i64::try_from(window_seconds.saturating_mul(1000)).unwrap_or(i64::MAX))
}

impl MessageRevision {
    /// Why it cannot commit on `current` (the message as it now is), if it cannot.
    pub fn refused_by(&self, current: &Message) -> Option<RevisionDenied> {
        if current.is_deleted() {
            Some(RevisionDenied::Deleted)
        } else if current.version != self.condition.version {
            Some(RevisionDenied::ChangedMeanwhile)
        } else if current.created < self.condition.sent_at_or_after {
            Some(RevisionDenied::WindowClosed)
        } else {
            None
        }
    }

    /// `message` as it is once revised.
    pub fn applied_to(&self, message: &Message) -> Message {
        let mut revised = message.clone();
        revised.version = message.version + 1;
        match &self.revision {
            Revision::Edit { content } => {
                revised.content = content.clone();
                revised.edited_at = Some(self.at);
            }
            Revision::Delete => {
                revised.content.clear();
                revised.attachment_url.clear();
                revised.attachment_type.clear();
                revised.upload_id = None;
                revised.attachment_key = None;
                revised.deleted_at = Some(self.at);
            }
        }
        revised
    }

    /// The audit trail's record of `message` (as read) being revised: what it said before.
    pub fn record(&self, message: &Message) -> RevisionRecord {
        RevisionRecord {
            session_id: message.session_id,
            message_id: message.id,
            version: message.version + 1,
            action: match self.revision {
                Revision::Edit { .. } => RevisionAction::Edited,
                Revision::Delete => RevisionAction::Deleted,
            },
            by_type: message.sender_type,
            by_id: message.sender_id,
            at: self.at,
            previous_content: message.content.clone(),
            previous_attachment_type: message.attachment_type.clone(),
            previous_attachment_url: message.attachment_url.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevisionAction {
    Edited,
    Deleted,
}

/// One entry of a message's audit trail, for admins only: who changed it, when, how, and
/// what it said before. An uploaded file's link is never kept (the file goes with a delete).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRecord {
    pub session_id: SessionId,
    pub message_id: MessageId,
    /// The version the message reached with this change.
    pub version: u32,
    pub action: RevisionAction,
    pub by_type: SenderType,
    pub by_id: u64,
    pub at: Timestamp,
    pub previous_content: String,
    pub previous_attachment_type: String,
    /// An external file's URL; empty for an uploaded file.
    pub previous_attachment_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AdminId, StoreId};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn sent_at(created: &str) -> Message {
        Message::sample(7, SenderType::Store, at(created))
    }

    const STORE: Principal = Principal::Store(StoreId(5));
    const WINDOW: u64 = 900;

    #[test]
    fn only_the_sender_revises_its_own_message_within_the_window() {
        let message = sent_at("2026-12-03T10:00:00Z");
        let edit = || Revision::Edit { content: "fixed".into() };
        let decide = |by, now: &str| decide_revision(&message, by, edit(), at(now), WINDOW);
        assert!(decide(STORE, "2026-12-03T10:15:00Z").is_ok(), "the window's last moment");
        assert_eq!(decide(STORE, "2026-12-03T10:15:00.001Z"), Err(RevisionDenied::WindowClosed));
        assert_eq!(decide(Principal::Store(StoreId(6)), "2026-12-03T10:01:00Z"), Err(RevisionDenied::NotTheSender));
        assert_eq!(decide(Principal::Admin(AdminId(5)), "2026-12-03T10:01:00Z"), Err(RevisionDenied::NotTheSender));
        let mut automatic = message.clone();
        automatic.automatic = true;
        let refused = decide_revision(&automatic, STORE, edit(), at("2026-12-03T10:01:00Z"), WINDOW);
        assert_eq!(refused, Err(RevisionDenied::Automatic));
        let never = decide_revision(&message, STORE, edit(), message.created, 0);
        assert_eq!(never, Err(RevisionDenied::WindowClosed), "a window of 0 is never");
    }

    #[test]
    fn a_revision_is_conditional_on_the_version_it_read() {
        let message = sent_at("2026-12-03T10:00:00Z");
        let now = at("2026-12-03T10:05:00Z");
        let edit = decide_revision(&message, STORE, Revision::Edit { content: "fixed".into() }, now, WINDOW).unwrap();
        let delete = decide_revision(&message, STORE, Revision::Delete, now, WINDOW).unwrap();
        let edited = edit.applied_to(&message);
        assert_eq!((edited.version, edited.content.as_str(), edited.edited_at), (1, "fixed", Some(now)));
        assert_eq!(delete.refused_by(&edited), Some(RevisionDenied::ChangedMeanwhile));
        let deleted = delete.applied_to(&message);
        assert_eq!(edit.refused_by(&deleted), Some(RevisionDenied::Deleted));
        assert!(deleted.content.is_empty() && deleted.is_deleted());
        assert_eq!(edit.refused_by(&message), None);
    }

    #[test]
    fn the_record_keeps_what_the_message_said_before() {
        let message = sent_at("2026-12-03T10:00:00Z");
        let now = at("2026-12-03T10:05:00Z");
        let edit = decide_revision(&message, STORE, Revision::Edit { content: "fixed".into() }, now, WINDOW).unwrap();
        let record = edit.record(&message);
        assert_eq!(
            (record.version, record.action, record.previous_content.as_str()),
            (1, RevisionAction::Edited, "hi")
        );
        assert_eq!((record.by_type, record.by_id, record.at), (SenderType::Store, 5, now));
    }

    #[test]
    fn an_edit_keeps_content_within_limits() {
        let message = sent_at("2026-12-03T10:00:00Z");
        assert!(Revision::edit(&message, String::new()).is_err());
        assert!(Revision::edit(&message, "x".repeat(MAX_CONTENT_CHARS + 1)).is_err());
        let mut with_file = message.clone();
        with_file.attachment_url = "https://files.example/a.png".into();
        assert!(Revision::edit(&with_file, String::new()).is_ok());
    }
}
