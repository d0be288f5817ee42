//! `POST /v1/platform/tokens/revoke/` (AWS_IAM): `{token_id}` revokes a token a listing
//! named and closes the live connections opened with it: `{token_id, connections_closed}`.

use serde::Deserialize;
use shared::chat::{self, TokenRevoked};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    token_id: String,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, revoke(app, &request).await)
}

async fn revoke(app: &App, request: &Request) -> Result<TokenRevoked, ChatError> {
    let body: RevokeRequest = http::json_body(request)?;
    chat::revoke_token_by_id(app, &body.token_id).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
