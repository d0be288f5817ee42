//! Automatic assignment (`ASSIGNMENT_POLICY=auto`): waiting sessions, longest waiting first,
//! each to the available admin with free capacity and the lowest load, ties to whoever was
//! given one least recently. The invariants are the write's conditions
//! ([`crate::storage::DeskStore::assign`]); what is read here only chooses, so racing
//! instances may choose alike, and the loser reads again.
//!
//! It runs when something frees or brings capacity or a session starts to wait, and from the
//! sweep that runs every minute ([`super::sweep`]).

use super::events::announce_change;
use crate::config::AssignmentPolicy;
use crate::domain::{Session, next_admin};
use crate::storage::{Assignment, Waiting};
use crate::{App, ChatError, Timestamp, deadline};
use std::time::{Duration, Instant};

/// The most sessions one batch of the sweep assigns, the longest waiting first; the sweep
/// runs batch after batch while one finds takers for all it tried.
pub(super) const SWEEP_BATCH: usize = 25;
/// How often one session is tried again when the write finds it or the chosen admin changed.
const TRIES_PER_SESSION: usize = 3;
/// How long a request spends starting assignments after its own change, at most; what is
/// left waits for the next trigger or the sweep.
const REQUEST_BUDGET: Duration = Duration::from_millis(1500);
/// What a request keeps of its deadline ([`crate::deadline::INVOCATION_DEADLINE`]) for
/// answering, after its assignments: its own change is stored, and a slow fan-out or a slow
/// table must not turn it into a 503.
pub(super) const ANSWER_RESERVE: Duration = Duration::from_millis(500);
/// How long the sweep spends, inside its own deadline.
pub(super) const SWEEP_BUDGET: Duration = Duration::from_secs(30);

/// Assigns up to `at_most` of what waits to whoever can take it, oldest first; `joined`, a
/// session that just started to wait (the index may not show it yet). A request assigns what
/// its own change made room for (one session for a close, an admin's capacity when it
/// becomes available), so that it stays within its deadline; the sweep does the rest. How
/// many were assigned.
pub async fn assign_waiting(
    app: &App,
    joined: Option<&Session>,
    at_most: usize,
    budget: Duration,
) -> Result<usize, ChatError> {
    if app.config.assignment != AssignmentPolicy::Auto || at_most == 0 {
        return Ok(0);
    }
    let started = Instant::now();
    let now = Timestamp::now();
    let (waiting, desks) = tokio::join!(app.store.waiting_sessions(at_most), app.store.desks(now));
    let (mut waiting, mut desks) = (waiting?, desks?);
    if let Some(session) = joined.filter(|s| s.is_waiting())
        && let Some(since) = session.queued_at
        && !waiting.iter().any(|w| w.session == session.id)
    {
        waiting.push(Waiting { session: session.id, store: session.store.id, since });
        waiting.sort_by_key(|w| (w.since, w.session));
        waiting.truncate(at_most);
    }
    let mut assigned = 0;
    'sessions: for waiting in waiting {
        for _ in 0..TRIES_PER_SESSION {
            if started.elapsed() > budget {
                break 'sessions;
            }
            let now = Timestamp::now();
            let Some(admin) = next_admin(&desks, now, app.config.presence_grace) else { break 'sessions };
            let (admin_id, capacity) = (admin.desk.admin_id, admin.desk.capacity);
            // The index is read eventually consistently: the session as it is decides.
            let Some(seen) = app.store.session(waiting.session).await?.filter(Session::is_waiting) else {
                continue 'sessions;
            };
            match app.store.assign(&seen, admin_id, capacity, now).await? {
                Assignment::Assigned(session) => {
                    announce_change(app, &seen, &session).await;
                    if let Some(state) = desks.iter_mut().find(|state| state.desk.admin_id == admin_id) {
                        state.load += 1;
                        state.desk.last_assigned_at = Some(now);
                    }
                    assigned += 1;
                    continue 'sessions;
                }
                // Taken meanwhile, or the admin became away or full: read the desks again.
                Assignment::NotNow => desks = app.store.desks(Timestamp::now()).await?,
            }
        }
    }
    Ok(assigned)
}

/// [`assign_waiting`] as what follows a request's own change (`why`), in the time the
/// request can spare: a failure is logged, and what still waits is left to the next trigger
/// or the sweep. Cut short, an assignment either committed or did not (one transaction).
pub(super) async fn assign_after(app: &App, joined: Option<&Session>, at_most: usize, why: &str) {
    let assigning = assign_waiting(app, joined, at_most, REQUEST_BUDGET);
    match deadline::in_spare_time(ANSWER_RESERVE, REQUEST_BUDGET + ANSWER_RESERVE, assigning).await {
        Some(Ok(_)) => {}
        Some(Err(error)) => tracing::warn!(%error, why, "could not assign waiting sessions"),
        None => tracing::warn!(why, "no time left to assign waiting sessions"),
    }
}
