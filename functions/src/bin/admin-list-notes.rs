//! `GET /v1/chat/admin/notes/?session_id=&limit=`: the newest private notes of a session the
//! admin may view, ascending (`limit` 1 to 200, 200 unless given).

use shared::domain::SessionId;
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, list(app, &request).await)
}

async fn list(app: &App, request: &Request) -> Result<chat::NoteList, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let session_id = http::query_number(request, "session_id", 1..=u64::MAX)?
        .map(SessionId)
        .ok_or_else(|| ChatError::bad_request("session_id is required"))?;
    let limit = http::query_number(request, "limit", 1..=chat::NOTE_PAGE_LIMIT as u64)?
        .map_or(chat::NOTE_PAGE_LIMIT, |limit| limit as usize);
    chat::notes_of(app, admin, session_id, limit).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
