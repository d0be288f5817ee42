//! The admin's list of sessions.

use serde::Serialize;

use crate::ChatError;
use crate::domain::{AdminId, SenderType, SessionStatus, SessionSummary};
use crate::storage::{ChatStore, ListPosition, SessionQuery};

/// An admin's list request, as parsed from the query string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListParams {
    pub status: Option<SessionStatus>,
    pub tag: Option<String>,
    pub limit: usize,
    pub offset: usize,
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionListView {
    pub sessions: Vec<SessionSummary>,
    pub total_count: u64,
    pub next_cursor: Option<String>,
}

/// The sessions `admin` may list (every open one, and its own claimed and closed ones),
/// newest activity first.
pub async fn list_sessions(
    store: &dyn ChatStore,
    admin: AdminId,
    params: ListParams,
) -> Result<SessionListView, ChatError> {
    let after = match &params.cursor {
        Some(cursor) => {
            Some(ListPosition::from_cursor(cursor).ok_or_else(|| ChatError::bad_request("cursor is not valid"))?)
        }
        None => None,
    };
    let query = SessionQuery {
        admin,
        status: params.status,
        tag: params.tag,
        limit: params.limit,
        offset: params.offset,
        after,
    };
    let list = store.list_sessions(&query).await?;
    Ok(SessionListView {
        sessions: list.sessions.iter().map(|s| s.summary(SenderType::Admin)).collect(),
        total_count: list.total_count,
        next_cursor: list.next.map(|position| position.to_cursor()),
    })
}
