//! `POST /v1/platform/webhooks/` (AWS_IAM): `{url, event_types, secret?}` subscribes a
//! receiver to events out (`event_types` names them, or `["*"]` for all): `{webhook,
//! secret}`, the secret its deliveries are signed with, generated unless given, and shown
//! only here.

use serde::Deserialize;
use shared::chat::{self, CreatedWebhook};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    url: String,
    event_types: Vec<String>,
    #[serde(default)]
    secret: Option<String>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond_created(Family::Platform, create(app, &request).await)
}

async fn create(app: &App, request: &Request) -> Result<CreatedWebhook, ChatError> {
    let body: CreateRequest = http::json_body(request)?;
    chat::create_webhook(app, &body.url, body.event_types, body.secret).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
