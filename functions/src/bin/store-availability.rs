//! `GET /v1/chat/store/availability/`: what the calling store is told before it writes —
//! `{within_hours, until, time_zone, admin_available, expected_reply, locale}`. Reads only.

use shared::chat::{self, Availability};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Store, availability(app, &request).await)
}

async fn availability(app: &App, request: &Request) -> Result<Availability, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    chat::availability(app, store).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
