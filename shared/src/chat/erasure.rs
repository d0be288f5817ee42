//! Erasing a store when it asks: every session with its messages, notes, trail and files,
//! then its tokens, connections and own items; recorded in an audit log that keeps only the
//! store's id, when, and how much went. Each step deletes what is still there, so a repeat
//! does nothing more and a run cut short is finished by the next. And the closed sessions
//! that outlived the deployment's retention, erased the same way, a batch a minute.

use super::platform::close_everything_of;
use crate::domain::{ErasureRecord, Principal, SessionId, StoreId};
use crate::{App, ChatError, Timestamp};

/// Sessions read at a time.
const SESSIONS_A_READ: usize = 25;

/// Erases up to `at_most` of `store`'s sessions, and the rest of the store once none is
/// left: the audit record as it then stands (`finished_at` once all is gone).
pub async fn erase_store(app: &App, store: StoreId, at_most: usize) -> Result<ErasureRecord, ChatError> {
    // Boxed: its steps make a future too deep to lay out in place.
    Box::pin(erase(app, store, at_most)).await
}

async fn erase(app: &App, store: StoreId, at_most: usize) -> Result<ErasureRecord, ChatError> {
    let mut record = match app.store.erasure(store).await? {
        Some(record) if record.is_finished() => {
            // Finished before; anything of the store's since (a profile provisioned again)
            // is a new erasure.
            if app.store.store_profile(store).await?.is_none() {
                return Ok(record);
            }
            ErasureRecord::started(store, Timestamp::now())
        }
        Some(record) => record,
        None => {
            let (profile, (sessions, _)) =
                tokio::try_join!(app.store.store_profile(store), app.store.sessions_of_store(store, 1))?;
            if profile.is_none() && sessions.is_empty() {
                return Err(ChatError::not_found("Store not found"));
            }
            ErasureRecord::started(store, Timestamp::now())
        }
    };
    app.store.record_erasure(&record).await?;
    // Nothing more comes in while it goes: its tokens and connections first.
    app.store.deactivate(Principal::Store(store), Timestamp::now()).await?;
    close_everything_of(app, Principal::Store(store)).await?;
    let mut left = at_most;
    while left > 0 {
        let (sessions, _) = app.store.sessions_of_store(store, SESSIONS_A_READ.min(left)).await?;
        if sessions.is_empty() {
            break;
        }
        for session in sessions {
            let (files, messages) = erase_session(app, session.id).await?;
            record.files += files;
            if let Some(messages) = messages {
                record.messages += messages;
                record.sessions += 1;
            }
            left -= 1;
        }
        app.store.record_erasure(&record).await?;
    }
    if app.store.sessions_of_store(store, 1).await?.0.is_empty() {
        if let Some(attachments) = &app.attachments {
            record.files += attachments.erase_exports(store).await?;
        }
        app.store.erase_store_items(store).await?;
        record.finished_at = Some(Timestamp::now());
    }
    app.store.record_erasure(&record).await?;
    Ok(record)
}

/// Closed sessions one sweep erases at most after their retention; the next goes on.
const EXPIRED_A_SWEEP: usize = 50;

/// Erases the closed sessions whose last activity is older than the retention, if one is
/// set: how many.
pub(super) async fn expire_closed_sessions(app: &App) -> Result<usize, ChatError> {
    let Some(retention) = app.config.retention else { return Ok(0) };
    let before = Timestamp::now().plus_seconds(-(retention.as_secs() as i64));
    let due = match app.store.expired_sessions(before, EXPIRED_A_SWEEP).await {
        Ok(due) => due,
        // The index a deploy adds is built after it: the rest of the sweep does not wait.
        Err(error) => {
            tracing::warn!(%error, "closed sessions could not be listed for expiry");
            return Ok(0);
        }
    };
    let mut expired = 0;
    for session in due {
        if erase_session(app, session).await?.1.is_some() {
            expired += 1;
        }
    }
    if expired > 0 {
        tracing::info!(expired, "closed sessions past their retention erased");
    }
    Ok(expired)
}

/// Erases `session`: its files first (the session's items are what finds them again), then
/// its items. How many files went, and how many messages (`None`: it was gone already).
async fn erase_session(app: &App, session: SessionId) -> Result<(u64, Option<u64>), ChatError> {
    let files = match &app.attachments {
        Some(attachments) => attachments.erase_session_files(session).await?,
        None => 0,
    };
    Ok((files, app.store.erase_session(session).await?))
}
