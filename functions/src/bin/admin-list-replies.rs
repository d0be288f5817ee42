//! `GET /v1/chat/admin/replies/`: the team's saved replies and the admin's own, by shortcut.

use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, list(app, &request).await)
}

async fn list(app: &App, request: &Request) -> Result<chat::SavedReplies, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    chat::saved_replies(app, admin).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
