//! `POST /v1/chat/store/session/read/`: `{up_to_message_id}` marks the admin's messages in
//! the store's active session read up to that id. One write, however many it covers.

use serde::Deserialize;
use shared::domain::ReceiptKind;
use shared::domain::{MessageId, Principal, ReceiptView};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct ReadRequest {
    up_to_message_id: MessageId,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, mark(app, &request).await)
}

async fn mark(app: &App, request: &Request) -> Result<ReceiptView, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let body: ReadRequest = http::json_body(request)?;
    let reader = Principal::Store(store);
    chat::mark_receipt(app, reader, None, ReceiptKind::Read, body.up_to_message_id).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
