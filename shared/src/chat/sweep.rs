//! What no request triggers, run every minute by a scheduled function.

use super::assignment::{SWEEP_BATCH, SWEEP_BUDGET, assign_waiting};
use super::connections::close_expired_connections;
use super::desk::tell_offline;
use super::events::announce_change;
use crate::config::AssignmentPolicy;
use crate::domain::SessionStatus;
use crate::storage::{SessionQuery, WriteOutcome};
use crate::{App, ChatError, Timestamp};

/// What the sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Sessions handed back to the queue from holders offline too long.
    pub requeued: usize,
    pub assigned: usize,
    /// Live connections closed because their token (or their time) ran out.
    pub closed: usize,
}

/// What no request triggers, every minute: connections whose token expired are closed; the
/// team hears who went offline; with automatic assignment, what holders offline longer than
/// the requeue delay left unanswered goes back to the queue, and what waits is assigned.
pub async fn sweep(app: &App) -> Result<Swept, ChatError> {
    let mut swept = Swept { closed: close_expired_connections(app).await?, ..Swept::default() };
    let now = Timestamp::now();
    let desks = app.store.desks(now).await?;
    tell_offline(app, &desks, now).await?;
    if app.config.assignment != AssignmentPolicy::Auto {
        return Ok(swept);
    }
    for state in desks.iter().filter(|state| state.load > 0 && state.gone_for(now, app.config.requeue_delay)) {
        let query = SessionQuery {
            admin: state.desk.admin_id,
            statuses: vec![SessionStatus::Claimed],
            tag: None,
            limit: 100,
            offset: 0,
            after: None,
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
                swept.requeued += 1;
            }
        }
    }
    // Batch after batch, while a batch finds takers for all it tried and time is left.
    let started = std::time::Instant::now();
    loop {
        let budget = SWEEP_BUDGET.saturating_sub(started.elapsed());
        let assigned = assign_waiting(app, None, SWEEP_BATCH, budget).await?;
        swept.assigned += assigned;
        if assigned < SWEEP_BATCH || budget.is_zero() {
            break;
        }
    }
    Ok(swept)
}
