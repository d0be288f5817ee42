//! WebSocket `ping`: answers `{"type": "pong"}` on the same connection.

use shared::http::{Body, Request, Response};
use shared::live::ServerEvent;
use shared::{App, ws};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    if let Some(connection) = ws::connection_id(&request) {
        app.live.reply(&connection, &ServerEvent::Pong).await;
    }
    ws::done()
}
