//! `PUT /v1/platform/hours/` (AWS_IAM): sets the team's business hours —
//! `{hours: {time_zone, week: {mon: [{opens, closes}], …}, holidays, expected_reply}}` — or
//! clears them (`{hours: null}`: always within hours). Answers the hours as stored; hours
//! that do not hold together are a 400 that says why.

use serde::Deserialize;
use shared::chat::{self, TeamHours};
use shared::domain::HoursInput;
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetHours {
    hours: Option<HoursInput>,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Platform, set_hours(app, &request).await)
}

async fn set_hours(app: &App, request: &Request) -> Result<TeamHours, ChatError> {
    let body: SetHours = http::json_body(request)?;
    chat::set_business_hours(app, body.hours).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
