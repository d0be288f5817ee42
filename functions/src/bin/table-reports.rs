//! The table's change stream (a second event source mapping): adds each change's figures to
//! the report tallies, once however often the stream gives it, and answers the first record
//! not done, which Lambda reads the stream again from.

use shared::App;
use shared::chat;
use shared::domain::ChangeRecord;

pub async fn handle(app: &App, records: Vec<ChangeRecord>) -> Option<String> {
    chat::record_figures(app, &records).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::stream::run("table-reports", |app, records| Box::pin(handle(app, records)))
}
