//! `GET /v1/platform/hours/` (AWS_IAM): the team's business hours as they were set —
//! `{hours: {time_zone, week, holidays, expected_reply} | null}`.

use serde::Serialize;
use shared::chat;
use shared::domain::HoursInput;
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Serialize)]
pub struct HoursAnswer {
    pub hours: Option<HoursInput>,
}

pub async fn handle(app: &App, _request: Request) -> Response<Body> {
    http::respond(Family::Platform, hours(app).await)
}

async fn hours(app: &App) -> Result<HoursAnswer, ChatError> {
    Ok(HoursAnswer { hours: chat::business_hours(app).await? })
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
