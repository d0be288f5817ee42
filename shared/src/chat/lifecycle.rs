//! Claim, close, transfer; tags and ratings.

use super::{MAX_DECISIONS, Target, session_not_found, session_of, visible_session};
use crate::domain::input::{validate_rating, validate_tags};
use crate::domain::{
    Actor, AdminId, LifecycleAction, LifecycleChange, Principal, Session, SessionId, decide, may_rate,
};
use crate::storage::{ChatStore, WriteOutcome};
use crate::{ChatError, Timestamp};

/// Applies `action` by `actor` to the session `target` names; a repeat of what already
/// happened (a second claim by the holder) changes nothing and succeeds.
pub async fn change_lifecycle(
    store: &dyn ChatStore,
    actor: Actor,
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
    let (session, next_admin_exists) = tokio::join!(session_of(store, target), async {
        match next_holder {
            Some(admin) => store.admin_profile(admin).await.map(|profile| profile.is_some()),
            None => Ok(true),
        }
    });
    if !next_admin_exists? {
        return Err(ChatError::not_found("Admin not found"));
    }
    let mut seen = session?;
    for _ in 0..MAX_DECISIONS {
        let (status, admin_id) = match decide(&seen, actor, action)? {
            LifecycleChange::Unchanged => return Ok(seen),
            LifecycleChange::To { status, admin_id } => (status, admin_id),
        };
        match store.change_lifecycle(&seen, status, admin_id, Timestamp::now()).await? {
            WriteOutcome::Written(session) => return Ok(session),
            // Someone else changed it first: decide again on what it is now.
            WriteOutcome::Stale(current) => seen = current,
        }
    }
    Err(ChatError::Conflict("The session kept changing; try again".into()))
}

/// Replaces the tags of a session the admin may see.
pub async fn set_tags(
    store: &dyn ChatStore,
    admin: AdminId,
    session_id: SessionId,
    tags: Vec<String>,
) -> Result<Session, ChatError> {
    let tags = validate_tags(tags)?;
    let mut seen = visible_session(store, Principal::Admin(admin), Target::Session(session_id)).await?;
    for _ in 0..MAX_DECISIONS {
        if seen.tags == tags {
            return Ok(seen);
        }
        match store.set_tags(&seen, tags.clone(), Timestamp::now()).await? {
            WriteOutcome::Written(session) => return Ok(session),
            WriteOutcome::Stale(current) => {
                current.may_view(Principal::Admin(admin))?;
                seen = current;
            }
        }
    }
    Err(ChatError::Conflict("The session kept changing; try again".into()))
}

/// Records a store's rating of one of its closed sessions, once.
pub async fn rate_session(
    store: &dyn ChatStore,
    store_id: crate::domain::StoreId,
    session_id: SessionId,
    rating: i64,
    feedback: Option<String>,
) -> Result<Session, ChatError> {
    let (rating, feedback) = validate_rating(rating, feedback)?;
    let mut seen = store.session(session_id).await?.ok_or_else(session_not_found)?;
    for _ in 0..MAX_DECISIONS {
        may_rate(&seen, store_id)?;
        match store.rate_session(&seen, rating, feedback.clone(), Timestamp::now()).await? {
            WriteOutcome::Written(session) => return Ok(session),
            WriteOutcome::Stale(current) => seen = current,
        }
    }
    Err(ChatError::Conflict("The session kept changing; try again".into()))
}
