//! `GET /v1/platform/hours/` (AWS_IAM): the team's business hours as they were set —
//! `{hours: {time_zone, week, holidays, expected_reply} | null}`.

use shared::chat;
use shared::http::{self, Body, Request, Response};
use shared::{App, Family};

pub async fn handle(app: &App, _request: Request) -> Response<Body> {
    http::respond(Family::Platform, chat::business_hours(app).await)
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
