//! `POST /v1/chat/admin/session/tags/`: `{session_id, tags}` replaces the session's tags
//! (at most 10, each 1 to 32 of `a-z0-9_-`).

use serde::Deserialize;
use shared::domain::{SenderType, SessionId, SessionSummary};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct TagsRequest {
    session_id: SessionId,
    tags: Vec<String>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, tag(app, &request).await)
}

async fn tag(app: &App, request: &Request) -> Result<SessionSummary, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: TagsRequest = http::json_body(request)?;
    let session = chat::set_tags(app, admin, body.session_id, body.tags).await?;
    Ok(session.summary(SenderType::Admin))
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
