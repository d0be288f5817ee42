//! `GET /v1/platform/webhooks/` (AWS_IAM): every subscription, oldest first:
//! `{webhooks: [{id, url, event_types, created_at}]}`, never their secrets.

use shared::chat;
use shared::http::{self, Body, Request, Response};
use shared::{App, Family};

pub async fn handle(app: &App, _request: Request) -> Response<Body> {
    http::respond(Family::Platform, chat::list_webhooks(app).await)
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
