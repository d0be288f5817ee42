//! `POST /v1/chat/admin/session/read/`: `{session_id, up_to_message_id}` marks the store's
//! messages read up to that id. One write, however many it covers.

use serde::Deserialize;
use shared::domain::ReceiptKind;
use shared::domain::{MessageId, Principal, ReceiptView, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct ReadRequest {
    session_id: SessionId,
    up_to_message_id: MessageId,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, mark(app, &request).await)
}

async fn mark(app: &App, request: &Request) -> Result<ReceiptView, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: ReadRequest = http::json_body(request)?;
    let reader = Principal::Admin(admin);
    chat::mark_receipt(app, reader, Some(body.session_id), ReceiptKind::Read, body.up_to_message_id).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
