//! `GET /v1/chat/admin/store/?store_id=`: who a store is, for the admin about to answer it:
//! its profile, how many sessions it has had, its last rating, and its newest sessions
//! (status, holder, rating, tags, and whether the caller may open each).

use shared::domain::StoreId;
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, context(app, &request).await)
}

async fn context(app: &App, request: &Request) -> Result<chat::StoreContext, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let store = http::query_number(request, "store_id", 1..=u64::MAX)?
        .map(StoreId)
        .ok_or_else(|| ChatError::bad_request("store_id is required"))?;
    chat::store_context(app, admin, store).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
