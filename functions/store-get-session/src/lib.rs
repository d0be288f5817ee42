//! `GET /v1/chat/store/session/`: the calling store's active session with its newest
//! messages, created when the store has none (seed `luxmart-store-get-or-create-session`).

use shared::domain::{SESSION_VIEW_MESSAGES, SessionView};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, Timestamp};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, get_or_create_session(app, &request).await)
}

async fn get_or_create_session(app: &App, request: &Request) -> Result<SessionView, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let page = app
        .store
        .get_or_create_active_session(store, SESSION_VIEW_MESSAGES, Timestamp::now())
        .await?
        // A token that outlived its store speaks for nobody.
        .ok_or(ChatError::Unauthorized)?;
    Ok(page.session.view(&page.messages))
}
