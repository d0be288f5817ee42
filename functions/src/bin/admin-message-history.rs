//! `GET /v1/chat/admin/messages/history/?session_id=&message_id=`: a message's audit trail
//! for admins: each edit and delete, oldest first, with who made it, when, and what the
//! message said before it. No store route reads it.

use shared::domain::{MessageId, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, history(app, &request).await)
}

async fn history(app: &App, request: &Request) -> Result<chat::RevisionTrail, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let required = |name: &str| {
        http::query_number(request, name, 1..=u64::MAX)?
            .ok_or_else(|| ChatError::bad_request(format!("{name} is required")))
    };
    let (session_id, message_id) = (SessionId(required("session_id")?), MessageId(required("message_id")?));
    chat::revision_trail(app, admin, session_id, message_id).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
