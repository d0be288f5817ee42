//! `POST /v1/platform/deactivate/` (AWS_IAM): `{stores: [ids], admins: [ids]}`, up to 100 in
//! all. Each loses every token, its live connections are closed, an admin's held sessions
//! go back to the queue; profiles and history stay. Answers each on its own:
//! `{results: [{id, status: deactivated | not_found | unavailable, error}]}`, stores first.

use serde::Deserialize;
use shared::chat::{self, BatchAnswer};
use shared::domain::{AdminId, Principal, StoreId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeactivateRequest {
    #[serde(default)]
    stores: Vec<StoreId>,
    #[serde(default)]
    admins: Vec<AdminId>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, deactivate(app, &request).await)
}

async fn deactivate(app: &App, request: &Request) -> Result<BatchAnswer, ChatError> {
    let body: DeactivateRequest = http::json_body(request)?;
    let stores = body.stores.into_iter().map(Principal::Store);
    chat::deactivate_all(app, stores.chain(body.admins.into_iter().map(Principal::Admin)).collect()).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
