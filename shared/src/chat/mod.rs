//! What stores and admins can do, once, for every way in (HTTP routes and WebSocket
//! actions): each use case reads what it must, applies the domain rules, writes
//! conditionally (deciding again when a concurrent change got there first), and tells the
//! live connections concerned.

mod announce;
mod assignment;
mod away;
mod connections;
mod delivery;
mod desk;
mod email;
mod erasure;
mod events;
mod export;
mod lifecycle;
mod links;
mod messages;
mod notes;
mod outbound;
mod platform;
mod provisioning;
mod receipts;
mod reports;
mod revisions;
mod saved_replies;
mod sessions;
mod store_context;
mod sweep;
#[cfg(test)]
mod tests;
mod uploads;
mod webhooks;

pub use away::{Availability, TeamHours, availability, business_hours, set_business_hours};
pub use connections::{Revocation, connection_principal, revoke_token};
pub use delivery::{Attempted, ReceivedDelivery, deliver, deliver_batch, queue_deliveries};
pub use desk::{Directory, DirectoryEntry, directory, inbox_connected, inbox_left, set_availability};
pub use email::{
    JobOutcome, TranscriptRequested, queue_email_jobs, request_transcript, run_email_jobs, unsubscribe,
    unsubscribe_link,
};
pub use erasure::erase_store;
pub use events::typing;
pub use export::{Export, MAX_EXPORTED_SESSIONS, export_store};
pub use lifecycle::{change_lifecycle, close_active_session, rate_session, set_tags};
pub use messages::{MessagePage, Sent, TRANSCRIPT_LIMIT, Transcript, messages_of, send_message, transcript};
pub use notes::{NOTE_PAGE_LIMIT, NoteList, notes_of, write_note};
pub use outbound::publish_changes;
pub use platform::{
    BatchAnswer, ItemResult, ItemStatus, MintedToken, TokenList, TokenListing, TokenRevoked, deactivate_all,
    list_tokens, mint_token, revoke_token_by_id, upsert_admins, upsert_stores,
};
pub use receipts::mark_receipt;
pub use reports::{record_figures, report, today};
pub use revisions::{RevisionRequest, RevisionTrail, revise_message, revision_trail};
pub use saved_replies::{SavedReplies, ScopeName, delete_reply, save_reply, saved_replies};
pub use sessions::{
    CurrentSession, ListParams, SessionListView, StoreSessionView, current_session, list_sessions, open_session,
    session_page, sessions_page,
};
pub use store_context::{PastSession, STORE_HISTORY_LIMIT, StoreContext, store_context};
pub use sweep::{Swept, sweep};
pub use uploads::create_upload;
pub use webhooks::{
    CreatedWebhook, DeliveryLog, MAX_DELIVERY_PAGE, Replayed, WebhookDeleted, WebhookList, create_webhook,
    delete_webhook, list_webhooks, replay_dead_deliveries, webhook_deliveries,
};

use crate::domain::{Principal, Session, SessionId, StoreId};
use crate::storage::ActiveSession;
use crate::{App, ChatError};

/// How often a use case decides again after its conditional write found the session changed.
const MAX_DECISIONS: usize = 5;

/// Which session a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The store's open or claimed session.
    Active(StoreId),
    Session(SessionId),
}

impl Target {
    /// A store's request names a session or means its active one; an admin's names one.
    pub fn for_principal(principal: Principal, session_id: Option<SessionId>) -> Result<Target, ChatError> {
        match (principal, session_id) {
            (_, Some(id)) => Ok(Target::Session(id)),
            (Principal::Store(store), None) => Ok(Target::Active(store)),
            (Principal::Admin(_), None) => Err(ChatError::bad_request("session_id is required")),
        }
    }
}

fn session_not_found() -> ChatError {
    ChatError::not_found("Session not found")
}

async fn active_session(app: &App, store: StoreId) -> Result<ActiveSession, ChatError> {
    app.store.active_session(store).await?.ok_or_else(session_not_found)
}

/// The id of the session `target` means.
async fn session_id_of(app: &App, target: Target) -> Result<SessionId, ChatError> {
    match target {
        Target::Session(id) => Ok(id),
        Target::Active(store) => Ok(active_session(app, store).await?.id),
    }
}

/// The session `target` means.
async fn session_of(app: &App, target: Target) -> Result<Session, ChatError> {
    let id = session_id_of(app, target).await?;
    app.store.session(id).await?.ok_or_else(session_not_found)
}

/// The session `target` means, if `viewer` may see it.
async fn visible_session(app: &App, viewer: Principal, target: Target) -> Result<Session, ChatError> {
    let session = session_of(app, target).await?;
    session.may_view(viewer)?;
    Ok(session)
}
