//! `POST /v1/chat/admin/messages/`: the admin sends a message into a session it has
//! claimed. 201 with the message; 200 with the original when a `client_message_id` repeats;
//! 409 when the session is closed.

use serde::Deserialize;
use shared::domain::input::MessageInput;
use shared::domain::{Principal, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct SendRequest {
    session_id: SessionId,
    #[serde(flatten)]
    message: MessageInput,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond_sent(Family::Admin, send(app, &request).await)
}

async fn send(app: &App, request: &Request) -> Result<chat::Sent, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: SendRequest = http::json_body(request)?;
    chat::send_message(app, Principal::Admin(admin), Some(body.session_id), body.message).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
