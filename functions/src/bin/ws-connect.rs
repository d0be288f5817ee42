//! WebSocket `$connect`: authenticates `?token=` (store or admin) and records the
//! connection with a TTL. A refusal (401, 403) is the status of the refused upgrade.

use shared::http::{Body, Request, Response, json};
use shared::{App, ws};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    match ws::connect(app, &request).await {
        Ok(()) => ws::done(),
        Err(error) => json(error.status(), &serde_json::json!({ "message": error.to_string() })),
    }
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
