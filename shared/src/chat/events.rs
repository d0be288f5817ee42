//! The live events of the use cases: built from the domain's audiences, published through
//! live delivery.

use super::links::linked;
use super::{Target, session_of};
use crate::domain::{Before, Principal, Session, SessionId, may_send, party, session_change_audiences};
use crate::live::{ServerEvent, TypingState};
use crate::{App, ChatError, telemetry};

/// `session.updated` to everyone who must hear of the change
/// ([`session_change_audiences`]), each side with its own view (unread count, tags).
pub(super) async fn session_updated(app: &App, before: Before, after: &Session, to_store: bool) {
    let after = linked(app, after.clone()).await;
    let events: Vec<_> = session_change_audiences(before, &after, to_store)
        .into_iter()
        .map(|(audience, side)| (audience, ServerEvent::SessionUpdated { session: Box::new(after.summary(side)) }))
        .collect();
    telemetry::live_delivery(app.live.publish(&events)).await;
}

/// Tells every admin about a session a store just opened.
pub(super) async fn announce_opened(app: &App, session: &Session) {
    session_updated(app, Before::new_session(), session, false).await;
}

/// Tells the other party that `sender` is typing (or stopped).
pub async fn typing(
    app: &App,
    sender: Principal,
    session_id: Option<SessionId>,
    state: TypingState,
) -> Result<(), ChatError> {
    let session = session_of(app, Target::for_principal(sender, session_id)?).await?;
    let sender_type = sender.party();
    // Only someone who may write into the session may say they are typing.
    may_send(&session, sender)?;
    let audience = party(sender_type.other(), session.store.id, session.admin_id);
    let event = ServerEvent::Typing { session_id: session.id, sender_type, state };
    telemetry::live_delivery(app.live.publish(&[(audience, event)])).await;
    Ok(())
}
