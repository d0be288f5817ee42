//! Sending and fetching messages.

use serde::Serialize;

use super::announce::announce;
use super::assignment::assign_after;
use super::links::{link, link_all};
use super::{MAX_DECISIONS, Target, session_id_of, session_not_found};
use crate::domain::input::MessageInput;
use crate::domain::{
    AdminId, Audience, Message, MessageId, MessageView, NewMessage, Principal, Receipts, SenderType, SessionId,
    StoreId, admin_side, may_send,
};
use crate::storage::{ActiveSession, AppendGuard, AppendOutcome, IdReservation, IdsFor, MessageWindow, Opening};
use crate::telemetry::{self, Figure};
use crate::{App, ChatError, Timestamp};

/// A message as the send answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub message: MessageView,
    /// False when a repeated `client_message_id` returned the original.
    pub created: bool,
}

/// Sends `input` as `sender`: a store into its active session (opened if it has none), an
/// admin into `session_id`, which it must have claimed. A file it uploaded into that
/// session is attached once, to one message. Both parties' live connections get
/// `message.created`; if the recipient has one, the message is delivered, and the sender's
/// connections hear so.
pub async fn send_message(
    app: &App,
    sender: Principal,
    session_id: Option<SessionId>,
    input: MessageInput,
) -> Result<Sent, ChatError> {
    let mut copies = Vec::new();
    let sent = decide_and_send(app, sender, session_id, input, &mut copies).await;
    // A kept copy of the upload that no stored message names goes, unless the write's
    // outcome is unknown: then it may have committed, naming the copy.
    if !copies.is_empty() && !matches!(sent, Err(ChatError::Unavailable)) {
        super::uploads::discard(app, &copies).await;
    }
    sent
}

/// [`send_message`], noting in `copies` each copy of the upload it kept and no stored
/// message names.
async fn decide_and_send(
    app: &App,
    sender: Principal,
    session_id: Option<SessionId>,
    input: MessageInput,
    copies: &mut Vec<String>,
) -> Result<Sent, ChatError> {
    let mut message = input.validate(sender.party(), sender.id())?;
    let target = Target::for_principal(sender, session_id)?;
    // The session whose upload the message takes, once it has taken it.
    let mut upload_taken_in = None;
    for _ in 0..MAX_DECISIONS {
        // The session (or the store's pointer to it) and ids for the message: one round trip.
        let (session_id, store_id, holder, seen, revision, ids) = match target {
            Target::Active(store_id) => {
                super::provisioning::provision_from_claims(app, store_id).await?;
                let (active, ids) = tokio::join!(
                    app.store.active_session(store_id),
                    app.store.reserve_message_ids(IdsFor::ActiveSessionOf(store_id))
                );
                let (active, ids) = given_back_unless_ok(app, active.map_err(ChatError::from), ids?).await?;
                let (active, ids) = match active {
                    Some(active) => (active, ids),
                    None => match open_with_first_message(app, store_id, ids, &message).await? {
                        Ok(sent) => return Ok(sent),
                        Err(opened_meanwhile) => opened_meanwhile,
                    },
                };
                (active.id, store_id, active.admin_id, None, Some(active.revision), ids)
            }
            Target::Session(session_id) => {
                let (session, ids) = tokio::join!(
                    app.store.session(session_id),
                    app.store.reserve_message_ids(IdsFor::Session(session_id))
                );
                let session = session.map_err(ChatError::from).and_then(|session| {
                    let session = session.ok_or_else(session_not_found)?;
                    may_send(&session, sender)?;
                    Ok(session)
                });
                let (session, ids) = given_back_unless_ok(app, session, ids?).await?;
                (session_id, session.store.id, session.admin_id, Some(session), None, ids)
            }
        };
        let mut ids = ids;
        if message.upload_id.is_some() && upload_taken_in != Some(session_id) {
            let taken = super::uploads::take_upload(app, session_id, &message).await;
            let ((content_type, kept), kept_ids) = given_back_unless_ok(app, taken, ids).await?;
            ids = kept_ids;
            copies.push(kept.clone());
            (message.attachment_type, message.attachment_key) = (content_type, Some(kept));
            upload_taken_in = Some(session_id);
        }
        // A store's send is conditional on the holder it read with its pointer: the holder's
        // side is who hears of the message, and whose delivery moves the store's mark.
        let guard = match (&seen, revision) {
            (Some(seen), _) => AppendGuard::Seen(seen),
            (None, Some(revision)) => AppendGuard::Revision(revision),
            (None, None) => AppendGuard::NotClosed,
        };
        // Who hears of the message is looked up beside its write, which it does not depend on.
        let audiences = [Audience::Store(store_id), admin_side(holder)];
        let (appended, listeners) = tokio::join!(
            app.store.append_message(session_id, guard, ids, message.clone(), Timestamp::now(), app.config.send_limit),
            telemetry::live_delivery(app.live.find(&audiences)),
        );
        match appended? {
            AppendOutcome::Appended(mut stored) => {
                record_sent();
                copies.retain(|copy| stored.attachment_key.as_ref() != Some(copy));
                link(app, &mut stored).await;
                // Out of hours, a store's message gets its away reply (the hours are read
                // beside the posts).
                let store_wrote = sender.party() == SenderType::Store;
                // A store writing into a session nobody holds (one the seed's route opened
                // empty, say) may have just started it waiting.
                let may_have_queued = store_wrote && holder.is_none();
                let store_listens = listeners.includes_anyone_of(Audience::Store(store_id));
                tokio::join!(telemetry::live_delivery(announce(app, &stored, store_id, holder, listeners)), async {
                    if store_wrote {
                        super::away::reply_if_out_of_hours(app, session_id).await;
                    }
                });
                if may_have_queued {
                    if store_listens {
                        super::events::tell_place_if_queued_by(app, session_id, &stored).await;
                    }
                    assign_after(app, None, 1, "a store wrote into a session nobody holds").await;
                }
                return Ok(Sent { message: stored.view(&Receipts::default()), created: true });
            }
            AppendOutcome::Duplicate(mut original) => {
                link(app, &mut original).await;
                return Ok(Sent { message: original.view(&Receipts::default()), created: false });
            }
            AppendOutcome::TooMany(too_many) => return Err(too_many.into()),
            AppendOutcome::UploadTaken(holder) => {
                return Err(ChatError::Conflict(format!("upload_id is already attached to message {holder}")));
            }
            // Closed, claimed or transferred meanwhile: decide again on what it is now.
            AppendOutcome::Stale(current) => {
                if let Target::Session(_) = target {
                    may_send(&current, sender)?;
                }
            }
        }
    }
    Err(ChatError::Conflict("The session kept changing; try again".into()))
}

/// The store's first message, opening its session in the same write, so that a send that
/// is refused opens nothing: every admin hears of the session, then both sides of the
/// message. `Err` with the store's active session when another request opened one first.
async fn open_with_first_message(
    app: &App,
    store: StoreId,
    ids: IdReservation,
    message: &NewMessage,
) -> Result<Result<Sent, (ActiveSession, IdReservation)>, ChatError> {
    // A file is uploaded into a session: with none open, there is no file to attach.
    if message.upload_id.is_some() {
        app.store.release_message_ids(ids).await;
        return Err(super::uploads::no_such_upload());
    }
    let audiences = [Audience::Store(store), Audience::AllAdmins];
    let (opening, listeners) = tokio::join!(
        app.store.open_with_message(store, ids, message.clone(), Timestamp::now(), app.config.send_limit),
        telemetry::live_delivery(app.live.find(&audiences)),
    );
    let (session, stored) = match opening? {
        Opening::Opened { session, message } => (session, message),
        Opening::Active { active, ids } => return Ok(Err((active, ids))),
        // A token that outlived its store speaks for nobody.
        Opening::NoStore => return Err(ChatError::Unauthorized),
    };
    telemetry::record(Figure::SessionsOpened, 1.0);
    record_sent();
    super::events::announce_opened(app, &session).await;
    tokio::join!(
        telemetry::live_delivery(announce(app, &stored, store, None, listeners)),
        super::events::tell_place_in_line(app, &session),
        super::away::reply_if_out_of_hours(app, session.id),
    );
    // With automatic assignment, it goes to whoever can take it now (or waits for the sweep).
    assign_after(app, Some(&session), 1, "a store opened a session").await;
    Ok(Ok(Sent { message: stored.view(&Receipts::default()), created: true }))
}

/// Counts a message sent.
fn record_sent() {
    telemetry::record(Figure::MessagesSent, 1.0);
}

/// `result` with `ids`, or its error with `ids` given back: a send that stops after taking
/// ids lets the sends after it go.
async fn given_back_unless_ok<T>(
    app: &App,
    result: Result<T, ChatError>,
    ids: IdReservation,
) -> Result<(T, IdReservation), ChatError> {
    match result {
        Ok(value) => Ok((value, ids)),
        Err(error) => {
            app.store.release_message_ids(ids).await;
            Err(error)
        }
    }
}
/// A page of a session's messages, ascending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessagePage {
    pub session_id: SessionId,
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// Up to `limit` messages of `window`, ascending, of the session `viewer` names (a store:
/// its active session unless it names one of its own).
pub async fn messages_of(
    app: &App,
    viewer: Principal,
    session_id: Option<SessionId>,
    window: MessageWindow,
    limit: usize,
) -> Result<MessagePage, ChatError> {
    let id = session_id_of(app, Target::for_principal(viewer, session_id)?).await?;
    let mut page = app.store.messages(id, window, limit).await?.ok_or_else(session_not_found)?;
    page.session.may_view(viewer)?;
    link_all(app, &mut page.messages).await;
    Ok(MessagePage {
        session_id: id,
        messages: page.messages.iter().map(|m| page.session.message_view(m)).collect(),
        has_more: page.has_more,
    })
}

/// The most messages one transcript carries.
pub const TRANSCRIPT_LIMIT: usize = 1000;

/// A session's messages after an id with the names of their authors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    pub session: crate::domain::Session,
    pub messages: Vec<Message>,
    pub admin_names: std::collections::HashMap<AdminId, String>,
}

impl Transcript {
    /// Who wrote `message`: the store's name, the admin's (its id if it has no profile), or
    /// for an automatic reply, nobody's.
    pub fn author(&self, message: &Message) -> String {
        match message.sender_type {
            SenderType::Store => self.session.store.name.clone(),
            SenderType::Admin if message.automatic => "Automatic reply".to_owned(),
            SenderType::Admin => self
                .admin_names
                .get(&AdminId(message.sender_id))
                .cloned()
                .unwrap_or_else(|| format!("Admin {}", message.sender_id)),
        }
    }
}

/// Up to [`TRANSCRIPT_LIMIT`] messages after `after` of a session `viewer` may see, with
/// their authors' names: one round trip for the session and messages, one for the names.
pub async fn transcript(
    app: &App,
    viewer: Principal,
    session_id: SessionId,
    after: MessageId,
) -> Result<Transcript, ChatError> {
    let mut page = app
        .store
        .messages(session_id, MessageWindow::After(after), TRANSCRIPT_LIMIT)
        .await?
        .ok_or_else(session_not_found)?;
    page.session.may_view(viewer)?;
    link_all(app, &mut page.messages).await;
    let admins: Vec<AdminId> =
        page.messages.iter().filter(|m| m.sender_type == SenderType::Admin).map(|m| AdminId(m.sender_id)).collect();
    let names = if admins.is_empty() { Vec::new() } else { app.store.admin_profiles(&admins).await? };
    Ok(Transcript {
        session: page.session,
        messages: page.messages,
        admin_names: names.into_iter().map(|profile| (profile.id, profile.name)).collect(),
    })
}
