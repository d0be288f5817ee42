//! The events the server sends over a WebSocket, as they go on the wire.

use serde::Serialize;

use crate::domain::{
    AdminId, MessageView, Note, Presence, PublicAdmin, ReceiptView, SenderType, SessionId, SessionSummary,
};

/// What the server sends over a WebSocket (API.md, "Server → client events").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum ServerEvent {
    #[serde(rename = "message.created")]
    MessageCreated { message: MessageView },
    /// Its sender edited or deleted it: the message as it now is.
    #[serde(rename = "message.updated")]
    MessageUpdated { message: MessageView },
    #[serde(rename = "message.status")]
    MessageStatus(ReceiptView),
    /// To admins only: a private note.
    #[serde(rename = "note.created")]
    NoteCreated { note: Note },
    #[serde(rename = "session.updated")]
    SessionUpdated { session: Box<SessionSummary> },
    /// To the store: an admin took its session (a claim or a transfer).
    #[serde(rename = "session.assigned")]
    SessionAssigned { session_id: SessionId, admin: PublicAdmin },
    /// To a waiting store: its place in line, 1 for the next to be served.
    #[serde(rename = "queue.position")]
    QueuePosition { session_id: SessionId, position: u64 },
    /// To every admin: an admin's presence changed.
    #[serde(rename = "admin.presence")]
    AdminPresence { admin_id: AdminId, name: String, presence: Presence },
    #[serde(rename = "typing")]
    Typing { session_id: SessionId, sender_type: SenderType, state: TypingState },
    #[serde(rename = "pong")]
    Pong,
    #[serde(rename = "error")]
    Error { error: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypingState {
    On,
    Off,
}

impl ServerEvent {
    pub(super) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events serialise to JSON")
    }
}
