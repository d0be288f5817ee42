//! Editing and deleting a message after it was sent: the sender's own, within the window.
//! Both parties' connections hear `message.updated`; a deleted message's file leaves the
//! bucket; admins can read what it said before.

use serde::Serialize;

use super::links::link;
use super::{MAX_DECISIONS, session_not_found};
use crate::domain::{
    AdminId, Audience, MessageId, MessageView, Principal, Revision, RevisionRecord, SessionId, admin_side,
    decide_revision,
};
use crate::live::ServerEvent;
use crate::storage::RevisionOutcome;
use crate::{App, ChatError, Timestamp, telemetry};

/// What a sender asks of its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevisionRequest {
    Edit { content: String },
    Delete,
}

/// `sender` edits or deletes its message `message_id` in `session_id`, one it may view: the
/// session and the message read side by side, then one write. The message as it now is.
pub async fn revise_message(
    app: &App,
    sender: Principal,
    session_id: SessionId,
    message_id: MessageId,
    request: RevisionRequest,
) -> Result<MessageView, ChatError> {
    let (session, message) = tokio::join!(app.store.session(session_id), app.store.message(session_id, message_id));
    let session = session?.ok_or_else(session_not_found)?;
    session.may_view(sender)?;
    let mut message = message?.ok_or_else(|| ChatError::not_found("Message not found"))?;
    let window = app.config.edit_window.as_secs();
    for _ in 0..MAX_DECISIONS {
        let revision = match &request {
            RevisionRequest::Edit { content } => Revision::edit(&message, content.clone())?,
            RevisionRequest::Delete => Revision::Delete,
        };
        let revision = decide_revision(&message, sender, revision, Timestamp::now(), window)?;
        match app.store.revise_message(&session, &message, &revision).await? {
            RevisionOutcome::Revised(mut revised) => {
                if let (Revision::Delete, Some(key)) = (&revision.revision, &message.attachment_key) {
                    discard_file(app, key).await;
                }
                link(app, &mut revised).await;
                let view = session.message_view(&revised);
                let event = ServerEvent::MessageUpdated { message: view.clone() };
                let audiences = [Audience::Store(session.store.id), admin_side(session.admin_id)];
                let events = audiences.map(|audience| (audience, event.clone()));
                telemetry::live_delivery(app.live.publish(&events)).await;
                return Ok(view);
            }
            RevisionOutcome::Refused(current) => {
                if let Some(denied) = revision.refused_by(&current) {
                    return Err(denied.into());
                }
                message = current;
            }
        }
    }
    Err(ChatError::Conflict("The message kept changing; try again".into()))
}

/// A deleted message's file leaves the bucket. The message no longer names it, so a failure
/// leaves only an unreachable object, which is logged.
async fn discard_file(app: &App, key: &str) {
    let Some(attachments) = &app.attachments else { return };
    if let Err(error) = attachments.discard(key).await {
        tracing::warn!(%error, "could not delete a deleted message's file");
    }
}

/// A message's audit trail, as admins read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevisionTrail {
    pub session_id: SessionId,
    pub message_id: MessageId,
    /// Oldest first: each change, who made it, and what the message said before it.
    pub revisions: Vec<RevisionRecord>,
}

/// The trail of a message in a session `admin` may view.
pub async fn revision_trail(
    app: &App,
    admin: AdminId,
    session_id: SessionId,
    message_id: MessageId,
) -> Result<RevisionTrail, ChatError> {
    let (session, message, revisions) = tokio::join!(
        app.store.session(session_id),
        app.store.message(session_id, message_id),
        app.store.revisions(session_id, message_id)
    );
    session?.ok_or_else(session_not_found)?.may_view(Principal::Admin(admin))?;
    message?.ok_or_else(|| ChatError::not_found("Message not found"))?;
    Ok(RevisionTrail { session_id, message_id, revisions: revisions? })
}
