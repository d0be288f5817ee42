//! `POST /v1/platform/webhooks/replay/` (AWS_IAM): `{webhook_id}` queues the subscription's
//! dead deliveries again, oldest first, each with a new retry window:
//! `{webhook_id, replayed, more}`.

use serde::Deserialize;
use shared::chat::{self, Replayed};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    webhook_id: String,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, replay(app, &request).await)
}

async fn replay(app: &App, request: &Request) -> Result<Replayed, ChatError> {
    let body: ReplayRequest = http::json_body(request)?;
    chat::replay_dead_deliveries(app, &body.webhook_id).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
