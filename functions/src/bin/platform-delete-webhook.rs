//! `POST /v1/platform/webhooks/delete/` (AWS_IAM): `{webhook_id}` ends a subscription;
//! deliveries still queued for it are dropped.

use serde::Deserialize;
use shared::chat::{self, WebhookDeleted};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteRequest {
    webhook_id: String,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, delete(app, &request).await)
}

async fn delete(app: &App, request: &Request) -> Result<WebhookDeleted, ChatError> {
    let body: DeleteRequest = http::json_body(request)?;
    chat::delete_webhook(app, &body.webhook_id).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
