//! The support-chat domain: who takes part, what a session and a message are, and the rules
//! for viewing a session and moving it through its lifecycle.

mod account;
mod audience;
mod away;
mod change;
mod connection;
mod desk;
mod email;
mod email_marks;
mod erasure;
mod hours;
mod ids;
pub mod input;
mod language;
mod lifecycle;
mod mail_text;
mod message;
mod note;
mod outbound;
mod principal;
mod receipts;
mod report;
mod revision;
mod saved_reply;
mod search;
mod send_limit;
mod session;
mod upload;
mod webhook;

pub use account::{
    AccountState, AdminAccount, DEFAULT_TOKEN_LIFETIME_SECONDS, MAX_BATCH, MAX_TOKEN_LIFETIME_SECONDS, StoreAccount,
    TokenGrant, Upserted,
};
pub use audience::{Audience, Before, admin_side, party, session_change_audiences};
pub use away::{AUTOMATIC_SENDER, AwayReason, away_reply, away_reply_due, waited_unheard};
pub use change::{Condition, Effect, ReadCount, SessionChange, Unmet, mark_needs_messages_above, opened_with};
pub use connection::{CONNECTION_LIFETIME_SECONDS, Connection, ConnectionId};
pub use desk::{Availability, DEFAULT_CAPACITY, Desk, DeskState, MAX_CAPACITY, Presence, next_admin};
pub use email::{
    DIGEST_WINDOW_SECONDS, DigestDue, EmailJob, MIN_LINK_KEY_BYTES, OnCallReason, Recipient, TranscriptRefused,
    digest_due, digest_window, on_call_due, transcript_allowed, unsubscribe_signature, verify_unsubscribe,
};
pub use email_marks::{EmailClaim, EmailKind, EmailMarks};
pub use erasure::{ERASE_SESSIONS_PER_CALL, ErasureRecord, MAX_ERASE_SESSIONS_PER_CALL, erase_limit};
pub use hours::{
    BusinessHours, HoursError, HoursInput, HoursState, LocalMoment, MAX_EXPECTED_REPLY, MAX_HOLIDAYS, MAX_ON_CALL,
    MAX_OPENINGS_A_DAY, OpeningInput,
};
pub use ids::{AdminId, MessageId, SessionId, StoreId, is_upload_id, new_upload_id};
pub use language::Language;
pub use lifecycle::{LifecycleAction, LifecycleChange, LifecycleError, decide, may_rate, may_send};
pub use mail_text::{Mail, MailLine, digest_mail, on_call_mail, transcript_mail};
pub use message::{Message, MessageStatus, MessageView, NewMessage, ReceiptView, SenderType};
pub use note::{Note, NoteId, validate_note};
pub use outbound::{ChangeRecord, EventBody, EventKind, OutboundEvent, TableChange, events_of, first_answer_wait_ms};
pub use principal::{AdminProfile, Principal, PublicAdmin, StoreProfile, TokenHash};
pub use receipts::{ReceiptKind, Receipts};
pub use report::{
    DURATION_BUCKETS_SECONDS, Durations, FigureChange, Figures, Granularity, MAX_REPORT_DAYS, Report, ReportQuery,
    ReportZone, Tallies, Tally, TallyKey, figures_of, report,
};
pub use revision::{
    DEFAULT_EDIT_WINDOW_SECONDS, MessageRevision, Revision, RevisionAction, RevisionCondition, RevisionDenied,
    RevisionRecord, decide_revision,
};
pub use saved_reply::{
    MAX_SAVED_REPLIES, MAX_SHORTCUT_CHARS, PLACEHOLDERS, ReplyScope, SavedReply, validate_reply_content,
    validate_shortcut,
};
pub use search::{Holder, MAX_SEARCH_CHARS, SessionFilter, parse_bound, search_text};
pub use send_limit::{DEFAULT_SENDS_PER_MINUTE, SendCharge, SendLimit, SendWindow, TooManySends};
pub use session::{
    MESSAGE_PAGE_LIMIT, SESSION_VIEW_MESSAGES, Session, SessionStatus, SessionSummary, SessionView, ViewDenied,
};
pub use upload::{
    MAX_UPLOAD_BYTES, UPLOAD_TYPES, UploadRequest, attached_file_key, check_uploaded_file, pending_upload_key,
};
pub use webhook::{
    ALL_EVENTS, DELIVERY_TIMEOUT, DeliveryRecord, DeliveryStatus, MAX_WEBHOOKS, QueuedDelivery, RETRY_WINDOW_SECONDS,
    Retry, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECONDS, Subscription, Webhook, WebhookInputError, WebhookSecret,
    check_event_types, check_webhook_url, is_webhook_id, jitter, new_webhook_id, retry_after, sign_delivery,
    verify_delivery,
};
