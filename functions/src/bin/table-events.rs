//! The table's change stream (a DynamoDB event source mapping): puts the events its
//! changes mean on the event bus, in order, and answers the first record not done, which
//! Lambda reads the stream again from.

use shared::App;
use shared::chat;
use shared::domain::ChangeRecord;

pub async fn handle(app: &App, records: Vec<ChangeRecord>) -> Option<String> {
    chat::publish_changes(app, &records).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::stream::run("table-events", |app, records| Box::pin(handle(app, records)))
}
