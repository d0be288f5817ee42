//! `GET /v1/platform/tokens/?store_id=` or `?admin_id=` (AWS_IAM): the valid tokens of one
//! store or admin, oldest first: `{tokens: [{token_id, issued_at, expires_at}]}`, never the
//! tokens themselves.

use shared::chat::{self, TokenList};
use shared::domain::{AdminId, Principal, StoreId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, list(app, &request).await)
}

async fn list(app: &App, request: &Request) -> Result<TokenList, ChatError> {
    let ids = 1..=u64::MAX;
    let principal =
        match (http::query_number(request, "store_id", ids.clone())?, http::query_number(request, "admin_id", ids)?) {
            (Some(store), None) => Principal::Store(StoreId(store)),
            (None, Some(admin)) => Principal::Admin(AdminId(admin)),
            _ => return Err(ChatError::bad_request("name one of store_id and admin_id")),
        };
    chat::list_tokens(app, principal).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
