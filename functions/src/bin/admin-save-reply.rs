//! `POST /v1/chat/admin/replies/`: `{shortcut, content, scope?}` creates or replaces a saved
//! reply: the admin's own (`scope` `personal`, the default) or the team's (`team`, which any
//! admin may write). 201 when new, 200 when replaced; 409 past 100 in the scope.

use serde::Deserialize;
use shared::domain::SavedReply;
use shared::http::{self, Body, Request, Response, StatusCode};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct SaveRequest {
    shortcut: String,
    content: String,
    #[serde(default)]
    scope: chat::ScopeName,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    match save(app, &request).await {
        Ok((reply, true)) => http::json(StatusCode::CREATED, &reply),
        result => http::respond(Family::Admin, result.map(|(reply, _)| reply)),
    }
}

async fn save(app: &App, request: &Request) -> Result<(SavedReply, bool), ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: SaveRequest = http::json_body(request)?;
    chat::save_reply(app, admin, body.scope, body.shortcut, body.content).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
