//! `POST /v1/platform/stores/erase/` (AWS_IAM): `{store_id, limit?}`. Erases up to `limit`
//! (25 by default, 100 at most) of the store's sessions with their messages, notes and
//! files, and once none is left its tokens, connections and profile. Answers the audit
//! record `{store_id, started_at, finished_at?, sessions, messages, files}`: 200 once the
//! store is gone, 202 while sessions are left (call again; a repeat does nothing more).

use serde::Deserialize;
use shared::domain::{StoreId, erase_limit};
use shared::http::{self, Body, Request, Response, StatusCode};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseRequest {
    store_id: StoreId,
    #[serde(default)]
    limit: Option<usize>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    match erase(app, &request).await {
        Ok(record) if record.is_finished() => http::json(StatusCode::OK, &record),
        Ok(record) => http::json(StatusCode::ACCEPTED, &record),
        Err(error) => http::error_response(Family::Platform, &error),
    }
}

async fn erase(app: &App, request: &Request) -> Result<shared::domain::ErasureRecord, ChatError> {
    let body: EraseRequest = http::json_body(request)?;
    chat::erase_store(app, body.store_id, erase_limit(body.limit)?).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
