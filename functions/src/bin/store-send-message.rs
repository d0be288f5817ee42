//! `POST /v1/chat/store/messages/`: the store sends a message into its active session,
//! which is opened if it has none. 201 with the message; 200 with the original when a
//! `client_message_id` repeats.

use shared::domain::Principal;
use shared::domain::input::MessageInput;
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond_sent(Family::Store, send(app, &request).await)
}

async fn send(app: &App, request: &Request) -> Result<chat::Sent, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let input: MessageInput = http::json_body(request)?;
    chat::send_message(app, Principal::Store(store), None, input).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
