//! Sending and fetching messages.

use serde::Serialize;

use super::{MAX_DECISIONS, Target, session_id_of, session_not_found};
use crate::domain::input::MessageInput;
use crate::domain::{Actor, MessageId, MessageView, Principal, Receipts, SenderType, SessionId, may_send};
use crate::storage::{AppendGuard, AppendOutcome, ChatStore};
use crate::{ChatError, Timestamp};

/// A message as the send answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub message: MessageView,
    /// False when a repeated `client_message_id` returned the original.
    pub created: bool,
}

/// Sends `input` as `sender`: a store into its active session (opened if it has none), an
/// admin into `session_id`, which it must have claimed.
pub async fn send_message(
    store: &dyn ChatStore,
    sender: Principal,
    session_id: Option<SessionId>,
    input: MessageInput,
) -> Result<Sent, ChatError> {
    let (actor, sender_type, sender_id) = match sender {
        Principal::Store(id) => (Actor::Store(id), SenderType::Store, id),
        Principal::Admin(id) => (Actor::Admin(id), SenderType::Admin, id),
    };
    let message = input.validate(sender_type, sender_id)?;
    let target = super::Target::for_principal(sender, session_id)?;
    for _ in 0..MAX_DECISIONS {
        // The session (or the store's pointer to it) and a fresh id: one round trip.
        let (session_id, guard, id) = match target {
            Target::Active(store_id) => {
                let (active, id) = tokio::join!(store.active_session_id(store_id), store.next_message_id());
                let session_id = match active? {
                    Some(session_id) => session_id,
                    None => {
                        let page = store.get_or_create_active_session(store_id, 0, Timestamp::now()).await?;
                        page.ok_or(ChatError::Unauthorized)?.session.id
                    }
                };
                (session_id, AppendGuard::NotClosed, id?)
            }
            Target::Session(session_id) => {
                let (session, id) = tokio::join!(store.session(session_id), store.next_message_id());
                let session = session?.ok_or_else(session_not_found)?;
                may_send(&session, actor)?;
                (session_id, AppendGuard::Revision(session.revision), id?)
            }
        };
        match store.append_message(session_id, guard, id, message.clone(), Timestamp::now()).await? {
            AppendOutcome::Appended(stored) => {
                return Ok(Sent { message: stored.view(&Receipts::default()), created: true });
            }
            AppendOutcome::Duplicate(original) => {
                return Ok(Sent { message: original.view(&Receipts::default()), created: false });
            }
            // Closed, claimed or transferred meanwhile: decide again on what it is now.
            AppendOutcome::Stale(current) => {
                if let Target::Session(_) = target {
                    may_send(&current, actor)?;
                }
            }
        }
    }
    Err(ChatError::Conflict("The session kept changing; try again".into()))
}

/// A page of messages after an id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessagePage {
    pub session_id: SessionId,
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// Up to `limit` messages after `after`, ascending, of the session `viewer` names (a store:
/// its active session unless it names one of its own).
pub async fn messages_of(
    store: &dyn ChatStore,
    viewer: Principal,
    session_id: Option<SessionId>,
    after: MessageId,
    limit: usize,
) -> Result<MessagePage, ChatError> {
    let id = session_id_of(store, Target::for_principal(viewer, session_id)?).await?;
    let page = store.messages_after(id, after, limit).await?.ok_or_else(session_not_found)?;
    page.session.may_view(viewer)?;
    Ok(MessagePage {
        session_id: id,
        messages: page.messages.iter().map(|m| page.session.message_view(m)).collect(),
        has_more: page.has_more,
    })
}
