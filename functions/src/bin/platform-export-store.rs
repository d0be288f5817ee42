//! `POST /v1/platform/stores/export/` (AWS_IAM): `{store_id}`. The store's profile and its
//! newest 1,000 sessions with their messages, ratings, tags and files, as one ZIP archive in
//! the bucket: `{url, expires_at, sessions, messages, files}`, the link short-lived.

use serde::Deserialize;
use shared::domain::StoreId;
use shared::http::{self, Body, Request, Response, StatusCode};
use shared::{App, Family, chat};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRequest {
    store_id: StoreId,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let exported = async {
        let body: ExportRequest = http::json_body(&request)?;
        chat::export_store(app, body.store_id).await
    };
    match exported.await {
        Ok(export) => http::json(StatusCode::OK, &export),
        Err(error) => http::error_response(Family::Platform, &error),
    }
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
