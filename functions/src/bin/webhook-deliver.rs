//! The webhook delivery queue (an SQS event source mapping): posts each delivery, signed,
//! to its subscription's receiver, and answers the ones to try again later, which stay on
//! the queue and hold back the rest of their session's deliveries to that receiver.

use shared::App;
use shared::chat::{self, ReceivedDelivery};

pub async fn handle(app: &App, batch: Vec<ReceivedDelivery>) -> Vec<String> {
    chat::deliver_batch(app, batch).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::queue::run(|app, batch| Box::pin(handle(app, batch)))
}
