//! WebSocket `typing`: `{session_id?, state: "on"|"off"}` reaches the other party's
//! connections as a `typing` event.

use serde::Deserialize;
use shared::domain::SessionId;
use shared::http::{Body, Request, Response};
use shared::live::TypingState;
use shared::{App, chat, ws};

#[derive(Deserialize)]
struct TypingFrame {
    #[serde(default)]
    session_id: Option<SessionId>,
    state: TypingState,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    ws::act(app, request, |sender, request| async move {
        let frame: TypingFrame = ws::frame(&request)?;
        chat::typing(app, sender, frame.session_id, frame.state).await
    })
    .await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
