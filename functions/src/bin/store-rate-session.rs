//! `POST /v1/chat/store/session/rating/`: `{session_id, rating, feedback?}` rates one of the
//! store's closed sessions, 1 to 5, once.

use serde::Deserialize;
use shared::domain::{SenderType, SessionId, SessionSummary};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct RatingRequest {
    session_id: SessionId,
    rating: i64,
    #[serde(default)]
    feedback: Option<String>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, rate(app, &request).await)
}

async fn rate(app: &App, request: &Request) -> Result<SessionSummary, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let body: RatingRequest = http::json_body(request)?;
    let session = chat::rate_session(app, store, body.session_id, body.rating, body.feedback).await?;
    Ok(session.summary(SenderType::Store))
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
