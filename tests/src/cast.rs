//! The stores and admins every end-to-end test knows, with fixed tokens.

use shared::domain::{AdminProfile, StoreProfile};
use shared::identities::{SeedAdmin, SeedFile, SeedStore};

pub const TECH_STORE: u64 = 5;
pub const OTHER_STORE: u64 = 6;
/// A store that never opens a session.
pub const QUIET_STORE: u64 = 7;
pub const SARAH: u64 = 2;
pub const OMAR: u64 = 3;
/// Twenty more admins, for races.
pub const CLAIMERS: std::ops::Range<u64> = 100..120;
/// Eight more stores, each sending into its own session, for load.
pub const LOAD_STORES: std::ops::Range<u64> = 200..208;

pub fn token_of_store(id: u64) -> String {
    format!("store-{id}-{}", "s".repeat(40))
}

pub fn token_of_admin(id: u64) -> String {
    format!("admin-{id}-{}", "a".repeat(40))
}

pub fn tech_store() -> StoreProfile {
    StoreProfile {
        id: TECH_STORE,
        name: "Tech Store".into(),
        logo_url: "https://example.com/logo.jpg".into(),
        email: "store@example.com".into(),
    }
}

pub fn seed() -> SeedFile {
    let plain = |id, name: &str| StoreProfile { id, name: name.into(), logo_url: String::new(), email: String::new() };
    let admin = |id, name: &str| SeedAdmin {
        profile: AdminProfile { id, name: name.into(), email: format!("{}@example.com", name.to_lowercase()) },
        token: token_of_admin(id),
    };
    SeedFile {
        stores: [tech_store(), plain(OTHER_STORE, "Other Store"), plain(QUIET_STORE, "Quiet Store")]
            .into_iter()
            .chain(LOAD_STORES.map(|id| plain(id, &format!("Load Store {id}"))))
            .map(|profile| SeedStore { token: token_of_store(profile.id), profile })
            .collect(),
        admins: [admin(SARAH, "Sarah"), admin(OMAR, "Omar")]
            .into_iter()
            .chain(CLAIMERS.map(|id| admin(id, &format!("Claimer{id}"))))
            .collect(),
    }
}
