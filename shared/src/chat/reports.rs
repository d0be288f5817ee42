//! Reports: the figures of the table's changes, added up as the table's stream gives them,
//! and read back as a report for the admins' route and the operator's CLI.

use crate::domain::{ChangeRecord, FigureChange, Report, ReportQuery, figures_of};
use crate::storage::FIGURE_CHANGES_PER_WRITE;
use crate::{App, ChatError};

/// Adds the figures of `records` to the report tallies, each change once however often the
/// stream gives it. Answers the sequence number of the first record whose figures may not be
/// recorded: the stream is read again from there, and what was recorded is passed over.
pub async fn record_figures(app: &App, records: &[ChangeRecord]) -> Option<String> {
    let zone = &app.config.report_zone;
    let changes: Vec<(usize, FigureChange)> = records
        .iter()
        .enumerate()
        .filter_map(|(index, record)| figures_of(&record.change, zone).map(|figures| (index, figures)))
        .collect();
    let mut recorded = 0;
    for chunk in changes.chunks(FIGURE_CHANGES_PER_WRITE) {
        let figures: Vec<FigureChange> = chunk.iter().map(|(_, figures)| figures.clone()).collect();
        match app.store.record_figures(&figures).await {
            Ok(new) => recorded += new,
            Err(error) => {
                tracing::warn!(%error, "report figures not recorded");
                return Some(records[chunk[0].0].sequence_number.clone());
            }
        }
    }
    tracing::info!(records = records.len(), changes = changes.len(), recorded, "report figures");
    None
}

/// The report `query` asks for: one round trip, whatever the number of sessions.
pub async fn report(app: &App, query: &ReportQuery) -> Result<Report, ChatError> {
    let tallies = app.store.tallies(query.from, query.to).await?;
    Ok(crate::domain::report(query, &tallies, &app.config.report_zone))
}

/// Today, where the deployment counts its days.
pub fn today(app: &App) -> jiff::civil::Date {
    app.config.report_zone.day_of(crate::Timestamp::now())
}
