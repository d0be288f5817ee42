//! When nobody is there: the team's business hours, what a store is told before it writes
//! (within hours or not, whether an admin is available, what reply to expect), and the one
//! automatic away reply a waiting store gets (see [`crate::domain::away_reply_due`]).

use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;

use super::announce::announce;
use super::assignment::ANSWER_RESERVE;
use crate::domain::{
    Audience, AwayReason, BusinessHours, HoursInput, HoursState, Language, Presence, SendLimit, Session, SessionId,
    StoreId, admin_side, away_reply, away_reply_due, waited_unheard,
};
use crate::storage::{AppendGuard, AppendOutcome, IdsFor, Waiting};
use crate::{App, ChatError, Timestamp, deadline, telemetry};

/// How long a store's send spends on its away reply, at most. One cut short either committed
/// or not (one transaction); if not, the sweep sends it within a minute.
const REQUEST_BUDGET: Duration = Duration::from_secs(1);

/// What a store is told before it writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Availability {
    /// Within business hours (always, when the team has set none).
    pub within_hours: bool,
    /// When that changes: the end of these hours, or the next opening (`null`: none set, or
    /// none within two weeks).
    pub until: Option<Timestamp>,
    /// The time zone the hours are kept in, when the team has set them.
    pub time_zone: Option<String>,
    /// Whether an admin is available now (its choice, with an inbox open).
    pub admin_available: bool,
    /// What to expect, as the team words it (`null`: the widget says it in the store's
    /// language).
    pub expected_reply: Option<String>,
    /// The store's locale as the platform gave it, for the widget's language.
    pub locale: Option<String>,
    /// Whether mail goes out here, so a store may ask for a transcript by email.
    pub email: bool,
    /// How long after sending a message its sender may edit or delete it (0: never).
    pub edit_window_seconds: u64,
}

/// The team's hours, and whether anyone is there now: the hours, the desks and the store's
/// locale read side by side, one round trip.
pub async fn availability(app: &App, store: StoreId) -> Result<Availability, ChatError> {
    let now = Timestamp::now();
    let (hours, desks, locale) =
        tokio::join!(app.store.business_hours(), app.store.desks(now), app.store.store_locale(store));
    let (hours, desks, locale) = (hours?, desks?, locale?);
    let (within_hours, until) = match hours.as_ref().map(|hours| hours.state_at(now)) {
        None => (true, None),
        Some(HoursState::Open { until }) => (true, Some(until)),
        Some(HoursState::Closed { until }) => (false, until),
    };
    let admin_available =
        desks.iter().any(|state| state.presence(now, app.config.presence_grace) == Presence::Available);
    Ok(Availability {
        within_hours,
        until,
        time_zone: hours.as_ref().map(|hours| hours.time_zone().to_owned()),
        admin_available,
        expected_reply: hours.as_ref().and_then(|hours| hours.expected_reply().map(str::to_owned)),
        locale,
        email: app.email_jobs.is_some(),
        edit_window_seconds: app.config.edit_window.as_secs(),
    })
}

/// The team's business hours as a platform reads and writes them: `{hours: null}` when none
/// are set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TeamHours {
    pub hours: Option<HoursInput>,
}

/// The team's business hours as they were written.
pub async fn business_hours(app: &App) -> Result<TeamHours, ChatError> {
    Ok(TeamHours { hours: app.store.business_hours().await?.map(HoursInput::from) })
}

/// Sets the team's business hours (checked first: a refusal says why), or clears them.
pub async fn set_business_hours(app: &App, hours: Option<HoursInput>) -> Result<TeamHours, ChatError> {
    let hours = hours
        .map(BusinessHours::check)
        .transpose()
        .map_err(|error| ChatError::bad_request(format!("business hours: {error}")))?;
    app.store.set_business_hours(hours.as_ref()).await?;
    Ok(TeamHours { hours: hours.map(HoursInput::from) })
}

/// After a store's message into `session`: out of hours, the store gets its away reply now
/// (once a session, however many instances race here). Within hours the sweep sends the
/// other kind, once the session has waited. It runs in the time the request can spare, and
/// failures are logged: the store's message is stored, and must not become a 503.
pub(super) async fn reply_if_out_of_hours(app: &App, session: SessionId) {
    let replied = async {
        let Some(hours) = app.store.business_hours().await? else { return Ok(false) };
        if hours.is_open(Timestamp::now()) {
            return Ok(false);
        }
        let Some(session) = app.store.session(session).await? else { return Ok(false) };
        reply_if_due(app, &session, Some(&hours)).await
    };
    match deadline::in_spare_time(ANSWER_RESERVE, REQUEST_BUDGET, replied).await {
        Some(Ok(_)) => {}
        Some(Err(error)) => tracing::warn!(%error, "could not send an away reply"),
        None => tracing::warn!("no time left to send an away reply; the sweep sends it"),
    }
}

/// Every minute, from the sweep: of the sessions `waiting`, those nobody took for the
/// configured while (or that wait out of hours) get their away reply. How many were sent.
pub(super) async fn reply_to_the_unheard(app: &App, waiting: &[Waiting]) -> Result<usize, ChatError> {
    let now = Timestamp::now();
    let hours = app.store.business_hours().await?;
    let out_of_hours = hours.as_ref().is_some_and(|hours| !hours.is_open(now));
    let due = waiting
        .iter()
        .filter(|waiting| out_of_hours || waited_unheard(waiting.since, now, app.config.away_reply_after));
    let replies = join_all(due.map(|waiting| async {
        let Some(session) = app.store.session(waiting.session).await? else { return Ok(false) };
        reply_if_due(app, &session, hours.as_ref()).await
    }))
    .await;
    let mut sent = 0;
    for reply in replies {
        sent += usize::from(reply?);
    }
    Ok(sent)
}

/// Sends `session` its away reply if it is due one: true if this call sent it.
async fn reply_if_due(app: &App, session: &Session, hours: Option<&BusinessHours>) -> Result<bool, ChatError> {
    let now = Timestamp::now();
    let Some(reason) = away_reply_due(session, hours, now, app.config.away_reply_after) else { return Ok(false) };
    send(app, session, reason, hours, now).await
}

/// The away reply, appended on the condition that the session has had none: both sides'
/// connections hear of it as of any message.
async fn send(
    app: &App,
    session: &Session,
    reason: AwayReason,
    hours: Option<&BusinessHours>,
    now: Timestamp,
) -> Result<bool, ChatError> {
    let store = session.store.id;
    let (locale, ids) =
        tokio::join!(app.store.store_locale(store), app.store.reserve_message_ids(IdsFor::Session(session.id)));
    let ids = ids?;
    let language = Language::of(locale.ok().flatten().as_deref());
    // The answer follows by mail when mail goes out and the store has an address.
    let by_email = app.email_jobs.is_some() && !session.store.email.trim().is_empty();
    let message = away_reply(reason, hours, language, now, by_email);
    let audiences = [Audience::Store(store), admin_side(session.admin_id)];
    let (appended, listeners) = tokio::join!(
        app.store.append_message(session.id, AppendGuard::NotClosed, ids, message, Timestamp::now(), SendLimit::NONE),
        telemetry::live_delivery(app.live.find(&audiences)),
    );
    match appended? {
        AppendOutcome::Appended(stored) => {
            telemetry::live_delivery(announce(app, &stored, store, session.admin_id, listeners)).await;
            Ok(true)
        }
        // Sent by another instance first, closed, or answered meanwhile.
        _ => Ok(false),
    }
}
