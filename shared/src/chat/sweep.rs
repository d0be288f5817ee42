//! What no request triggers, run every minute by a scheduled function.

use super::assignment::{SWEEP_BATCH, SWEEP_BUDGET, assign_waiting};
use super::away::reply_to_the_unheard;
use super::connections::close_expired_connections;
use super::desk::tell_offline;
use super::events::announce_change;
use crate::config::AssignmentPolicy;
use crate::domain::{DeskState, SessionStatus};
use crate::storage::{SessionQuery, Waiting, WriteOutcome};
use crate::telemetry::{self, Figure};
use crate::{App, ChatError, Timestamp};

/// The most waiting sessions one sweep looks at (for away replies and the metrics).
const SWEEP_LOOKS_AT: usize = 100;

/// What the sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Sessions handed back to the queue from holders offline too long.
    pub requeued: usize,
    pub assigned: usize,
    /// Live connections closed because their token (or their time) ran out.
    pub closed: usize,
    /// Away replies sent to stores nobody took for a while, or waiting out of hours.
    pub away_replies: usize,
    /// Closed sessions erased, with their messages, notes and files, after their retention.
    pub expired: usize,
}

/// What no request triggers, every minute: connections whose token expired are closed; the
/// team hears who went offline; stores nobody took for a while get their away reply; with automatic assignment, what holders offline longer than
/// the requeue delay left unanswered goes back to the queue, and what waits is assigned.
pub async fn sweep(app: &App) -> Result<Swept, ChatError> {
    let mut swept = Swept { closed: close_expired_connections(app).await?, ..Swept::default() };
    let now = Timestamp::now();
    let desks = app.store.desks(now).await?;
    tell_offline(app, &desks, now).await?;
    if app.config.assignment == AssignmentPolicy::Auto {
        swept.requeued = requeue_from_the_gone(app, &desks, now).await?;
        swept.assigned = assign_what_waits(app).await?;
    }
    // What is still waiting once the team had its chance.
    let waiting = app.store.waiting_sessions(SWEEP_LOOKS_AT).await?;
    report_waiting(&waiting, Timestamp::now());
    swept.away_replies = reply_to_the_unheard(app, &waiting).await?;
    swept.expired = super::erasure::expire_closed_sessions(app).await?;
    Ok(swept)
}

/// What waits, for the operator's metrics: how many (up to what one sweep looks at) and
/// for how long the longest has; both 0 when nothing does, so that a quiet minute is seen.
fn report_waiting(waiting: &[Waiting], now: Timestamp) {
    let oldest = waiting.iter().map(|waiting| waiting.since).min();
    let waited = oldest.map_or(0, |since| now.millis_since(since));
    telemetry::record(Figure::SessionsWaiting, waiting.len() as f64);
    telemetry::record(Figure::OldestWaitingSeconds, waited as f64 / 1000.0);
}

/// What holders offline longer than the requeue delay left unanswered goes back to the queue.
async fn requeue_from_the_gone(app: &App, desks: &[DeskState], now: Timestamp) -> Result<usize, ChatError> {
    let mut requeued = 0;
    for state in desks.iter().filter(|state| state.load > 0 && state.gone_for(now, app.config.requeue_delay)) {
        let query = SessionQuery {
            admin: state.desk.admin_id,
            statuses: vec![SessionStatus::Claimed],
            tag: None,
            limit: 100,
            offset: 0,
            after: None,
            filter: Default::default(),
        };
        for seen in app.store.list_sessions(&query).await?.sessions {
            // Answered sessions stay with their holder; a store waiting for an answer does not.
            if seen.awaiting_reply_since.is_none() {
                continue;
            }
            if let WriteOutcome::Written(session) =
                app.store.change_lifecycle(&seen, SessionStatus::Open, None, Timestamp::now()).await?
            {
                announce_change(app, &seen, &session).await;
                requeued += 1;
            }
        }
    }
    Ok(requeued)
}

/// Batch after batch, while a batch finds takers for all it tried and time is left.
async fn assign_what_waits(app: &App) -> Result<usize, ChatError> {
    let started = std::time::Instant::now();
    let mut assigned = 0;
    loop {
        let budget = SWEEP_BUDGET.saturating_sub(started.elapsed());
        let batch = assign_waiting(app, None, SWEEP_BATCH, budget).await?;
        assigned += batch;
        if batch < SWEEP_BATCH || budget.is_zero() {
            return Ok(assigned);
        }
    }
}
