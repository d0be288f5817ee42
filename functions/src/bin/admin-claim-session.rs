//! `POST /v1/chat/admin/session/claim/`: `{session_id}`; the session becomes the caller's.
//! 409 if another admin has it or it is closed; a repeat by the holder is a 200.

use shared::domain::{LifecycleAction, SessionSummary};
use shared::http::{self, Body, Request, Response};
use shared::{App, Family};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond::<SessionSummary>(Family::Admin, http::admin_lifecycle(app, &request, LifecycleAction::Claim).await)
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
