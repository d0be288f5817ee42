//! `GET /v1/chat/admin/messages/?session_id=&after=|before=&limit=`: messages after an id, or
//! the newest before one, ascending, under the seed's view rule.

use shared::domain::{MESSAGE_PAGE_LIMIT, Principal, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, list(app, &request).await)
}

async fn list(app: &App, request: &Request) -> Result<chat::MessagePage, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let session_id = http::query_number(request, "session_id", 1..=u64::MAX)?
        .map(SessionId)
        .ok_or_else(|| ChatError::bad_request("session_id is required"))?;
    let window = http::message_window(request)?;
    let limit = http::query_number(request, "limit", 1..=MESSAGE_PAGE_LIMIT)?.unwrap_or(MESSAGE_PAGE_LIMIT);
    chat::messages_of(app, Principal::Admin(admin), Some(session_id), window, limit as usize).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
