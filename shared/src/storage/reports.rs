//! The report figures: each day's tallies, the team's and each admin's, added to as changes
//! are read from the table's stream; and how many wait now, counted from the waiting queue as
//! the tallies are read.

use async_trait::async_trait;
use jiff::civil::Date;

use super::StorageResult;
use crate::domain::{FigureChange, Tallies};

/// The most changes one [`ReportStore::record_figures`] takes: with each change's id and its
/// usual one or two tallies, what one DynamoDB transaction holds (100 items); the DynamoDB
/// store splits changes whose tallies need more.
pub const FIGURE_CHANGES_PER_WRITE: usize = 24;

#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
    /// Adds the figures of `changes` (at most [`FIGURE_CHANGES_PER_WRITE`]), each once: a
    /// change whose id was recorded before, by this call's retries or by an earlier reading
    /// of the stream, is passed over; a change is recorded with its figures or not at all.
    /// Answers how many were new.
    async fn record_figures(&self, changes: &[FigureChange]) -> StorageResult<usize>;
    /// The tallies of the days `from` to `to`, both in, and how many wait now: a read that
    /// depends on the number of days, admins and conversations waiting, never on the number
    /// of sessions.
    async fn tallies(&self, from: Date, to: Date) -> StorageResult<Tallies>;
}
