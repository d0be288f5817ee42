//! `GET /v1/chat/store/messages/?after=|before=&limit=&session_id=`: messages after an id, or
//! the newest before one, ascending, of the store's active session or of another of its own.

use shared::domain::{MESSAGE_PAGE_LIMIT, Principal, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, list(app, &request).await)
}

async fn list(app: &App, request: &Request) -> Result<chat::MessagePage, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let session_id = http::query_number(request, "session_id", 1..=u64::MAX)?.map(SessionId);
    let window = http::message_window(request)?;
    let limit = http::query_number(request, "limit", 1..=MESSAGE_PAGE_LIMIT)?.unwrap_or(MESSAGE_PAGE_LIMIT);
    chat::messages_of(app, Principal::Store(store), session_id, window, limit as usize).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
