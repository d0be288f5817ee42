//! `GET /v1/chat/admin/sessions/?status=&tag=&q=&holder=&from=&to=&limit=&offset=&cursor=`:
//! every open session and the caller's own claimed and closed ones, newest activity first,
//! with `total_count` and an opaque `next_cursor`. `q` finds part of the store's name or
//! email (any case); `holder` is `me` or `none`; `from` and `to` bound the last activity
//! (dates, both days included, or RFC 3339 times).

use shared::domain::input::validate_tags;
use shared::domain::{Holder, SessionFilter, SessionStatus, parse_bound};
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
    let holder = match http::query_param(request, "holder").filter(|h| !h.is_empty()) {
        None => Holder::Anyone,
        Some("me") => Holder::Me,
        Some("none") => Holder::Nobody,
        Some(_) => return Err(ChatError::bad_request("holder must be me or none")),
    };
    let bound = |name: &str, end_of_day: bool| {
        http::query_param(request, name)
            .filter(|text| !text.is_empty())
            .map(|text| parse_bound(text, name, end_of_day))
            .transpose()
    };
    let filter = SessionFilter { holder, ..SessionFilter::default() }
        .with_search(http::query_param(request, "q").unwrap_or_default())?
        .with_activity(bound("from", false)?, bound("to", true)?)?;
    let params = chat::ListParams {
        statuses: status.into_iter().collect(),
        tag,
        limit: http::query_number(request, "limit", 1..=MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT) as usize,
        offset: http::query_number(request, "offset", 0..=u64::MAX)?.unwrap_or(0) as usize,
        cursor: http::query_param(request, "cursor").filter(|c| !c.is_empty()).map(str::to_owned),
        filter,
    };
    chat::list_sessions(app, admin, params).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
