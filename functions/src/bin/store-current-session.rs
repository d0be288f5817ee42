//! `GET /v1/chat/store/session/current/`: the calling store's active session, or else the
//! one it closed last, with its newest messages, who is helping and its place in line;
//! `{"session": null}` before its first. Unlike the seed's route beside it, it opens nothing.

use shared::chat::{self, CurrentSession};
use shared::domain::SESSION_VIEW_MESSAGES;
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, current_session(app, &request).await)
}

async fn current_session(app: &App, request: &Request) -> Result<CurrentSession, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    chat::current_session(app, store, SESSION_VIEW_MESSAGES).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
