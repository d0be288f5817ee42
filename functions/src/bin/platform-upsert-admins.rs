//! `POST /v1/platform/admins/` (AWS_IAM): `{admins: [{id, name, email, locale, capacity}]}`,
//! up to 100; creates or updates each (and its capacity, if given) and answers each on its
//! own: `{results: [{id, status: created | updated | invalid | unavailable, error}]}`.

use serde::Deserialize;
use serde_json::Value;
use shared::chat::{self, BatchAnswer};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminsRequest {
    admins: Vec<Value>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, upsert(app, &request).await)
}

async fn upsert(app: &App, request: &Request) -> Result<BatchAnswer, ChatError> {
    let body: AdminsRequest = http::json_body_within(request, http::MAX_BATCH_BODY_BYTES)?;
    chat::upsert_admins(app, body.admins).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
