//! The live events of the use cases: built from the domain's audiences, published through
//! live delivery.

use super::links::linked;
use super::{Target, session_of};
use crate::domain::{
    AdminId, Audience, Before, Message, Principal, PublicAdmin, Session, SessionId, SessionStatus, StoreId, may_send,
    party, session_change_audiences,
};
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

/// Everyone concerned hears that `seen` became `after`: `session.updated` to both sides,
/// and to stores who joined and their places in line.
pub(super) async fn announce_change(app: &App, seen: &Session, after: &Session) {
    tokio::join!(session_updated(app, Before::of(seen), after, true), lifecycle_told_to_stores(app, seen, after),);
}

/// Tells every admin about a session a store just opened.
pub(super) async fn announce_opened(app: &App, session: &Session) {
    session_updated(app, Before::new_session(), session, false).await;
}

/// How many of the longest-waiting stores hear their place in line whenever the queue
/// moves: the fan-out of a queue change stays bounded, and a store further back learns its
/// place when it opens its session and whenever it looks it up.
pub(super) const QUEUE_POSITIONS_TOLD: usize = 10;

/// The admin `id` as the store sees it, if there is one.
pub(super) async fn public_admin(app: &App, id: Option<AdminId>) -> Result<Option<PublicAdmin>, ChatError> {
    let Some(id) = id else { return Ok(None) };
    Ok(app.store.admin_profile(id).await?.map(|profile| profile.public()))
}

/// `session`'s place in line while it waits, 1 for the next to be served.
pub(super) async fn queue_position(app: &App, session: &Session) -> Result<Option<u64>, ChatError> {
    if !session.is_waiting() {
        return Ok(None);
    }
    Ok(Some(app.store.waiting_ahead_of(session).await? + 1))
}

/// What the store hears when a session of its changes from `before`: who joined it, and the
/// waiting stores their new places in line when the queue moved.
pub(super) async fn lifecycle_told_to_stores(app: &App, before: &Session, after: &Session) {
    let assigned = async {
        let newly_held = after.status == SessionStatus::Claimed && after.admin_id != before.admin_id;
        if newly_held && let Some(admin) = public_admin(app, after.admin_id).await? {
            let event = ServerEvent::SessionAssigned { session_id: after.id, admin };
            app.live.publish(&[(Audience::Store(after.store.id), event)]).await;
        }
        Ok::<_, ChatError>(())
    };
    let queue = async {
        if before.is_waiting() != after.is_waiting() {
            queue_moved(app, after.is_waiting().then_some(after)).await?;
        }
        Ok::<_, ChatError>(())
    };
    if let Err(error) = telemetry::live_delivery(async { tokio::try_join!(assigned, queue) }).await {
        // The change is stored; only the live events are missing.
        tracing::warn!(%error, "could not tell the stores of a session change");
    }
}

/// `queue.position` to the store of `session`, at `position`.
fn place_in_line(store: StoreId, session: SessionId, position: u64) -> (Audience, ServerEvent) {
    (Audience::Store(store), ServerEvent::QueuePosition { session_id: session, position })
}

/// `session`'s place in line as its store's event, while it waits.
async fn own_place_in_line(app: &App, session: &Session) -> Result<Option<(Audience, ServerEvent)>, ChatError> {
    let position = queue_position(app, session).await?;
    Ok(position.map(|position| place_in_line(session.store.id, session.id, position)))
}

/// The longest-waiting stores hear their places in line, and `joined`, a session that just
/// joined the queue, its own wherever it is.
pub(super) async fn queue_moved(app: &App, joined: Option<&Session>) -> Result<(), ChatError> {
    let (head, joined) = tokio::join!(app.store.waiting_sessions(QUEUE_POSITIONS_TOLD), async {
        match joined {
            Some(session) => own_place_in_line(app, session).await,
            None => Ok(None),
        }
    });
    let head = head?;
    let mut events: Vec<_> = (1..).zip(&head).map(|(at, w)| place_in_line(w.store, w.session, at)).collect();
    // One of the head has heard already.
    events.extend(joined?.filter(|(audience, _)| !head.iter().any(|w| Audience::Store(w.store) == *audience)));
    app.live.publish(&events).await;
    Ok(())
}

/// A store that just opened its session hears its place in line (the places of those
/// ahead of it do not change).
pub(super) async fn tell_place_in_line(app: &App, session: &Session) {
    report_untold(telemetry::live_delivery(publish_place_in_line(app, session)).await);
}

/// A store whose message started its session waiting (one the seed's route opened empty)
/// hears its place in line, as a store opening its session with a message does: read
/// again, the session says whether this message queued it.
pub(super) async fn tell_place_if_queued_by(app: &App, session: SessionId, message: &Message) {
    let told = telemetry::live_delivery(async {
        match app.store.session(session).await? {
            Some(session) if session.queued_by(message) => publish_place_in_line(app, &session).await,
            _ => Ok(()),
        }
    });
    report_untold(told.await);
}

async fn publish_place_in_line(app: &App, session: &Session) -> Result<(), ChatError> {
    if let Some(event) = own_place_in_line(app, session).await? {
        app.live.publish(&[event]).await;
    }
    Ok(())
}

fn report_untold(told: Result<(), ChatError>) {
    if let Err(error) = told {
        tracing::warn!(%error, "could not tell a store its place in line");
    }
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
