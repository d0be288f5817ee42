//! What a session records of the mails sent about it, and the claim of one before it is
//! sent: data only, which the session and its changes hold ([`super::email`] has the rules).

use serde::{Deserialize, Serialize};

use super::ids::MessageId;
use crate::Timestamp;

/// The mails marked once a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailKind {
    OnCall,
    Transcript,
}

/// What the session records of the mails sent about it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMarks {
    /// The newest team answer a digest has covered.
    #[serde(default, skip_serializing_if = "MessageId::is_none")]
    pub digested_up_to: MessageId,
    /// When the last digest went out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digested_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_call_emailed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_emailed_at: Option<Timestamp>,
}

impl EmailMarks {
    pub fn emailed_at(&self, kind: EmailKind) -> Option<Timestamp> {
        match kind {
            EmailKind::OnCall => self.on_call_emailed_at,
            EmailKind::Transcript => self.transcript_emailed_at,
        }
    }
}

/// A mail claimed on the session before it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailClaim {
    /// A digest of the answers up to `up_to`, the first of the quarter hour that started
    /// at `window`.
    Digest {
        up_to: MessageId,
        window: Timestamp,
    },
    Once(EmailKind),
}
