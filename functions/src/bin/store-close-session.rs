//! `POST /v1/chat/store/session/close/`: the store ends its active session; its next
//! `GET /v1/chat/store/session/` opens a new one. Answers `{id, status, admin_id, closed_at}`.

use shared::http::{self, Body, Request, Response};
use shared::storage::ClosedSession;
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, close(app, &request).await)
}

async fn close(app: &App, request: &Request) -> Result<ClosedSession, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    // The route reads no field, but a body it is sent must still be one JSON object: a
    // client that sent something else meant something else.
    let _: serde::de::IgnoredAny = http::json_body(request)?;
    chat::close_active_session(app, store).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
