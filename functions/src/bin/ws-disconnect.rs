//! WebSocket `$disconnect`: forgets the connection; an admin whose last inbox closed is
//! offline once the grace passes.

use shared::http::{Body, Request, Response};
use shared::{App, ws};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    ws::disconnect(app, &request).await;
    ws::done()
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
