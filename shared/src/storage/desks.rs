//! Admins' desks: availability, capacity, presence, and giving a waiting session to one.

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::{AdminId, Availability, BusinessHours, Desk, DeskState, Session};

/// What giving a session to an admin came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assignment {
    /// The session is the admin's; as written.
    Assigned(Box<Session>),
    /// Nothing was written: the session changed since it was read (claimed, closed), or the
    /// admin is away or full by now. The caller reads again.
    NotNow,
}

#[async_trait]
pub trait DeskStore: Send + Sync + 'static {
    /// Every admin's desk, with its load and whether it has a live connection at `now`: one
    /// round trip.
    async fn desks(&self, now: Timestamp) -> StorageResult<Vec<DeskState>>;
    /// The admin's choice; the desk as it now is, `None` if there is no such admin.
    async fn set_availability(&self, admin: AdminId, availability: Availability) -> StorageResult<Option<Desk>>;
    /// How many sessions automatic assignment gives it at most; false if there is no such admin.
    async fn set_capacity(&self, admin: AdminId, capacity: u32) -> StorageResult<bool>;
    /// An inbox of the admin connected: true if the team had been told it was offline.
    async fn desk_connected(&self, admin: AdminId) -> StorageResult<bool>;
    /// An inbox connection of the admin ended at `at`.
    async fn desk_left(&self, admin: AdminId, at: Timestamp) -> StorageResult<()>;
    /// Records that the team was told the admin is offline, unless an inbox of it connected
    /// or left since `left_at`: true if recorded (and so to be told).
    async fn desk_told_offline(&self, admin: AdminId, left_at: Timestamp) -> StorageResult<bool>;
    /// Gives `seen`, a waiting session, to `admin` in one write: claimed by it on the
    /// condition that its revision is still the one read, with the admin's load up by one on
    /// the condition that it is below `capacity` and the admin still available.
    async fn assign(&self, seen: &Session, admin: AdminId, capacity: u32, now: Timestamp) -> StorageResult<Assignment>;
    /// The team's business hours, `None` until a platform or an operator sets them.
    async fn business_hours(&self) -> StorageResult<Option<BusinessHours>>;
    /// Sets the team's business hours, or (`None`) clears them: always within hours.
    async fn set_business_hours(&self, hours: Option<&BusinessHours>) -> StorageResult<()>;
}
