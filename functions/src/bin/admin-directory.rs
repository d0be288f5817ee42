//! `GET /v1/chat/admin/directory/`: every admin with its name, presence (`available`,
//! `away`, `offline`), load and capacity: whom a session can be handed to.

use shared::chat::{self, Directory};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, directory(app, &request).await)
}

async fn directory(app: &App, request: &Request) -> Result<Directory, ChatError> {
    http::authenticate_admin(app, request, Family::Admin).await?;
    chat::directory(app).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
