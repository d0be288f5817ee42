//! `GET /v1/platform/webhooks/deliveries/?webhook_id=&cursor=&limit=` (AWS_IAM): a
//! subscription's delivery log, newest event first, one entry per event as its last attempt
//! left it (`delivered`, `retrying`, `dead`, `replayed`; attempts, last status and error,
//! next attempt): `{webhook_id, deliveries, next_cursor?}`. Entries are kept seven days.

use shared::chat::{self, DeliveryLog, MAX_DELIVERY_PAGE};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, list(app, &request).await)
}

async fn list(app: &App, request: &Request) -> Result<DeliveryLog, ChatError> {
    let webhook_id =
        http::query_param(request, "webhook_id").ok_or_else(|| ChatError::bad_request("webhook_id is required"))?;
    let limit = http::query_number(request, "limit", 1..=MAX_DELIVERY_PAGE as u64)?.map(|limit| limit as usize);
    chat::webhook_deliveries(app, webhook_id, http::query_param(request, "cursor"), limit).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
