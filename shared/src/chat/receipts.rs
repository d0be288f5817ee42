//! Delivered and read marks.

use serde::Serialize;

use super::{Target, session_id_of, session_not_found, visible_session};
use crate::domain::{MessageId, MessageStatus, Principal, SenderType, SessionId};
use crate::storage::{ChatStore, ReceiptKind};
use crate::{ChatError, Timestamp};

/// A mark as it stands after a request (also the `message.status` event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptView {
    pub session_id: SessionId,
    pub reader_type: SenderType,
    pub status: MessageStatus,
    pub up_to_message_id: MessageId,
}

/// Marks the other party's messages up to `up_to` delivered or read for `reader`. One write
/// however many messages it covers; a mark never moves back.
pub async fn mark_receipt(
    store: &dyn ChatStore,
    reader: Principal,
    session_id: Option<SessionId>,
    kind: ReceiptKind,
    up_to: MessageId,
) -> Result<ReceiptView, ChatError> {
    let (reader_type, target) = match (reader, Target::for_principal(reader, session_id)?) {
        // A store's pointer is proof enough that the session is its own.
        (Principal::Store(_), target @ Target::Active(_)) => (SenderType::Store, session_id_of(store, target).await?),
        (principal, target) => {
            let session = visible_session(store, principal, target).await?;
            let reader_type = if let Principal::Store(_) = principal { SenderType::Store } else { SenderType::Admin };
            (reader_type, session.id)
        }
    };
    let session =
        store.mark_receipt(target, reader_type, kind, up_to, Timestamp::now()).await?.ok_or_else(session_not_found)?;
    let receipts = session.receipts_of(reader_type);
    let (status, up_to_message_id) = match kind {
        ReceiptKind::Read => (MessageStatus::Read, receipts.read_up_to),
        ReceiptKind::Delivered => (MessageStatus::Delivered, receipts.delivered_up_to.max(receipts.read_up_to)),
    };
    Ok(ReceiptView { session_id: session.id, reader_type, status, up_to_message_id })
}
