//! `POST /v1/chat/admin/presence/`: `{availability: "available" | "away"}`, the calling
//! admin's own choice; answers its directory entry. The team hears of it (`admin.presence`),
//! and with automatic assignment an available admin is given what waits.

use serde::Deserialize;
use shared::chat::{self, DirectoryEntry};
use shared::domain::Availability;
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityRequest {
    availability: Availability,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, set_availability(app, &request).await)
}

async fn set_availability(app: &App, request: &Request) -> Result<DirectoryEntry, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: AvailabilityRequest = http::json_body(request)?;
    chat::set_availability(app, admin, body.availability).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
