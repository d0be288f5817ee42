use serde::{Deserialize, Serialize};

pub type StoreId = u64;
pub type AdminId = u64;

/// Who a token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum Principal {
    Store(StoreId),
    Admin(AdminId),
}

/// A merchant, as the seeds show it under `store`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreProfile {
    pub id: StoreId,
    pub name: String,
    #[serde(default)]
    pub logo_url: String,
    #[serde(default)]
    pub email: String,
}

/// A member of the support staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminProfile {
    pub id: AdminId,
    pub name: String,
    #[serde(default)]
    pub email: String,
}
