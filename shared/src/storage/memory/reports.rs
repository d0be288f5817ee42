use async_trait::async_trait;
use jiff::civil::Date;

use super::MemoryStore;
use crate::domain::{FigureChange, Tallies};
use crate::storage::{FIGURE_CHANGES_PER_WRITE, ReportStore, StorageError, StorageResult};

#[async_trait]
impl ReportStore for MemoryStore {
    async fn record_figures(&self, changes: &[FigureChange]) -> StorageResult<usize> {
        if changes.len() > FIGURE_CHANGES_PER_WRITE {
            return Err(StorageError::Malformed(format!("{} figure changes in one write", changes.len())));
        }
        let mut state = self.state();
        let mut recorded = 0;
        for change in changes {
            if state.figure_ids.insert(change.id.clone()) {
                state.tallies.record(change);
                recorded += 1;
            }
        }
        Ok(recorded)
    }

    async fn tallies(&self, from: Date, to: Date) -> StorageResult<Tallies> {
        let state = self.state();
        let by_key = state.tallies.by_key.iter().filter(|(key, _)| (from..=to).contains(&key.day()));
        let waiting = state.sessions.values().filter(|data| data.session.is_waiting()).count() as u64;
        Ok(Tallies { by_key: by_key.map(|(key, tally)| (*key, tally.clone())).collect(), waiting })
    }
}
