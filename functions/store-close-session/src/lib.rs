//! `POST /v1/chat/store/session/close/`: the store ends its active session; its next
//! `GET /v1/chat/store/session/` opens a new one. Answers `{id, status, admin_id, closed_at}`.

use shared::http::{self, Body, Request, Response};
use shared::storage::ClosedSession;
use shared::{App, ChatError, Family, Timestamp};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, close(app, &request).await)
}

async fn close(app: &App, request: &Request) -> Result<ClosedSession, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    // A store may always end its active session; without one there is nothing to close.
    app.store
        .close_active_session(store, Timestamp::now())
        .await?
        .ok_or_else(|| ChatError::not_found("Session not found"))
}
