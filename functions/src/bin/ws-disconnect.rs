//! WebSocket `$disconnect`: forgets the connection.

use shared::http::{Body, Request, Response};
use shared::{App, ws};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    if let Some(id) = ws::connection_id(&request)
        && let Err(error) = app.store.delete_connection(&id).await
    {
        // The item expires by its TTL anyway.
        tracing::warn!(%error, "could not forget a connection");
    }
    ws::done()
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
