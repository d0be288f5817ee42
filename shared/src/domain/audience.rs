//! Who must hear of what: the audiences of each change of a session. How they hear of it
//! is live delivery's business (`crate::live`).

use super::ids::{AdminId, StoreId};
use super::message::SenderType;
use super::principal::Principal;
use super::session::{Session, SessionStatus};

/// Whose connections an event goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    Store(StoreId),
    Admin(AdminId),
    /// Every connected admin (the open queue is everyone's).
    AllAdmins,
}

impl Audience {
    /// Everyone `principal` speaks for: its own connections.
    pub fn of(principal: Principal) -> Self {
        match principal {
            Principal::Store(id) => Audience::Store(id),
            Principal::Admin(id) => Audience::Admin(id),
        }
    }

    pub fn includes(self, principal: Principal) -> bool {
        match (self, principal) {
            (Audience::Store(a), Principal::Store(b)) => a == b,
            (Audience::Admin(a), Principal::Admin(b)) => a == b,
            (Audience::AllAdmins, Principal::Admin(_)) => true,
            _ => false,
        }
    }
}

/// The admin side of a session: its holder, or every admin while nobody holds it.
pub fn admin_side(admin_id: Option<AdminId>) -> Audience {
    admin_id.map_or(Audience::AllAdmins, Audience::Admin)
}

/// The audience of `party` in a session of `store` held by `admin_id`.
pub fn party(party: SenderType, store: StoreId, admin_id: Option<AdminId>) -> Audience {
    match party {
        SenderType::Store => Audience::Store(store),
        SenderType::Admin => admin_side(admin_id),
    }
}

/// How a session stood before a change, for who must hear of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Before {
    pub was_open: bool,
    pub holder: Option<AdminId>,
}

impl Before {
    pub fn of(session: &Session) -> Self {
        Before { was_open: session.status == SessionStatus::Open, holder: session.admin_id }
    }

    /// A session that did not exist before: as good as open, nobody's.
    pub fn new_session() -> Self {
        Before { was_open: true, holder: None }
    }
}

/// Who hears that a session changed from `before` to `after`, and as which side sees it:
/// every admin while it is (or was) in the open queue, the admins it moved between, and the
/// store if `to_store`.
pub fn session_change_audiences(before: Before, after: &Session, to_store: bool) -> Vec<(Audience, SenderType)> {
    let mut audiences = Vec::new();
    if before.was_open || after.status == SessionStatus::Open {
        audiences.push((Audience::AllAdmins, SenderType::Admin));
    }
    let mut holders = vec![after.admin_id, before.holder];
    holders.dedup();
    for admin in holders.into_iter().flatten() {
        audiences.push((Audience::Admin(admin), SenderType::Admin));
    }
    if to_store {
        audiences.push((Audience::Store(after.store.id), SenderType::Store));
    }
    audiences
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_hears_of_a_session_change() {
        use SessionStatus::*;
        let all = (Audience::AllAdmins, SenderType::Admin);
        let admin = |id| (Audience::Admin(id), SenderType::Admin);
        let store = (Audience::Store(StoreId(5)), SenderType::Store);
        // (before: status, holder; after: status, holder; to the store) → audiences
        let cases = [
            ((Open, None), (Claimed, Some(AdminId(2))), true, vec![all, admin(AdminId(2)), store]),
            (
                (Claimed, Some(AdminId(2))),
                (Claimed, Some(AdminId(3))),
                true,
                vec![admin(AdminId(3)), admin(AdminId(2)), store],
            ),
            ((Claimed, Some(AdminId(2))), (Open, None), true, vec![all, admin(AdminId(2)), store]),
            ((Claimed, Some(AdminId(2))), (Closed, Some(AdminId(2))), true, vec![admin(AdminId(2)), store]),
            ((Claimed, Some(AdminId(2))), (Claimed, Some(AdminId(2))), false, vec![admin(AdminId(2))]),
            ((Open, None), (Closed, None), true, vec![all, store]),
        ];
        for ((was, held), (now, holder), to_store, expected) in cases {
            let before = Before::of(&Session::sample(was, held));
            let after = Session::sample(now, holder);
            assert_eq!(session_change_audiences(before, &after, to_store), expected, "{was:?} {held:?} → {now:?}");
        }
        assert_eq!(party(SenderType::Admin, StoreId(5), None), Audience::AllAdmins);
        assert_eq!(party(SenderType::Store, StoreId(5), Some(AdminId(2))), Audience::Store(StoreId(5)));
    }
}
