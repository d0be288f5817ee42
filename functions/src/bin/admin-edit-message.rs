//! `POST /v1/chat/admin/messages/edit/`: `{session_id, message_id, content}` — the admin
//! edits its own message in a session it may view, within the edit window. The message as
//! it now is, with `edited_at`; both parties hear `message.updated`, and admins can read
//! what it said before.

use serde::Deserialize;
use shared::domain::{MessageId, MessageView, Principal, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct EditRequest {
    session_id: SessionId,
    message_id: MessageId,
    content: String,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, edit(app, &request).await)
}

async fn edit(app: &App, request: &Request) -> Result<MessageView, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: EditRequest = http::json_body(request)?;
    let edit = chat::RevisionRequest::Edit { content: body.content };
    chat::revise_message(app, Principal::Admin(admin), body.session_id, body.message_id, edit).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
