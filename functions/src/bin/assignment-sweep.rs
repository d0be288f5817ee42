//! Every minute (a `Schedule` event): closes the connections whose token expired, tells the
//! team who went offline and, with automatic assignment, hands back what holders offline too
//! long left unanswered and assigns what waits. Answers what it did.

use serde_json::Value;
use shared::{App, ChatError, chat};

pub async fn handle(app: &App) -> Result<Value, ChatError> {
    let swept = chat::sweep(app).await?;
    Ok(serde_json::to_value(swept).expect("a sweep's outcome serialises"))
}

fn main() -> Result<(), shared::http::Error> {
    shared::schedule::run(|app| Box::pin(handle(app)))
}
