//! `POST /v1/platform/tokens/` (AWS_IAM): `{store_id | admin_id, lifetime_seconds}` mints a
//! token for an active store or admin, living an hour unless told (a day at most):
//! `{token, token_id, expires_at}`. The token is shown here once and stored only hashed.

use serde::Deserialize;
use shared::chat::{self, MintedToken};
use shared::domain::{AdminId, Principal, StoreId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    #[serde(default)]
    store_id: Option<StoreId>,
    #[serde(default)]
    admin_id: Option<AdminId>,
    #[serde(default)]
    lifetime_seconds: Option<i64>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond_created(Family::Platform, mint(app, &request).await)
}

async fn mint(app: &App, request: &Request) -> Result<MintedToken, ChatError> {
    let body: MintRequest = http::json_body(request)?;
    let principal = match (body.store_id, body.admin_id) {
        (Some(store), None) => Principal::Store(store),
        (None, Some(admin)) => Principal::Admin(admin),
        _ => return Err(ChatError::bad_request("name one of store_id and admin_id")),
    };
    chat::mint_token(app, principal, body.lifetime_seconds).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
