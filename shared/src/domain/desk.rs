//! An admin's desk: whether it takes conversations (its own choice, and whether it is
//! there at all), how many it may hold at once, and who is next when a session waits.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ids::AdminId;
use crate::Timestamp;

/// How many conversations an admin holds at most by automatic assignment, unless an
/// operator says otherwise.
pub const DEFAULT_CAPACITY: u32 = 5;
/// The most an operator may set.
pub const MAX_CAPACITY: u32 = 100;

/// What an admin says of itself: it takes conversations, or it does not for now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Available,
    Away,
}

/// What the team sees: the admin's choice while it has an inbox open, else offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Available,
    Away,
    Offline,
}

/// An admin's desk as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desk {
    pub admin_id: AdminId,
    /// The admin's name, copied from its profile, so that the directory is one read.
    pub name: String,
    pub availability: Availability,
    pub capacity: u32,
    /// When it was last given a session automatically: who waited longest for one goes
    /// first among equals.
    #[serde(default)]
    pub last_assigned_at: Option<Timestamp>,
    /// When its last inbox connection ended.
    #[serde(default)]
    pub left_at: Option<Timestamp>,
    /// Whether the team was last told it is offline (so that each change is told once).
    #[serde(default)]
    pub told_offline: bool,
}

/// A desk with what the reader found beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskState {
    pub desk: Desk,
    /// Conversations it holds now (claimed, by hand or automatically).
    pub load: u64,
    /// Whether it has a live inbox connection.
    pub connected: bool,
}

impl Desk {
    pub fn new(admin_id: AdminId, name: String) -> Self {
        Desk {
            admin_id,
            name,
            availability: Availability::Available,
            capacity: DEFAULT_CAPACITY,
            last_assigned_at: None,
            left_at: None,
            told_offline: true,
        }
    }
}

impl DeskState {
    /// Offline once no inbox has been open for `grace` (a reload is not a leave).
    pub fn presence(&self, now: Timestamp, grace: Duration) -> Presence {
        let within_grace = self.desk.left_at.is_some_and(|left| now.millis_since(left) < grace.as_millis() as u64);
        match (self.connected || within_grace, self.desk.availability) {
            (false, _) => Presence::Offline,
            (true, Availability::Available) => Presence::Available,
            (true, Availability::Away) => Presence::Away,
        }
    }

    /// How many more sessions automatic assignment may give it.
    pub fn room(&self) -> u64 {
        u64::from(self.desk.capacity).saturating_sub(self.load)
    }

    /// Whether it may be given one more session now.
    pub fn takes_more(&self, now: Timestamp, grace: Duration) -> bool {
        self.presence(now, grace) == Presence::Available && self.room() > 0
    }

    /// Offline longer than `delay`: what it holds unanswered goes back to the queue.
    pub fn gone_for(&self, now: Timestamp, delay: Duration) -> bool {
        !self.connected && self.desk.left_at.is_some_and(|left| now.millis_since(left) >= delay.as_millis() as u64)
    }
}

/// Who is given the next waiting session: of the desks that take more, the least loaded,
/// then the one given a session least recently (never before first), then the lowest id.
pub fn next_admin(desks: &[DeskState], now: Timestamp, grace: Duration) -> Option<&DeskState> {
    desks
        .iter()
        .filter(|state| state.takes_more(now, grace))
        .min_by_key(|state| (state.load, state.desk.last_assigned_at, state.desk.admin_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(60);

    fn state(id: u64, load: u64, last: Option<i64>, now: Timestamp) -> DeskState {
        let desk =
            Desk { last_assigned_at: last.map(|s| now.plus_seconds(-s)), ..Desk::new(AdminId(id), format!("A{id}")) };
        DeskState { desk, load, connected: true }
    }

    #[test]
    fn presence_is_the_choice_while_connected_or_within_the_grace() {
        let now = Timestamp::now();
        let mut s = state(1, 0, None, now);
        assert_eq!(s.presence(now, GRACE), Presence::Available);
        s.desk.availability = Availability::Away;
        assert_eq!(s.presence(now, GRACE), Presence::Away);
        s.connected = false;
        s.desk.left_at = Some(now.plus_seconds(-59));
        assert_eq!(s.presence(now, GRACE), Presence::Away, "a reload is not a leave");
        s.desk.left_at = Some(now.plus_seconds(-60));
        assert_eq!(s.presence(now, GRACE), Presence::Offline);
        s.desk.left_at = None;
        assert_eq!(s.presence(now, GRACE), Presence::Offline, "never connected");
        assert!(!s.gone_for(now, Duration::from_secs(120)));
        s.desk.left_at = Some(now.plus_seconds(-120));
        assert!(s.gone_for(now, Duration::from_secs(120)));
    }

    #[test]
    fn the_least_loaded_then_the_longest_unassigned_goes_next() {
        let now = Timestamp::now();
        let desks = vec![state(1, 2, Some(10), now), state(2, 1, Some(5), now), state(3, 1, Some(50), now)];
        assert_eq!(next_admin(&desks, now, GRACE).map(|s| s.desk.admin_id), Some(AdminId(3)));
        let never = vec![state(4, 1, Some(50), now), state(5, 1, None, now)];
        assert_eq!(next_admin(&never, now, GRACE).map(|s| s.desk.admin_id), Some(AdminId(5)), "never given one");
        // Full, away or offline desks take none.
        let mut full = state(6, 5, None, now);
        let mut away = state(7, 0, None, now);
        away.desk.availability = Availability::Away;
        let mut offline = state(8, 0, None, now);
        offline.connected = false;
        assert_eq!(next_admin(&[full.clone(), away, offline], now, GRACE), None);
        full.desk.capacity = 6;
        assert_eq!(next_admin(&[full], now, GRACE).map(|s| s.desk.admin_id), Some(AdminId(6)));
    }
}
