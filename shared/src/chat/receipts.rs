//! Delivered and read marks.

use super::{Target, active_session, visible_session};
use crate::domain::ReceiptKind;
use crate::domain::{MessageId, MessageStatus, Principal, ReceiptView, SessionId, party};
use crate::live::ServerEvent;
use crate::{App, ChatError, Timestamp, telemetry};

/// Marks the other party's messages up to `up_to` delivered or read for `reader`: one write
/// however many messages it covers, and a mark never moves back. The other party's live
/// connections hear `message.status`.
pub async fn mark_receipt(
    app: &App,
    reader: Principal,
    session_id: Option<SessionId>,
    kind: ReceiptKind,
    up_to: MessageId,
) -> Result<ReceiptView, ChatError> {
    let reader_type = reader.party();
    let id = match (reader, Target::for_principal(reader, session_id)?) {
        // A store's pointer is proof enough that the session is its own.
        (Principal::Store(_), Target::Active(store)) => active_session(app, store).await?.id,
        (principal, target) => visible_session(app, principal, target).await?.id,
    };
    let session = app
        .store
        .mark_receipt(id, reader_type, kind, up_to, Timestamp::now())
        .await?
        .ok_or_else(super::session_not_found)?;
    let receipts = session.receipts_of(reader_type);
    let (status, up_to_message_id) = match kind {
        ReceiptKind::Read => (MessageStatus::Read, receipts.read_up_to),
        ReceiptKind::Delivered => (MessageStatus::Delivered, receipts.delivered_up_to.max(receipts.read_up_to)),
    };
    let view = ReceiptView { session_id: session.id, reader_type, status, up_to_message_id };
    let audience = party(reader_type.other(), session.store.id, session.admin_id);
    telemetry::live_delivery(app.live.publish(&[(audience, ServerEvent::MessageStatus(view.clone()))])).await;
    Ok(view)
}
