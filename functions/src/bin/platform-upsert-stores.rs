//! `POST /v1/platform/stores/` (AWS_IAM): `{stores: [{id, name, logo_url, email, locale}]}`,
//! up to 100; creates or updates each (a deactivated one is active again) and answers each
//! on its own: `{results: [{id, status: created | updated | invalid | unavailable, error}]}`.

use serde::Deserialize;
use serde_json::Value;
use shared::chat::{self, BatchAnswer};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoresRequest {
    stores: Vec<Value>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, upsert(app, &request).await)
}

async fn upsert(app: &App, request: &Request) -> Result<BatchAnswer, ChatError> {
    let body: StoresRequest = http::json_body_within(request, http::MAX_BATCH_BODY_BYTES)?;
    chat::upsert_stores(app, body.stores).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
