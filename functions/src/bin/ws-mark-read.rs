//! WebSocket `mark_read`: `{session_id?, up_to_message_id}` marks the other party's
//! messages read; the other party hears `message.status`.

use shared::domain::ReceiptKind;
use shared::http::{Body, Request, Response};
use shared::{App, ws};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    ws::mark(app, request, ReceiptKind::Read).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
