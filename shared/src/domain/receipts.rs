//! Delivered and read marks: per-party watermarks, not per-message state.

use serde::{Deserialize, Serialize};

use super::ids::MessageId;
use crate::Timestamp;

/// One party's receipts of the other party's messages: watermarks, not per-message state,
/// so marking any number of messages read is one write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipts {
    pub delivered_up_to: MessageId,
    pub delivered_at: Option<Timestamp>,
    pub read_up_to: MessageId,
    pub read_at: Option<Timestamp>,
    /// How many of the other party's messages are at or below `read_up_to`.
    #[serde(default)]
    pub read_count: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptKind {
    Delivered,
    Read,
}

impl Receipts {
    /// Where the mark of `kind` stands.
    pub fn mark(&self, kind: ReceiptKind) -> MessageId {
        match kind {
            ReceiptKind::Delivered => self.delivered_up_to,
            ReceiptKind::Read => self.read_up_to,
        }
    }
}
