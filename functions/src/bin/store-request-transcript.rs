//! `POST /v1/chat/store/session/transcript/`: `{session_id?}` asks for the transcript of one
//! of the store's closed sessions (by default the one it closed last) by email, once: 202
//! once it is queued; 409 while the session is open, once sent, or without an address.

use serde::{Deserialize, Serialize};
use shared::domain::SessionId;
use shared::http::{self, Body, Request, Response, StatusCode};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TranscriptRequest {
    #[serde(default)]
    session_id: Option<SessionId>,
}

#[derive(Serialize)]
struct Queued {
    session_id: SessionId,
    queued: bool,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    match request_transcript(app, &request).await {
        Ok(queued) => http::json(StatusCode::ACCEPTED, &queued),
        Err(error) => http::respond::<()>(Family::Store, Err(error)),
    }
}

async fn request_transcript(app: &App, request: &Request) -> Result<Queued, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let body: TranscriptRequest = http::json_body(request)?;
    let requested = chat::request_transcript(app, store, body.session_id).await?;
    Ok(Queued { session_id: requested.session_id, queued: true })
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
