//! Events out: the table's changes, as its change stream gives them, put on the event bus
//! as the domain events they mean, in the stream's order.

use crate::App;
use crate::bus::PUT_BATCH;
use crate::domain::{OutboundEvent, TableChange, events_of};

/// One record of the change stream: where it is in the stream, and what it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRecord {
    pub sequence_number: String,
    pub change: TableChange,
}

/// Puts the events of `records` on the bus, in order. Answers the sequence number of the
/// first record whose events are not all on it: the stream is read again from there, so
/// nothing after it goes out first, and what went out again keeps its ids. Without a bus,
/// the events are counted in the log and go nowhere.
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
    let bus = app.event_bus.as_ref()?;
    for chunk in events.chunks(PUT_BATCH) {
        let batch: Vec<OutboundEvent> = chunk.iter().map(|(_, event)| event.clone()).collect();
        let published = bus.put(&batch).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "could not put events on the bus");
            0
        });
        if let Some((index, _)) = chunk.get(published) {
            return Some(records[*index].sequence_number.clone());
        }
    }
    None
}
