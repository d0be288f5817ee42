//! `POST /v1/chat/admin/replies/delete/`: `{shortcut, scope?}` deletes the admin's own saved
//! reply (`personal`, the default) or the team's (`team`). 404 when there is none.

use serde::{Deserialize, Serialize};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct DeleteRequest {
    shortcut: String,
    #[serde(default)]
    scope: chat::ScopeName,
}

#[derive(Serialize)]
struct Deleted {
    deleted: bool,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, delete(app, &request).await)
}

async fn delete(app: &App, request: &Request) -> Result<Deleted, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: DeleteRequest = http::json_body(request)?;
    chat::delete_reply(app, admin, body.scope, &body.shortcut).await?;
    Ok(Deleted { deleted: true })
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
