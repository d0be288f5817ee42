use async_trait::async_trait;

use super::MemoryStore;
use crate::Timestamp;
use crate::domain::{
    AdminId, Availability, BusinessHours, Desk, DeskState, Principal, Session, SessionChange, SessionStatus,
};
use crate::storage::{Assignment, DeskStore, StorageResult};

impl super::State {
    /// Sessions the admin holds now: its load.
    fn load_of(&self, admin: AdminId) -> u64 {
        let held = |data: &&super::SessionData| {
            data.session.status == SessionStatus::Claimed && data.session.admin_id == Some(admin)
        };
        self.sessions.values().filter(held).count() as u64
    }
}

#[async_trait]
impl DeskStore for MemoryStore {
    async fn desks(&self, now: Timestamp) -> StorageResult<Vec<DeskState>> {
        let state = self.state();
        let mut desks: Vec<DeskState> = state
            .desks
            .values()
            .map(|desk| DeskState {
                desk: desk.clone(),
                load: state.load_of(desk.admin_id),
                connected: state
                    .connections
                    .values()
                    .any(|c| c.principal == Principal::Admin(desk.admin_id) && c.is_live(now)),
            })
            .collect();
        desks.sort_by_key(|state| state.desk.admin_id);
        Ok(desks)
    }

    async fn set_availability(&self, admin: AdminId, availability: Availability) -> StorageResult<Option<Desk>> {
        let mut state = self.state();
        Ok(state.desks.get_mut(&admin).map(|desk| {
            desk.availability = availability;
            desk.clone()
        }))
    }

    async fn set_capacity(&self, admin: AdminId, capacity: u32) -> StorageResult<bool> {
        let mut state = self.state();
        Ok(state.desks.get_mut(&admin).map(|desk| desk.capacity = capacity).is_some())
    }

    async fn desk_connected(&self, admin: AdminId) -> StorageResult<bool> {
        let mut state = self.state();
        Ok(state.desks.get_mut(&admin).is_some_and(|desk| std::mem::replace(&mut desk.told_offline, false)))
    }

    async fn desk_left(&self, admin: AdminId, at: Timestamp) -> StorageResult<()> {
        if let Some(desk) = self.state().desks.get_mut(&admin) {
            desk.left_at = Some(at);
        }
        Ok(())
    }

    async fn desk_told_offline(&self, admin: AdminId, left_at: Timestamp) -> StorageResult<bool> {
        let mut state = self.state();
        let Some(desk) = state.desks.get_mut(&admin) else { return Ok(false) };
        let unchanged = !desk.told_offline && desk.left_at == Some(left_at);
        if unchanged {
            desk.told_offline = true;
        }
        Ok(unchanged)
    }

    async fn assign(&self, seen: &Session, admin: AdminId, capacity: u32, now: Timestamp) -> StorageResult<Assignment> {
        let mut state = self.state();
        let load = state.load_of(admin);
        let Some(desk) = state.desks.get(&admin) else { return Ok(Assignment::NotNow) };
        if desk.availability != Availability::Available || load >= u64::from(capacity) {
            return Ok(Assignment::NotNow);
        }
        let data = state.session_mut(seen.id)?;
        let at = data.session.time_of_change(now);
        let change = SessionChange::Assign { revision: seen.revision, admin_id: admin, at };
        let Ok(assigned) = change.apply(&data.session) else { return Ok(Assignment::NotNow) };
        state.write_session(assigned.clone())?;
        if let Some(desk) = state.desks.get_mut(&admin) {
            desk.last_assigned_at = Some(now);
        }
        Ok(Assignment::Assigned(Box::new(assigned)))
    }

    async fn business_hours(&self) -> StorageResult<Option<BusinessHours>> {
        Ok(self.state().business_hours.clone())
    }

    async fn set_business_hours(&self, hours: Option<&BusinessHours>) -> StorageResult<()> {
        self.state().business_hours = hours.cloned();
        Ok(())
    }
}
