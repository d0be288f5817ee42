//! WebSocket `ping`: answers `{"type": "pong"}` on the same connection, while the token the
//! connection was opened with is valid (a keep-alive is no way around a revocation).

use shared::http::{Body, Request, Response};
use shared::live::ServerEvent;
use shared::{App, ws};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    ws::act(app, request, |_, request| async move {
        if let Some(connection) = ws::connection_id(&request) {
            app.live.reply(&connection, &ServerEvent::Pong).await;
        }
        Ok(())
    })
    .await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
