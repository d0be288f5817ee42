//! `POST /v1/chat/admin/session/transfer/`: `{session_id, admin_id}` hands the session to
//! another admin; `admin_id: null` puts it back in the open queue.

use serde::Deserialize;
use shared::domain::{AdminId, LifecycleAction, Principal, SenderType, SessionId, SessionSummary};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct TransferRequest {
    session_id: SessionId,
    /// Required, and `null` means nobody.
    #[serde(deserialize_with = "Option::deserialize")]
    admin_id: Option<AdminId>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, transfer(app, &request).await)
}

async fn transfer(app: &App, request: &Request) -> Result<SessionSummary, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: TransferRequest = http::json_body(request)?;
    let action = LifecycleAction::Transfer { to: body.admin_id };
    let target = chat::Target::Session(body.session_id);
    let session = chat::change_lifecycle(app, Principal::Admin(admin), target, action).await?;
    Ok(session.summary(SenderType::Admin))
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
