//! `POST /v1/chat/store/messages/delete/`: `{session_id, message_id}` — the store deletes
//! its own message in one of its sessions, within the edit window. The message stays in its place, empty, with `deleted_at`; its file leaves
//! the bucket; both parties hear `message.updated`.

use serde::Deserialize;
use shared::domain::{MessageId, MessageView, Principal, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct DeleteRequest {
    session_id: SessionId,
    message_id: MessageId,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, delete(app, &request).await)
}

async fn delete(app: &App, request: &Request) -> Result<MessageView, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let body: DeleteRequest = http::json_body(request)?;
    chat::revise_message(app, Principal::Store(store), body.session_id, body.message_id, chat::RevisionRequest::Delete)
        .await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
