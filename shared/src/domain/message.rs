use serde::{Deserialize, Serialize};

use super::ids::{MessageId, SessionId};
use super::receipts::Receipts;
use crate::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderType {
    Store,
    Admin,
}

impl SenderType {
    pub fn other(self) -> Self {
        match self {
            SenderType::Store => SenderType::Admin,
            SenderType::Admin => SenderType::Store,
        }
    }
}

/// A message's state as seen by its recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Sent,
    Delivered,
    Read,
}

/// A mark as it stands after a request (also the `message.status` event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptView {
    pub session_id: SessionId,
    pub reader_type: SenderType,
    pub status: MessageStatus,
    pub up_to_message_id: MessageId,
}

/// What a sender hands over; the store assigns the id and the time of commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub sender_type: SenderType,
    pub sender_id: u64,
    pub content: String,
    pub attachment_url: String,
    pub attachment_type: String,
    /// A file the sender uploaded into the session, attached instead of an external URL.
    pub upload_id: Option<String>,
    /// Where that file is kept once the send took it.
    pub attachment_key: Option<String>,
    /// Makes a send idempotent within its session, for its sender.
    pub client_message_id: Option<String>,
    /// Written by the product on the team's behalf (an away reply), not by a person.
    pub automatic: bool,
}

/// A stored message. Its status is not stored: it follows from the recipient's receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub session_id: SessionId,
    pub sender_type: SenderType,
    pub sender_id: u64,
    pub content: String,
    /// An external file's URL; for an uploaded file, empty in storage and a short-lived
    /// download link once the message is shown.
    pub attachment_url: String,
    pub attachment_type: String,
    pub created: Timestamp,
    pub client_message_id: Option<String>,
    /// The sender's upload attached to the message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// Where the attachments bucket keeps that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_key: Option<String>,
    /// Written by the product on the team's behalf; absent on people's messages.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic: bool,
    /// How many times its sender edited or deleted it (absent: never): what a revision is
    /// conditional on.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u32,
    /// When its sender last edited it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// When its sender deleted it: its content and file are gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
}

fn is_zero(version: &u32) -> bool {
    *version == 0
}

/// A message as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: MessageId,
    pub session_id: SessionId,
    pub sender_type: SenderType,
    pub sender_id: u64,
    pub content: String,
    pub attachment_url: String,
    pub attachment_type: String,
    pub status: MessageStatus,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// `true` on an automatic reply (its `sender_type` is `admin`, its `sender_id` 0);
    /// absent on people's messages, which keep the seeds' shape.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic: bool,
    /// When its sender last edited it; absent on messages never edited, which keep the
    /// seeds' shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// When its sender deleted it (its content and attachment are then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
}

impl NewMessage {
    /// What a repeated send is recognised by within its session: the `client_message_id`
    /// of this sender. The other party (or another admin) may use the same value for a
    /// message of its own.
    pub fn idempotency_key(&self) -> Option<String> {
        let party = match self.sender_type {
            SenderType::Store => "store",
            SenderType::Admin => "admin",
        };
        self.client_message_id.as_ref().map(|id| format!("{party}#{}#{id}", self.sender_id))
    }

    /// The message as stored with `id` in `session_id`, committed at `created`.
    pub fn stored(&self, id: MessageId, session_id: SessionId, created: Timestamp) -> Message {
        Message {
            id,
            session_id,
            sender_type: self.sender_type,
            sender_id: self.sender_id,
            content: self.content.clone(),
            attachment_url: self.attachment_url.clone(),
            attachment_type: self.attachment_type.clone(),
            created,
            client_message_id: self.client_message_id.clone(),
            upload_id: self.upload_id.clone(),
            attachment_key: self.attachment_key.clone(),
            automatic: self.automatic,
            version: 0,
            edited_at: None,
            deleted_at: None,
        }
    }
}

impl Message {
    /// A message `id` of session 1 from `sender_type`, for tests of the rules.
    #[cfg(test)]
    pub(crate) fn sample(id: u64, sender_type: SenderType, created: Timestamp) -> Message {
        Message {
            id: MessageId(id),
            session_id: SessionId(1),
            sender_type,
            sender_id: 5,
            content: "hi".into(),
            attachment_url: String::new(),
            attachment_type: String::new(),
            created,
            client_message_id: None,
            upload_id: None,
            attachment_key: None,
            automatic: false,
            version: 0,
            edited_at: None,
            deleted_at: None,
        }
    }

    /// The message as its recipient's receipts make it: `read` at or below the read mark,
    /// `delivered` at or below the delivered mark, `sent` otherwise. `updated` is when the
    /// status last moved, or its sender last edited or deleted it.
    pub fn view(&self, recipient: &Receipts) -> MessageView {
        let (status, updated) = if self.id <= recipient.read_up_to {
            (MessageStatus::Read, recipient.read_at)
        } else if self.id <= recipient.delivered_up_to {
            (MessageStatus::Delivered, recipient.delivered_at)
        } else {
            (MessageStatus::Sent, None)
        };
        MessageView {
            id: self.id,
            session_id: self.session_id,
            sender_type: self.sender_type,
            sender_id: self.sender_id,
            content: self.content.clone(),
            attachment_url: self.attachment_url.clone(),
            attachment_type: self.attachment_type.clone(),
            status,
            created: self.created,
            updated: [updated, self.edited_at, self.deleted_at]
                .into_iter()
                .flatten()
                .fold(self.created, Timestamp::max),
            automatic: self.automatic,
            edited_at: self.edited_at,
            deleted_at: self.deleted_at,
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}
