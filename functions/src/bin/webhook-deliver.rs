//! The webhook delivery queue (an SQS event source mapping): posts each delivery, signed,
//! to its subscription's receiver, and answers the ones to try again later, which stay on
//! the queue and hold back the rest of their session's deliveries to that receiver.

use shared::App;
use shared::chat;
use shared::queue::{SqsEvent, received_deliveries};

pub async fn handle(app: &App, batch: SqsEvent) -> Vec<String> {
    chat::deliver_batch(app, received_deliveries(batch)).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::queue::run("webhook-deliver", |app, batch| Box::pin(handle(app, batch)))
}
