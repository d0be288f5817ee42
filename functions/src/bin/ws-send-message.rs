//! WebSocket `send_message`: `{content, attachment_url?, attachment_type?,
//! client_message_id?}`, plus `session_id` for admins; as the HTTP send. The message
//! reaches both parties' connections as `message.created`.

use serde::Deserialize;
use shared::domain::SessionId;
use shared::domain::input::MessageInput;
use shared::http::{Body, Request, Response};
use shared::{App, chat, ws};

#[derive(Deserialize)]
struct SendFrame {
    #[serde(default)]
    session_id: Option<SessionId>,
    #[serde(flatten)]
    message: MessageInput,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    ws::act(app, request, |sender, request| async move {
        let frame: SendFrame = ws::frame(&request)?;
        chat::send_message(app, sender, frame.session_id, frame.message).await.map(|_| ())
    })
    .await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
