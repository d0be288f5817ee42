//! Who a store is, for the admin about to answer it: its profile and its sessions so far.

use serde::Serialize;

use crate::domain::{AdminId, Principal, Session, SessionId, SessionStatus, StoreId, StoreProfile};
use crate::{App, ChatError, Timestamp};

/// How many of a store's newest sessions its context lists.
pub const STORE_HISTORY_LIMIT: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoreContext {
    pub store: StoreProfile,
    /// How many sessions the store has had, the current one included.
    pub session_count: u64,
    /// The rating of its newest rated session among those listed (the newest 20).
    pub last_rating: Option<u8>,
    /// Its newest sessions, newest first.
    pub sessions: Vec<PastSession>,
}

/// One of a store's sessions as its context lists it: what it came to, not what was said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PastSession {
    pub id: SessionId,
    pub status: SessionStatus,
    pub admin_id: Option<AdminId>,
    pub created: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub message_count: u64,
    pub rating: Option<u8>,
    pub tags: Vec<String>,
    /// Whether the caller may open it (the view rule: a session another admin holds or
    /// held is that admin's).
    pub viewable: bool,
}

/// The context of `store` for `admin`: two round trips (its profile beside its sessions'
/// keys, then the sessions).
pub async fn store_context(app: &App, admin: AdminId, store: StoreId) -> Result<StoreContext, ChatError> {
    let (profile, sessions) =
        tokio::join!(app.store.store_profile(store), app.store.sessions_of_store(store, STORE_HISTORY_LIMIT));
    let profile = profile?.ok_or_else(|| ChatError::not_found("Store not found"))?;
    let (sessions, session_count) = sessions?;
    let last_rating = sessions.iter().find_map(|session| session.rating);
    let sessions = sessions.iter().map(|session| PastSession::of(session, admin)).collect();
    Ok(StoreContext { store: profile, session_count, last_rating, sessions })
}

impl PastSession {
    fn of(session: &Session, viewer: AdminId) -> Self {
        PastSession {
            id: session.id,
            status: session.status,
            admin_id: session.admin_id,
            created: session.created,
            closed_at: session.closed_at,
            message_count: session.message_count(),
            rating: session.rating,
            tags: session.tags.clone(),
            viewable: session.may_view(Principal::Admin(viewer)).is_ok(),
        }
    }
}
