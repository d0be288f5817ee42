//! The session state machine, in one place:
//! open → claimed → closed, open → closed, claimed → open (transfer to nobody),
//! claimed → claimed by another admin (transfer).

use super::change::Condition;
use super::ids::{AdminId, StoreId};
use super::principal::Principal;
use super::session::{Session, SessionStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleAction {
    Claim,
    Close,
    /// Hand the session to another admin, or back to the open queue with `None`.
    Transfer {
        to: Option<AdminId>,
    },
}

/// The state a permitted action leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleChange {
    /// The session is already where the action would take it (a repeated claim, say).
    Unchanged,
    To {
        status: SessionStatus,
        admin_id: Option<AdminId>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("Session belongs to another admin")]
    OtherAdmin,
    #[error("Session is closed")]
    Closed,
    #[error("Session is claimed by another admin")]
    ClaimedByAnother,
    #[error("Only admins can do this")]
    AdminsOnly,
    #[error("Session belongs to another store")]
    OtherStore,
    #[error("Claim the session before sending to it")]
    NotClaimed,
    #[error("Only a closed session can be rated")]
    NotClosed,
    #[error("Session is already rated")]
    AlreadyRated,
}

/// Decides what `action` by `actor` does to `session`.
pub fn decide(session: &Session, actor: Principal, action: LifecycleAction) -> Result<LifecycleChange, LifecycleError> {
    use LifecycleAction::*;
    use SessionStatus::*;

    let to = |status, admin_id| Ok(LifecycleChange::To { status, admin_id });
    match actor {
        Principal::Store(store) => {
            if store != session.store.id {
                return Err(LifecycleError::OtherStore);
            }
            match (action, session.status) {
                (Close, Closed) => Err(LifecycleError::Closed),
                (Close, _) => to(Closed, session.admin_id),
                (Claim | Transfer { .. }, _) => Err(LifecycleError::AdminsOnly),
            }
        }
        Principal::Admin(me) => {
            let holder = session.admin_id;
            match (action, session.status) {
                (_, Closed) => Err(LifecycleError::Closed),
                (Claim, Open) => to(Claimed, Some(me)),
                (Claim, Claimed) if holder == Some(me) => Ok(LifecycleChange::Unchanged),
                (Claim, Claimed) => Err(LifecycleError::ClaimedByAnother),
                (Close, Open) => to(Closed, None),
                (Close | Transfer { .. }, Claimed) if holder != Some(me) => Err(LifecycleError::OtherAdmin),
                (Close, Claimed) => to(Closed, holder),
                (Transfer { to: None }, Open) => Ok(LifecycleChange::Unchanged),
                (Transfer { to: None }, Claimed) => to(Open, None),
                (Transfer { to: Some(next) }, _) if holder == Some(next) => Ok(LifecycleChange::Unchanged),
                (Transfer { to: Some(next) }, Open | Claimed) => to(Claimed, Some(next)),
            }
        }
    }
}

/// Whether `actor` may send a message into `session`: a store into its own session until
/// it is closed, an admin only into a session it has claimed.
pub fn may_send(session: &Session, actor: Principal) -> Result<(), LifecycleError> {
    match actor {
        Principal::Store(store) if store != session.store.id => Err(LifecycleError::OtherStore),
        _ if !Condition::NotClosed.holds(session) => Err(LifecycleError::Closed),
        Principal::Store(_) => Ok(()),
        Principal::Admin(me) => match session.admin_id {
            Some(holder) if holder == me => Ok(()),
            Some(_) => Err(LifecycleError::OtherAdmin),
            None => Err(LifecycleError::NotClaimed),
        },
    }
}

/// Whether `store` may rate `session`: its own, closed, and not yet rated.
pub fn may_rate(session: &Session, store: StoreId) -> Result<(), LifecycleError> {
    if store != session.store.id {
        Err(LifecycleError::OtherStore)
    } else if !Condition::Closed.holds(session) {
        Err(LifecycleError::NotClosed)
    } else if !Condition::Unrated.holds(session) {
        Err(LifecycleError::AlreadyRated)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LifecycleAction::*;
    use SessionStatus::*;

    fn session(status: SessionStatus, admin_id: Option<AdminId>) -> Session {
        Session::sample(status, admin_id)
    }

    /// A session's status and the admin holding it.
    type Held = (SessionStatus, Option<AdminId>);
    type Outcome = Result<LifecycleChange, LifecycleError>;

    #[test]
    fn transitions_table() {
        const ME: AdminId = AdminId(2);
        const OTHER: AdminId = AdminId(3);
        let changed = |status, admin_id| Ok(LifecycleChange::To { status, admin_id });
        let unchanged = Ok(LifecycleChange::Unchanged);
        #[rustfmt::skip]
        let table: Vec<(Held, Principal, LifecycleAction, Outcome)> = vec![
            ((Open, None),        Principal::Admin(ME),  Claim, changed(Claimed, Some(ME))),
            ((Claimed, Some(ME)), Principal::Admin(ME),  Claim, unchanged),
            ((Claimed, Some(OTHER)), Principal::Admin(ME), Claim, Err(LifecycleError::ClaimedByAnother)),
            ((Closed, Some(ME)),  Principal::Admin(ME),  Claim, Err(LifecycleError::Closed)),
            ((Open, None),        Principal::Store(StoreId(5)),   Claim, Err(LifecycleError::AdminsOnly)),

            ((Open, None),        Principal::Admin(ME),  Close, changed(Closed, None)),
            ((Claimed, Some(ME)), Principal::Admin(ME),  Close, changed(Closed, Some(ME))),
            ((Claimed, Some(OTHER)), Principal::Admin(ME), Close, Err(LifecycleError::OtherAdmin)),
            ((Closed, None),      Principal::Admin(ME),  Close, Err(LifecycleError::Closed)),
            ((Open, None),        Principal::Store(StoreId(5)),   Close, changed(Closed, None)),
            ((Claimed, Some(ME)), Principal::Store(StoreId(5)),   Close, changed(Closed, Some(ME))),
            ((Closed, Some(ME)),  Principal::Store(StoreId(5)),   Close, Err(LifecycleError::Closed)),
            ((Open, None),        Principal::Store(StoreId(6)),   Close, Err(LifecycleError::OtherStore)),

            ((Claimed, Some(ME)), Principal::Admin(ME),  Transfer { to: Some(OTHER) }, changed(Claimed, Some(OTHER))),
            ((Claimed, Some(ME)), Principal::Admin(ME),  Transfer { to: None }, changed(Open, None)),
            ((Claimed, Some(ME)), Principal::Admin(ME),  Transfer { to: Some(ME) }, unchanged),
            ((Open, None),        Principal::Admin(ME),  Transfer { to: Some(OTHER) }, changed(Claimed, Some(OTHER))),
            ((Open, None),        Principal::Admin(ME),  Transfer { to: None }, unchanged),
            ((Claimed, Some(OTHER)), Principal::Admin(ME), Transfer { to: None }, Err(LifecycleError::OtherAdmin)),
            ((Closed, Some(ME)),  Principal::Admin(ME),  Transfer { to: Some(OTHER) }, Err(LifecycleError::Closed)),
            ((Claimed, Some(ME)), Principal::Store(StoreId(5)),   Transfer { to: None }, Err(LifecycleError::AdminsOnly)),
        ];
        for ((status, holder), actor, action, outcome) in table {
            assert_eq!(
                decide(&session(status, holder), actor, action),
                outcome,
                "{status:?} held by {holder:?}, {action:?} by {actor:?}"
            );
        }
    }

    #[test]
    fn who_may_send_and_rate() {
        use LifecycleError::{AlreadyRated, NotClaimed, NotClosed, OtherAdmin, OtherStore};
        let cases = [
            ((Open, None), Principal::Store(StoreId(5)), Ok(())),
            ((Claimed, Some(AdminId(2))), Principal::Store(StoreId(5)), Ok(())),
            ((Closed, Some(AdminId(2))), Principal::Store(StoreId(5)), Err(LifecycleError::Closed)),
            ((Open, None), Principal::Store(StoreId(6)), Err(OtherStore)),
            ((Open, None), Principal::Admin(AdminId(2)), Err(NotClaimed)),
            ((Claimed, Some(AdminId(2))), Principal::Admin(AdminId(2)), Ok(())),
            ((Claimed, Some(AdminId(3))), Principal::Admin(AdminId(2)), Err(OtherAdmin)),
            ((Closed, Some(AdminId(2))), Principal::Admin(AdminId(2)), Err(LifecycleError::Closed)),
        ];
        for ((status, holder), actor, outcome) in cases {
            assert_eq!(may_send(&session(status, holder), actor), outcome, "{status:?} {holder:?} {actor:?}");
        }
        assert_eq!(may_rate(&session(Closed, Some(AdminId(2))), StoreId(5)), Ok(()));
        assert_eq!(may_rate(&session(Claimed, Some(AdminId(2))), StoreId(5)), Err(NotClosed));
        assert_eq!(may_rate(&session(Closed, None), StoreId(6)), Err(OtherStore));
        let rated = Session { rating: Some(4), ..session(Closed, None) };
        assert_eq!(may_rate(&rated, StoreId(5)), Err(AlreadyRated));
    }
}
