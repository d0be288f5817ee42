//! The embedded store's change feed: what DynamoDB's stream tells of the table, as the
//! changes it means (a session written, before and after; a message added or revised; a
//! note added), numbered in the order they were made and kept for a day, as the stream
//! keeps its records.

use std::collections::VecDeque;

use crate::Timestamp;
use crate::domain::{ChangeRecord, Message, Note, Session, TableChange};

/// How long a record is kept: a DynamoDB stream's retention.
const RETENTION_SECONDS: i64 = 24 * 60 * 60;

#[derive(Default)]
pub(super) struct ChangeFeed {
    /// Each record with its number and when it was made, oldest first.
    records: VecDeque<(u64, Timestamp, TableChange)>,
    last: u64,
}

impl ChangeFeed {
    pub(super) fn session_written(&mut self, before: Option<Session>, after: &Session) {
        self.push(TableChange::Session { before: before.map(Box::new), after: Some(Box::new(after.clone())) });
    }

    pub(super) fn message_added(&mut self, message: &Message) {
        self.push(TableChange::MessageAdded(message.clone()));
    }

    pub(super) fn message_revised(&mut self, message: &Message) {
        self.push(TableChange::MessageRevised(message.clone()));
    }

    pub(super) fn note_added(&mut self, note: &Note) {
        self.push(TableChange::NoteAdded(note.clone()));
    }

    fn push(&mut self, change: TableChange) {
        let now = Timestamp::now();
        while self.records.front().is_some_and(|(_, at, _)| now.seconds_since(*at) > RETENTION_SECONDS) {
            self.records.pop_front();
        }
        self.last += 1;
        self.records.push_back((self.last, now, change));
    }

    /// Up to `limit` records after the one numbered `after` (from the oldest kept without it).
    pub(super) fn after(&self, after: Option<&str>, limit: usize) -> Vec<ChangeRecord> {
        let after = after.and_then(|number| number.parse::<u64>().ok()).unwrap_or(0);
        let from = self.records.partition_point(|(number, _, _)| *number <= after);
        let records = self.records.range(from..).take(limit);
        records
            .map(|(number, _, change)| ChangeRecord { sequence_number: number.to_string(), change: change.clone() })
            .collect()
    }
}

/// The feed is the stream, not the table: its records are not part of what the store holds.
impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed").finish_non_exhaustive()
    }
}
