//! `GET /v1/chat/admin/sessions/?status=&tag=&limit=&offset=&cursor=`: every open session
//! and the caller's own claimed and closed ones, newest activity first, with
//! `total_count` from counters and an opaque `next_cursor`.

use shared::domain::SessionStatus;
use shared::domain::input::validate_tags;
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 100;

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, list(app, &request).await)
}

async fn list(app: &App, request: &Request) -> Result<chat::SessionListView, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let status = match http::query_param(request, "status").filter(|s| !s.is_empty()) {
        None => None,
        Some("open") => Some(SessionStatus::Open),
        Some("claimed") => Some(SessionStatus::Claimed),
        Some("closed") => Some(SessionStatus::Closed),
        Some(_) => return Err(ChatError::bad_request("status must be one of open, claimed, closed")),
    };
    let tag = match http::query_param(request, "tag").filter(|t| !t.is_empty()) {
        Some(tag) => Some(
            validate_tags(vec![tag.to_owned()])
                .map_err(|_| ChatError::bad_request("tag must be 1 to 32 of a-z, 0-9, _ and -"))?
                .remove(0),
        ),
        None => None,
    };
    let params = chat::ListParams {
        statuses: status.into_iter().collect(),
        tag,
        limit: http::query_number(request, "limit", 1..=MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT) as usize,
        offset: http::query_number(request, "offset", 0..=u64::MAX)?.unwrap_or(0) as usize,
        cursor: http::query_param(request, "cursor").filter(|c| !c.is_empty()).map(str::to_owned),
    };
    chat::list_sessions(app, admin, params).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
