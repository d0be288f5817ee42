//! `GET /v1/chat/store/session/`: the calling store's active session with its newest
//! messages, created when the store has none (seed `luxmart-store-get-or-create-session`).

use shared::domain::{SESSION_VIEW_MESSAGES, SessionView};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, get_or_create_session(app, &request).await)
}

async fn get_or_create_session(app: &App, request: &Request) -> Result<SessionView, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let page = chat::open_session(app, store, SESSION_VIEW_MESSAGES).await?;
    Ok(page.session.view(&page.messages))
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
