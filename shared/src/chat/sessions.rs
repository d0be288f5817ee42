//! The admin's list of sessions.

use serde::Serialize;

use super::links::{link_all, link_session};
use crate::domain::{
    AdminId, Principal, PublicAdmin, SenderType, SessionFilter, SessionId, SessionStatus, SessionSummary, SessionView,
    StoreId,
};
use crate::storage::{ListPosition, SessionPage, SessionQuery};
use crate::{App, ChatError, Timestamp};

/// The store's active session with its `newest` messages, opened if it has none (every
/// admin hears of a new one).
pub async fn open_session(app: &App, store: StoreId, newest: usize) -> Result<SessionPage, ChatError> {
    super::provisioning::provision_from_claims(app, store).await?;
    let mut page = app
        .store
        .get_or_create_active_session(store, newest, Timestamp::now())
        .await?
        // A token that outlived its store speaks for nobody.
        .ok_or(ChatError::Unauthorized)?;
    if page.opened {
        crate::telemetry::record(crate::telemetry::Figure::SessionsOpened, 1.0);
        super::events::announce_opened(app, &page.session).await;
    }
    link_all(app, &mut page.messages).await;
    link_session(app, &mut page.session).await;
    Ok(page)
}

/// Session `id` with its `newest` messages, if `viewer` may see it.
pub async fn session_page(
    app: &App,
    viewer: Principal,
    id: SessionId,
    newest: usize,
) -> Result<SessionPage, ChatError> {
    let mut page = app.store.session_page(id, newest).await?.ok_or_else(super::session_not_found)?;
    page.session.may_view(viewer)?;
    link_all(app, &mut page.messages).await;
    link_session(app, &mut page.session).await;
    Ok(page)
}

/// An admin's list request, as parsed from the query string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListParams {
    /// The statuses to list; empty lists all.
    pub statuses: Vec<SessionStatus>,
    pub tag: Option<String>,
    pub limit: usize,
    pub offset: usize,
    pub cursor: Option<String>,
    /// A search, an activity range, whose.
    pub filter: SessionFilter,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionListView {
    pub sessions: Vec<SessionSummary>,
    pub total_count: u64,
    pub next_cursor: Option<String>,
}

/// The sessions `admin` may list (every open one, and its own claimed and closed ones),
/// newest activity first.
pub async fn list_sessions(app: &App, admin: AdminId, params: ListParams) -> Result<SessionListView, ChatError> {
    let after = match &params.cursor {
        Some(cursor) => {
            Some(ListPosition::from_cursor(cursor).ok_or_else(|| ChatError::bad_request("cursor is not valid"))?)
        }
        None => None,
    };
    let query = SessionQuery {
        admin,
        statuses: params.statuses,
        tag: params.tag,
        limit: params.limit,
        offset: params.offset,
        after,
        filter: params.filter,
    };
    let mut list = app.store.list_sessions(&query).await?;
    for session in &mut list.sessions {
        link_session(app, session).await;
    }
    Ok(SessionListView {
        sessions: list.sessions.iter().map(|s| s.summary(SenderType::Admin)).collect(),
        total_count: list.total_count,
        next_cursor: list.next.map(|position| position.to_cursor()),
    })
}

/// The sessions `admin` may list, as stored: for views other than the list view.
pub async fn sessions_page(
    app: &App,
    admin: AdminId,
    statuses: Vec<SessionStatus>,
    limit: usize,
    offset: usize,
) -> Result<crate::storage::SessionList, ChatError> {
    let query =
        SessionQuery { admin, statuses, tag: None, limit, offset, after: None, filter: SessionFilter::default() };
    Ok(app.store.list_sessions(&query).await?)
}

/// A session as the store's widget shows it on load: with the rating it gave, who is
/// helping, and its place in line while it waits.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoreSessionView {
    #[serde(flatten)]
    pub view: SessionView,
    pub rating: Option<u8>,
    pub feedback: Option<String>,
    /// The admin holding it (or who held it when it closed).
    pub admin: Option<PublicAdmin>,
    /// While it waits in the open queue: 1 for the next to be served.
    pub queue_position: Option<u64>,
}

/// The answer of the store's look-up: its active session, or else the one it closed last.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurrentSession {
    pub session: Option<StoreSessionView>,
}

/// The store's active session, or else the one it closed last, with its `newest` messages;
/// unlike [`open_session`], it opens nothing, so loading a widget adds nothing to the queue.
pub async fn current_session(app: &App, store: StoreId, newest: usize) -> Result<CurrentSession, ChatError> {
    let Some(mut page) = app.store.latest_session(store, newest).await? else {
        return Ok(CurrentSession { session: None });
    };
    let session = &page.session;
    let (admin, queue_position) = tokio::try_join!(
        super::events::public_admin(app, session.admin_id),
        super::events::queue_position(app, session)
    )?;
    link_all(app, &mut page.messages).await;
    link_session(app, &mut page.session).await;
    let session = page.session;
    Ok(CurrentSession {
        session: Some(StoreSessionView {
            view: session.view(&page.messages),
            rating: session.rating,
            feedback: session.feedback.clone(),
            admin,
            queue_position,
        }),
    })
}
