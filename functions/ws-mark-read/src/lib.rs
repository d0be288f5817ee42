//! WebSocket `mark_read`: `{session_id?, up_to_message_id}`; the other party hears
//! `message.status`.

use serde::Deserialize;
use shared::domain::{MessageId, SessionId};
use shared::http::{Body, Request, Response};
use shared::storage::ReceiptKind;
use shared::{App, chat, ws};

#[derive(Deserialize)]
struct MarkFrame {
    #[serde(default)]
    session_id: Option<SessionId>,
    up_to_message_id: MessageId,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    ws::act(app, request, |reader, request| async move {
        let frame: MarkFrame = ws::frame(&request)?;
        chat::mark_receipt(app, reader, frame.session_id, ReceiptKind::Read, frame.up_to_message_id).await.map(|_| ())
    })
    .await
}
