//! `POST /v1/chat/admin/notes/`: `{session_id, content}` adds a private note to a session the
//! admin may view. 201 with the note; the admins who may view the session hear
//! `note.created`, and the store never hears of it.

use serde::Deserialize;
use shared::domain::{Note, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

#[derive(Deserialize)]
struct NoteRequest {
    session_id: SessionId,
    content: String,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond_created(Family::Admin, write(app, &request).await)
}

async fn write(app: &App, request: &Request) -> Result<Note, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: NoteRequest = http::json_body(request)?;
    chat::write_note(app, admin, body.session_id, body.content).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
