//! The stores and admins every end-to-end test knows, with fixed tokens.

use shared::domain::{AdminId, AdminProfile, NewMessage, SenderType, StoreId, StoreProfile};
use shared::identities::{SeedAdmin, SeedFile, SeedStore};

pub const TECH_STORE: StoreId = StoreId(5);
pub const OTHER_STORE: StoreId = StoreId(6);
/// A store that never opens a session.
pub const QUIET_STORE: StoreId = StoreId(7);
pub const SARAH: AdminId = AdminId(2);
pub const OMAR: AdminId = AdminId(3);
/// Twenty more admins, for races.
pub fn claimers() -> impl Iterator<Item = AdminId> {
    (100..120).map(AdminId)
}
/// Eight more stores, each sending into its own session, for load.
pub fn load_stores() -> impl Iterator<Item = StoreId> {
    (200..208).map(StoreId)
}

/// Fifty more stores, each opening session after session, for a team's queue.
pub fn queue_stores() -> impl Iterator<Item = StoreId> {
    (400..450).map(StoreId)
}

pub fn token_of_store(id: StoreId) -> String {
    format!("store-{id}-{}", "s".repeat(40))
}

pub fn token_of_admin(id: AdminId) -> String {
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
            .chain(load_stores().map(|id| plain(id, &format!("Load Store {id}"))))
            .chain(queue_stores().map(|id| plain(id, &format!("Queue Store {id}"))))
            .map(|profile| SeedStore { token: token_of_store(profile.id), profile })
            .collect(),
        admins: [admin(SARAH, "Sarah"), admin(OMAR, "Omar")]
            .into_iter()
            .chain(claimers().map(|id| admin(id, &format!("Claimer{id}"))))
            .collect(),
    }
}

/// A plain message with `content`, as `sender_type`'s `sender_id` writes it, for writing
/// into a store directly.
pub fn plain_message(sender_type: SenderType, sender_id: u64, content: &str) -> NewMessage {
    NewMessage {
        sender_type,
        sender_id,
        content: content.into(),
        attachment_url: String::new(),
        attachment_type: String::new(),
        client_message_id: None,
        upload_id: None,
        attachment_key: None,
        automatic: false,
    }
}
