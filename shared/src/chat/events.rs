//! Who hears about what: the audiences of each live event.

use super::{Target, session_of};
use crate::domain::{Audience, Principal, SenderType, Session, SessionStatus, may_send};
use crate::push::{ServerEvent, TypingState};
use crate::{App, ChatError, telemetry};

/// The admin side of a session: its holder, or every admin while nobody holds it.
pub(super) fn admin_side(admin_id: Option<u64>) -> Audience {
    admin_id.map_or(Audience::AllAdmins, Audience::Admin)
}

/// The audience of `party` in a session of `store` held by `admin_id`.
pub(super) fn party(party: SenderType, store: u64, admin_id: Option<u64>) -> Audience {
    match party {
        SenderType::Store => Audience::Store(store),
        SenderType::Admin => admin_side(admin_id),
    }
}

/// How a session stood before a change, for who must hear of it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Before {
    pub(super) was_open: bool,
    pub(super) holder: Option<u64>,
}

impl Before {
    pub(super) fn of(session: &Session) -> Self {
        Before { was_open: session.status == SessionStatus::Open, holder: session.admin_id }
    }

    /// A session that did not exist before: as good as open, nobody's.
    pub(super) fn new_session() -> Self {
        Before { was_open: true, holder: None }
    }
}

/// `session.updated` for the store (if `to_store`), the admins it moved between, and every
/// admin while it is (or was) in the open queue; each side sees its own unread count.
pub(super) async fn session_updated(app: &App, before: Before, after: &Session, to_store: bool) {
    let for_admins = ServerEvent::SessionUpdated { session: Box::new(after.summary(SenderType::Admin)) };
    let mut events = Vec::new();
    if before.was_open || after.status == SessionStatus::Open {
        events.push((Audience::AllAdmins, for_admins.clone()));
    }
    let mut holders = vec![after.admin_id, before.holder];
    holders.dedup();
    for admin in holders.into_iter().flatten() {
        events.push((Audience::Admin(admin), for_admins.clone()));
    }
    if to_store {
        let for_store = ServerEvent::SessionUpdated { session: Box::new(after.summary(SenderType::Store)) };
        events.push((Audience::Store(after.store.id), for_store));
    }
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
    session_id: Option<u64>,
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
