//! `GET /v1/chat/admin/reports/?from=&to=&granularity=&admin_id=`: how the team is doing —
//! conversations opened, picked up and closed, messages each way, first-response and
//! resolution times, ratings, per day or week and per admin, and what waits now.

use shared::domain::{AdminId, ReportQuery};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, report(app, &request).await)
}

async fn report(app: &App, request: &Request) -> Result<shared::domain::Report, ChatError> {
    http::authenticate_admin(app, request, Family::Admin).await?;
    let admin = http::query_number(request, "admin_id", 1..=u64::MAX)?.map(AdminId);
    let text = |name| http::query_param(request, name);
    let query = ReportQuery::parse(text("from"), text("to"), text("granularity"), admin, chat::today(app))
        .map_err(ChatError::bad_request)?;
    chat::report(app, &query).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
