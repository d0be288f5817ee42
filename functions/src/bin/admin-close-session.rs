//! `POST /v1/chat/admin/session/close/`: `{session_id}`; closes a session the caller holds,
//! or an open one.

use shared::domain::{LifecycleAction, SessionSummary};
use shared::http::{self, Body, Request, Response};
use shared::{App, Family};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond::<SessionSummary>(Family::Admin, http::admin_lifecycle(app, &request, LifecycleAction::Close).await)
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
