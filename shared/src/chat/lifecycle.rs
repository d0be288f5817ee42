//! Claim, close, transfer; tags and ratings. Every change is told to the live connections
//! concerned as `session.updated`.

use super::assignment::assign_after;
use super::events::{announce_change, queue_moved, session_updated};
use super::links::linked;
use super::{MAX_DECISIONS, Target, session_not_found, session_of, visible_session};
use crate::domain::input::{validate_rating, validate_tags};
use crate::domain::{
    AdminId, Before, LifecycleAction, LifecycleChange, Principal, Session, SessionId, SessionStatus, StoreId, decide,
    may_rate,
};
use crate::storage::{ClosedSession, WriteOutcome};
use crate::telemetry::{self, Figure};
use crate::{App, ChatError, Timestamp};

/// Applies `action` by `actor` to the session `target` names; a repeat of what already
/// happened (a second claim by the holder) changes nothing and succeeds.
pub async fn change_lifecycle(
    app: &App,
    actor: Principal,
    target: Target,
    action: LifecycleAction,
) -> Result<Session, ChatError> {
    let next_holder = match action {
        LifecycleAction::Transfer { to: Some(admin) } => Some(admin),
        _ => None,
    };
    // The session and, for a transfer, the admin it goes to: one round trip. Who may do
    // what to it is `decide`'s to say (a claim of another admin's session is a 409, not
    // the 403 of viewing it).
    let (session, next_admin_exists) = tokio::join!(session_of(app, target), async {
        match next_holder {
            Some(admin) => app.store.admin_profile(admin).await.map(|profile| profile.is_some()),
            None => Ok(true),
        }
    });
    if !next_admin_exists? {
        return Err(ChatError::not_found("Admin not found"));
    }
    let mut seen = session?;
    for _ in 0..MAX_DECISIONS {
        let (status, admin_id) = match decide(&seen, actor, action)? {
            LifecycleChange::Unchanged => return Ok(linked(app, seen).await),
            LifecycleChange::To { status, admin_id } => (status, admin_id),
        };
        match app.store.change_lifecycle(&seen, status, admin_id, Timestamp::now()).await? {
            WriteOutcome::Written(session) => {
                if session.status == SessionStatus::Closed {
                    telemetry::record(Figure::SessionsClosed, 1.0);
                }
                announce_change(app, &seen, &session).await;
                if seen.status == SessionStatus::Claimed {
                    // Capacity freed (or a session handed back waits again).
                    assign_after(app, None, 1, "capacity freed").await;
                }
                return Ok(linked(app, session).await);
            }
            // Someone else changed it first: decide again on what it is now.
            WriteOutcome::Stale(current) => seen = current,
        }
    }
    Err(ChatError::Conflict("The session kept changing; try again".into()))
}

/// A store ends its active session (it may always end its own).
pub async fn close_active_session(app: &App, store: StoreId) -> Result<ClosedSession, ChatError> {
    let closed = app.store.close_active_session(store, Timestamp::now()).await?.ok_or_else(session_not_found)?;
    telemetry::record(Figure::SessionsClosed, 1.0);
    // The event carries the whole session, which the close itself did not read.
    let announced = telemetry::live_delivery(async {
        let session = app.store.session(closed.id).await?;
        if let Some(session) = session {
            let before = Before { was_open: closed.admin_id.is_none(), holder: closed.admin_id };
            let queue = async {
                // An open session left the queue: the stores behind it moved up.
                if before.was_open && session.queued_at.is_some() {
                    queue_moved(app, None).await?;
                }
                Ok::<_, ChatError>(())
            };
            let ((), queue) = tokio::join!(session_updated(app, before, &session, true), queue);
            if let Err(error) = queue {
                tracing::warn!(%error, "could not tell the waiting stores their places");
            }
            if closed.admin_id.is_some() {
                assign_after(app, None, 1, "capacity freed").await;
            }
        }
        Ok::<_, crate::storage::StorageError>(())
    });
    if let Err(error) = announced.await {
        // The close is stored; only the live event is missing.
        tracing::warn!(%error, "could not announce a closed session");
    }
    Ok(closed)
}

/// Replaces the tags of a session the admin may see; the admins concerned hear of it.
pub async fn set_tags(
    app: &App,
    admin: AdminId,
    session_id: SessionId,
    tags: Vec<String>,
) -> Result<Session, ChatError> {
    let tags = validate_tags(tags)?;
    let mut seen = visible_session(app, Principal::Admin(admin), Target::Session(session_id)).await?;
    for _ in 0..MAX_DECISIONS {
        if seen.tags == tags {
            return Ok(linked(app, seen).await);
        }
        match app.store.set_tags(&seen, tags.clone(), Timestamp::now()).await? {
            WriteOutcome::Written(session) => {
                session_updated(app, Before::of(&seen), &session, false).await;
                return Ok(linked(app, session).await);
            }
            WriteOutcome::Stale(current) => {
                current.may_view(Principal::Admin(admin))?;
                seen = current;
            }
        }
    }
    Err(ChatError::Conflict("The session kept changing; try again".into()))
}

/// Records a store's rating of one of its closed sessions, once; the admin who held it hears.
pub async fn rate_session(
    app: &App,
    store: StoreId,
    session_id: SessionId,
    rating: i64,
    feedback: Option<String>,
) -> Result<Session, ChatError> {
    let (rating, feedback) = validate_rating(rating, feedback)?;
    let mut seen = app.store.session(session_id).await?.ok_or_else(session_not_found)?;
    for _ in 0..MAX_DECISIONS {
        may_rate(&seen, store)?;
        match app.store.rate_session(&seen, rating, feedback.clone(), Timestamp::now()).await? {
            WriteOutcome::Written(session) => {
                // The admin who held it sees the rating come in.
                session_updated(app, Before::of(&seen), &session, false).await;
                return Ok(linked(app, session).await);
            }
            WriteOutcome::Stale(current) => seen = current,
        }
    }
    Err(ChatError::Conflict("The session kept changing; try again".into()))
}
