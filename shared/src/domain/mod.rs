//! The support-chat domain: who takes part, what a session and a message are, and the rules
//! for viewing a session and moving it through its lifecycle.

mod connection;
pub mod input;
mod lifecycle;
mod message;
mod principal;
mod session;

pub use connection::{Audience, CONNECTION_LIFETIME_SECONDS, Connection, ConnectionId};
pub use lifecycle::{Actor, LifecycleAction, LifecycleChange, LifecycleError, decide, may_rate, may_send};
pub use message::{Message, MessageStatus, MessageView, NewMessage, SenderType};
pub use principal::{AdminId, AdminProfile, Principal, StoreId, StoreProfile, TokenHash};
pub use session::{
    MESSAGE_PAGE_LIMIT, MessageId, Receipts, SESSION_VIEW_MESSAGES, Session, SessionId, SessionStatus, SessionSummary,
    SessionView, ViewDenied,
};
