//! `POST /v1/chat/store/session/close/`: the store ends its active session; its next
//! `GET /v1/chat/store/session/` opens a new one.

use shared::domain::{Actor, LifecycleAction, SenderType, SessionSummary};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, close(app, &request).await)
}

async fn close(app: &App, request: &Request) -> Result<SessionSummary, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let target = chat::Target::Active(store);
    let session =
        chat::change_lifecycle(app.store.as_ref(), Actor::Store(store), target, LifecycleAction::Close).await?;
    Ok(session.summary(SenderType::Store))
}
