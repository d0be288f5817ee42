use serde::{Deserialize, Serialize};

use super::email_marks::EmailMarks;
use super::ids::{AdminId, MessageId, SessionId, StoreId};
use super::message::{Message, MessageView, SenderType};
use super::principal::{Principal, StoreProfile};
use super::receipts::Receipts;
use super::send_limit::SendWindow;
use crate::Timestamp;

/// How many of the newest messages a session view carries (seeds: "up to 200").
pub const SESSION_VIEW_MESSAGES: usize = 200;

/// The most messages one fetch returns (and its default).
pub const MESSAGE_PAGE_LIMIT: u64 = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Open,
    Claimed,
    Closed,
}

impl SessionStatus {
    /// Open and claimed sessions are a store's active session; a store has at most one.
    pub fn is_active(self) -> bool {
        !matches!(self, SessionStatus::Closed)
    }
}

/// A session as stored, with the counters and watermarks kept in the same writes as the
/// messages, so that counts never need a scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    /// Copied at creation, so a session view needs no second read to show the store.
    pub store: StoreProfile,
    pub admin_id: Option<AdminId>,
    pub status: SessionStatus,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub last_message_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    /// Id of the newest message; every new one must be greater (commit order).
    pub last_message_id: MessageId,
    pub store_message_count: u64,
    pub admin_message_count: u64,
    /// Id of each party's newest message (0 before its first).
    #[serde(default)]
    pub last_store_message_id: MessageId,
    #[serde(default)]
    pub last_admin_message_id: MessageId,
    /// The newest message, for list views.
    #[serde(default)]
    pub last_message: Option<Message>,
    /// What the store has received and read of the admin's messages.
    pub store_receipts: Receipts,
    /// What the admin side has received and read of the store's messages.
    pub admin_receipts: Receipts,
    /// Bumped by every change of status, holder or tags; a write that depends on them is
    /// conditional on it. Messages and receipts do not bump it.
    pub revision: u64,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The store's rating (1 to 5) of a closed session, given once.
    #[serde(default)]
    pub rating: Option<u8>,
    #[serde(default)]
    pub feedback: Option<String>,
    /// Since when the store has waited for an answer: its first message after the admin's
    /// last. Absent (not null) when nobody waits, so that a write can set it only if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_reply_since: Option<Timestamp>,
    /// Milliseconds from `awaiting_reply_since` to the admin's answer, summed over answers.
    #[serde(default)]
    pub reply_ms_total: u64,
    #[serde(default)]
    pub reply_count: u64,
    /// When the store first wrote: its place in the waiting queue, oldest first. Kept when
    /// the session goes back to the queue, so that a hand-back does not send it to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<Timestamp>,
    /// Given to its holder by automatic assignment, not claimed by them: until the next
    /// claim, transfer or close.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assigned: bool,
    /// When and by whom it was first taken from the queue, claimed or assigned: kept through
    /// transfers and hand-backs, so that reports count a conversation picked up once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picked_up_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picked_up_by: Option<AdminId>,
    /// When the store was sent the session's one automatic away reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_replied_at: Option<Timestamp>,
    /// The mails sent about it, as attributes of the session's own.
    #[serde(flatten)]
    pub emails: EmailMarks,
    /// Each party's sends in the current minute, under the per-sender limit.
    #[serde(default)]
    pub store_sends: SendWindow,
    #[serde(default)]
    pub admin_sends: SendWindow,
}

/// Why a principal may not see a session. Each maps to the route family's own error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewDenied {
    /// Claimed (or closed) by another admin.
    OtherAdmin,
    /// A store asking for another store's session.
    OtherStore,
}

/// The fields of the seeds' session object that every view of a session starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHead {
    pub id: SessionId,
    pub store_id: StoreId,
    pub admin_id: Option<AdminId>,
    pub status: SessionStatus,
    pub last_message_at: Timestamp,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub store: StoreProfile,
}

/// A session as the API shows it, with its newest messages in ascending order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    #[serde(flatten)]
    pub head: SessionHead,
    pub messages: Vec<MessageView>,
}

/// A session in list views and lifecycle answers: no messages, but counts, the newest
/// message and, for admins, tags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    #[serde(flatten)]
    pub head: SessionHead,
    pub message_count: u64,
    /// Messages from the other party the viewer has not read.
    pub unread_count: u64,
    pub last_message: Option<MessageView>,
    /// Internal to the support team: present in admin-facing views only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    pub rating: Option<u8>,
    pub feedback: Option<String>,
}

impl Session {
    pub fn new(id: SessionId, store: StoreProfile, now: Timestamp) -> Self {
        Session {
            id,
            store,
            admin_id: None,
            status: SessionStatus::Open,
            created: now,
            updated: now,
            last_message_at: now,
            closed_at: None,
            last_message_id: MessageId(0),
            store_message_count: 0,
            admin_message_count: 0,
            last_store_message_id: MessageId(0),
            last_admin_message_id: MessageId(0),
            last_message: None,
            store_receipts: Receipts::default(),
            admin_receipts: Receipts::default(),
            revision: 0,
            tags: Vec::new(),
            rating: None,
            feedback: None,
            awaiting_reply_since: None,
            reply_ms_total: 0,
            reply_count: 0,
            queued_at: None,
            assigned: false,
            picked_up_at: None,
            picked_up_by: None,
            away_replied_at: None,
            emails: EmailMarks::default(),
            store_sends: SendWindow::default(),
            admin_sends: SendWindow::default(),
        }
    }

    /// A session of store 5 in `status`, held by `admin_id`, for tests of the rules.
    #[cfg(test)]
    pub(crate) fn sample(status: SessionStatus, admin_id: Option<AdminId>) -> Session {
        let store =
            StoreProfile { id: StoreId(5), name: "Tech Store".into(), logo_url: String::new(), email: String::new() };
        Session { status, admin_id, ..Session::new(SessionId(1), store, Timestamp::now()) }
    }

    /// When a change of this session made at `now` is dated: never before its last
    /// message, so that a message that committed before the change cannot look as if it came
    /// after it, whatever the clocks of the writers say.
    pub fn time_of_change(&self, now: Timestamp) -> Timestamp {
        now.max(self.last_message_at)
    }

    /// Who first took it from the queue, and when.
    pub fn picked_up(&self) -> Option<(AdminId, Timestamp)> {
        self.picked_up_by.zip(self.picked_up_at)
    }

    /// Whether it waits in the open queue: open, and the store has written.
    pub fn is_waiting(&self) -> bool {
        self.status == SessionStatus::Open && self.queued_at.is_some()
    }

    /// Whether `message` started its wait: it waits, queued when that message was sent (the
    /// store's first into it).
    pub fn queued_by(&self, message: &Message) -> bool {
        self.is_waiting() && self.queued_at == Some(message.created)
    }

    pub fn message_count(&self) -> u64 {
        self.store_message_count + self.admin_message_count
    }

    /// The seeds' view rule. A store sees its own sessions. An admin sees every session no
    /// admin holds (the open queue, and sessions closed before anyone claimed them) and the
    /// sessions assigned to it, closed ones included; a session claimed by another admin is
    /// that admin's alone.
    pub fn may_view(&self, viewer: Principal) -> Result<(), ViewDenied> {
        match viewer {
            Principal::Store(id) if id == self.store.id => Ok(()),
            Principal::Store(_) => Err(ViewDenied::OtherStore),
            Principal::Admin(id) => match self.admin_id {
                None => Ok(()),
                Some(holder) if holder == id => Ok(()),
                Some(_) => Err(ViewDenied::OtherAdmin),
            },
        }
    }

    /// Mean seconds from a store's message to the admin's next answer, if any was answered.
    pub fn response_time_avg(&self) -> Option<f64> {
        (self.reply_count > 0).then(|| self.reply_ms_total as f64 / self.reply_count as f64 / 1000.0)
    }

    /// `party`'s sends in the minute of its last send.
    pub fn sends_of(&self, party: SenderType) -> SendWindow {
        match party {
            SenderType::Store => self.store_sends,
            SenderType::Admin => self.admin_sends,
        }
    }

    pub(super) fn sends_mut(&mut self, party: SenderType) -> &mut SendWindow {
        match party {
            SenderType::Store => &mut self.store_sends,
            SenderType::Admin => &mut self.admin_sends,
        }
    }

    /// How many messages `party` sent.
    pub fn messages_from(&self, party: SenderType) -> u64 {
        match party {
            SenderType::Store => self.store_message_count,
            SenderType::Admin => self.admin_message_count,
        }
    }

    /// Id of the newest message `party` sent (0 if none).
    pub fn last_message_from(&self, party: SenderType) -> MessageId {
        match party {
            SenderType::Store => self.last_store_message_id,
            SenderType::Admin => self.last_admin_message_id,
        }
    }

    /// `reader`'s receipts of the other party's messages.
    pub fn receipts_of(&self, reader: SenderType) -> &Receipts {
        match reader {
            SenderType::Store => &self.store_receipts,
            SenderType::Admin => &self.admin_receipts,
        }
    }

    pub(super) fn receipts_mut(&mut self, reader: SenderType) -> &mut Receipts {
        match reader {
            SenderType::Store => &mut self.store_receipts,
            SenderType::Admin => &mut self.admin_receipts,
        }
    }

    /// Messages from the other party that `reader` has not read.
    pub fn unread_by(&self, reader: SenderType) -> u64 {
        self.messages_from(reader.other()).saturating_sub(self.receipts_of(reader).read_count)
    }

    /// The receipts that decide the status of a message from `sender`: the recipient's.
    pub fn receipts_of_recipient(&self, sender: SenderType) -> &Receipts {
        self.receipts_of(sender.other())
    }

    pub fn message_view(&self, message: &Message) -> MessageView {
        message.view(self.receipts_of_recipient(message.sender_type))
    }

    fn head(&self) -> SessionHead {
        SessionHead {
            id: self.id,
            store_id: self.store.id,
            admin_id: self.admin_id,
            status: self.status,
            last_message_at: self.last_message_at,
            created: self.created,
            updated: self.updated,
            closed_at: self.closed_at,
            store: self.store.clone(),
        }
    }

    /// The list view of this session as `viewer` sees it: its own unread count, and tags
    /// only for admins.
    pub fn summary(&self, viewer: SenderType) -> SessionSummary {
        SessionSummary {
            head: self.head(),
            message_count: self.message_count(),
            unread_count: self.unread_by(viewer),
            last_message: self.last_message.as_ref().map(|m| self.message_view(m)),
            tags: (viewer == SenderType::Admin).then(|| self.tags.clone()),
            rating: self.rating,
            feedback: self.feedback.clone(),
        }
    }

    /// The API view of this session with `messages` (ascending by id).
    pub fn view(&self, messages: &[Message]) -> SessionView {
        SessionView { head: self.head(), messages: messages.iter().map(|m| self.message_view(m)).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MessageStatus;

    fn session(admin_id: Option<AdminId>, status: SessionStatus) -> Session {
        Session::sample(status, admin_id)
    }

    #[test]
    fn a_session_was_queued_by_the_store_s_first_message_alone() {
        let at = |text: &str| Timestamp::parse(text).unwrap();
        let first = Message::sample(1, SenderType::Store, at("2026-12-04T10:00:00Z"));
        let second = Message::sample(2, SenderType::Store, at("2026-12-04T10:01:00Z"));
        let waiting = Session { queued_at: Some(first.created), ..session(None, SessionStatus::Open) };
        assert!(waiting.queued_by(&first));
        assert!(!waiting.queued_by(&second), "a later message found it waiting already");
        let taken = Session { status: SessionStatus::Claimed, admin_id: Some(AdminId(2)), ..waiting };
        assert!(!taken.queued_by(&first), "taken meanwhile: it waits no more");
    }

    #[test]
    fn view_rules_follow_the_seed() {
        use SessionStatus::*;
        let cases = [
            // (holder, status, viewer, outcome)
            (None, Open, Principal::Admin(AdminId(2)), Ok(())),
            (Some(AdminId(2)), Claimed, Principal::Admin(AdminId(2)), Ok(())),
            (Some(AdminId(2)), Claimed, Principal::Admin(AdminId(3)), Err(ViewDenied::OtherAdmin)),
            (Some(AdminId(2)), Closed, Principal::Admin(AdminId(2)), Ok(())),
            (Some(AdminId(2)), Closed, Principal::Admin(AdminId(3)), Err(ViewDenied::OtherAdmin)),
            (None, Closed, Principal::Admin(AdminId(3)), Ok(())),
            (Some(AdminId(2)), Claimed, Principal::Store(StoreId(5)), Ok(())),
            (None, Open, Principal::Store(StoreId(6)), Err(ViewDenied::OtherStore)),
        ];
        for (holder, status, viewer, outcome) in cases {
            assert_eq!(session(holder, status).may_view(viewer), outcome, "{holder:?} {status:?} {viewer:?}");
        }
    }

    #[test]
    fn tags_are_for_admins_only() {
        let mut s = session(Some(AdminId(2)), SessionStatus::Claimed);
        s.tags = vec!["vip".into()];
        assert_eq!(s.summary(SenderType::Admin).tags, Some(vec!["vip".to_owned()]));
        assert_eq!(s.summary(SenderType::Store).tags, None);
        let for_store = serde_json::to_value(s.summary(SenderType::Store)).unwrap();
        assert!(for_store.get("tags").is_none(), "{for_store}");
        let for_admin = serde_json::to_value(Session::sample(SessionStatus::Open, None).summary(SenderType::Admin));
        assert_eq!(for_admin.unwrap()["tags"], serde_json::json!([]));
    }

    #[test]
    fn message_status_follows_the_recipients_watermarks() {
        let mut s = session(Some(AdminId(2)), SessionStatus::Claimed);
        let read_at = Timestamp::now().plus_seconds(60);
        s.admin_receipts = Receipts {
            delivered_up_to: MessageId(3),
            delivered_at: Some(read_at),
            read_up_to: MessageId(2),
            read_at: Some(read_at),
            read_count: 1,
        };
        let message = |id, sender_type| Message::sample(id, sender_type, s.created);
        assert_eq!(s.message_view(&message(2, SenderType::Store)).status, MessageStatus::Read);
        assert_eq!(s.message_view(&message(2, SenderType::Store)).updated, read_at);
        assert_eq!(s.message_view(&message(3, SenderType::Store)).status, MessageStatus::Delivered);
        assert_eq!(s.message_view(&message(4, SenderType::Store)).status, MessageStatus::Sent);
        assert_eq!(s.message_view(&message(4, SenderType::Store)).updated, s.created);
        // The store's receipts are untouched, so the admin's own message is still "sent".
        assert_eq!(s.message_view(&message(1, SenderType::Admin)).status, MessageStatus::Sent);
    }
}
