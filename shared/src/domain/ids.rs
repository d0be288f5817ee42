//! What sessions and messages are known by.

pub type SessionId = u64;
pub type MessageId = u64;
