//! The email job queue (an SQS event source mapping, each job held back by its delay): for
//! each job, whether its mail is due — a store's digest of missed answers, an on-call alert,
//! a transcript — and if so, claimed on the session and sent through SES. The one function
//! that sends mail.

use shared::App;
use shared::chat;
use shared::queue::{SqsEvent, received_jobs};

pub async fn handle(app: &App, batch: SqsEvent) -> Vec<String> {
    chat::run_email_jobs(app, received_jobs(batch)).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::queue::run("email-jobs", |app, batch| Box::pin(handle(app, batch)))
}
