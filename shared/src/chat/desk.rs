//! Admins' desks: availability (the admin's choice), presence (that choice while an inbox is
//! open, else offline after a grace), told to the whole team as it changes; and the
//! directory the inbox shows.

use serde::Serialize;

use super::assignment::assign_after;
use crate::domain::{AdminId, Audience, Availability, DeskState, Presence};
use crate::live::ServerEvent;
use crate::{App, ChatError, Timestamp, telemetry};

/// An admin as the team sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    pub admin_id: AdminId,
    pub name: String,
    pub presence: Presence,
    /// Conversations it holds now.
    pub load: u64,
    /// The most automatic assignment gives it.
    pub capacity: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Directory {
    pub admins: Vec<DirectoryEntry>,
    /// How long after sending a message its sender may edit or delete it (0: never), so
    /// that the inbox offers it as long as the server takes it.
    pub edit_window_seconds: u64,
}

fn entry(app: &App, state: &DeskState, now: Timestamp) -> DirectoryEntry {
    DirectoryEntry {
        admin_id: state.desk.admin_id,
        name: state.desk.name.clone(),
        presence: state.presence(now, app.config.presence_grace),
        load: state.load,
        capacity: state.desk.capacity,
    }
}

/// Every admin with its presence, load and capacity, by id.
pub async fn directory(app: &App) -> Result<Directory, ChatError> {
    let now = Timestamp::now();
    let desks = app.store.desks(now).await?;
    Ok(Directory {
        admins: desks.iter().map(|state| entry(app, state, now)).collect(),
        edit_window_seconds: app.config.edit_window.as_secs(),
    })
}

/// The admin's own choice; the team hears of it, and with automatic assignment an admin who
/// becomes available is given what waits.
pub async fn set_availability(
    app: &App,
    admin: AdminId,
    availability: Availability,
) -> Result<DirectoryEntry, ChatError> {
    app.store.set_availability(admin, availability).await?.ok_or(ChatError::Unauthorized)?;
    let now = Timestamp::now();
    let desks = app.store.desks(now).await?;
    let state = desks.iter().find(|state| state.desk.admin_id == admin).ok_or(ChatError::Unauthorized)?;
    let mine = entry(app, state, now);
    tell_presence(app, &mine).await;
    if availability == Availability::Available {
        let room = usize::try_from(state.room()).unwrap_or(usize::MAX);
        assign_after(app, None, room, "an admin became available").await;
    }
    Ok(mine)
}

/// An inbox of `admin` connected (`connection`, still connecting): if the team had it as
/// offline, it hears it is back. What waits goes to it at the next trigger or sweep, not
/// from here: a post to a connection in its `$connect` would fail and forget it.
pub async fn inbox_connected(app: &App, admin: AdminId, connection: &str) {
    let back = async {
        if !app.store.desk_connected(admin).await? {
            return Ok(());
        }
        let now = Timestamp::now();
        if let Some(state) = app.store.desks(now).await?.iter().find(|state| state.desk.admin_id == admin) {
            let event = presence_event(&entry(app, state, now));
            telemetry::live_delivery(app.live.publish_except(&[(Audience::AllAdmins, event)], connection)).await;
        }
        Ok::<_, ChatError>(())
    };
    if let Err(error) = back.await {
        tracing::warn!(%error, "could not tell the team an admin is back");
    }
}

/// An inbox connection of `admin` ended: offline once the grace passes with none open (the
/// sweep tells the team).
pub async fn inbox_left(app: &App, admin: AdminId) {
    if let Err(error) = app.store.desk_left(admin, Timestamp::now()).await {
        tracing::warn!(%error, "could not record that an inbox closed");
    }
}

/// Tells the team of each admin gone offline since it was last told: once per leave.
pub(super) async fn tell_offline(app: &App, desks: &[DeskState], now: Timestamp) -> Result<(), ChatError> {
    for state in desks {
        let presence = state.presence(now, app.config.presence_grace);
        if let (Presence::Offline, false, Some(left_at)) = (presence, state.desk.told_offline, state.desk.left_at)
            && app.store.desk_told_offline(state.desk.admin_id, left_at).await?
        {
            tell_presence(app, &entry(app, state, now)).await;
        }
    }
    Ok(())
}

/// `admin.presence` to every admin's inbox.
async fn tell_presence(app: &App, entry: &DirectoryEntry) {
    telemetry::live_delivery(app.live.publish(&[(Audience::AllAdmins, presence_event(entry))])).await;
}

fn presence_event(entry: &DirectoryEntry) -> ServerEvent {
    ServerEvent::AdminPresence { admin_id: entry.admin_id, name: entry.name.clone(), presence: entry.presence }
}
