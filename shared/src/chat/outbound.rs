//! Events out: the table's changes, as its change stream gives them, put on the event bus
//! as the domain events they mean, queued for the webhooks that asked for them, in the
//! stream's order, and followed by the email jobs they mean.

use super::delivery::queue_deliveries;
use super::email::queue_email_jobs;
use crate::App;
use crate::bus::PUT_BATCH;
use crate::domain::{ChangeRecord, OutboundEvent, events_of, first_answer_wait_ms};
use crate::telemetry::{self, Figure};

/// Puts the events of `records` on the bus and queues their webhook deliveries, in order.
/// Answers the sequence number of the first record whose events are not all out: the
/// stream is read again from there, so nothing after it goes out first, and what went out
/// again keeps its ids. Without a bus or a queue, the events go nowhere there.
pub async fn publish_changes(app: &App, records: &[ChangeRecord]) -> Option<String> {
    let events: Vec<(usize, OutboundEvent)> = records
        .iter()
        .enumerate()
        .flat_map(|(index, record)| {
            let sequence = Some(record.sequence_number.clone());
            events_of(&record.change)
                .into_iter()
                .map(move |event| (index, OutboundEvent { sequence: sequence.clone(), ..event }))
        })
        .collect();
    tracing::info!(records = records.len(), events = events.len(), "table changes");
    // Counted from the committed change, once however many writers raced to answer first.
    for wait_ms in records.iter().filter_map(|record| first_answer_wait_ms(&record.change)) {
        telemetry::record(Figure::FirstResponseTime, wait_ms as f64 / 1000.0);
    }
    let in_order: Vec<OutboundEvent> = events.iter().map(|(_, event)| event.clone()).collect();
    let (on_bus, queued, mailed) =
        futures::join!(put_on_bus(app, &events), queue_deliveries(app, &in_order), queue_email_jobs(app, &in_order));
    // Each stops at its first failure; the stream is read again from the earlier.
    let not_queued = [queued, mailed].into_iter().flatten().map(|position| events[position].0);
    let first_failed = on_bus.into_iter().chain(not_queued).min()?;
    Some(records[first_failed].sequence_number.clone())
}

/// Puts the events on the bus, batch after batch: the record of the first not on it.
async fn put_on_bus(app: &App, events: &[(usize, OutboundEvent)]) -> Option<usize> {
    let bus = app.event_bus.as_ref()?;
    for chunk in events.chunks(PUT_BATCH) {
        let batch: Vec<OutboundEvent> = chunk.iter().map(|(_, event)| event.clone()).collect();
        let published = bus.put(&batch).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "could not put events on the bus");
            0
        });
        if let Some((index, _)) = chunk.get(published) {
            return Some(*index);
        }
    }
    None
}
