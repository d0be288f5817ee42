use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ids::{AdminId, StoreId};
use super::message::SenderType;

/// Who a token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum Principal {
    Store(StoreId),
    Admin(AdminId),
}

impl Principal {
    /// Which side of a session it speaks for.
    pub fn party(self) -> SenderType {
        match self {
            Principal::Store(_) => SenderType::Store,
            Principal::Admin(_) => SenderType::Admin,
        }
    }

    /// The store's or the admin's id.
    pub fn id(self) -> u64 {
        match self {
            Principal::Store(StoreId(id)) | Principal::Admin(AdminId(id)) => id,
        }
    }
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

/// What a store is told of the admin helping it: no email, no more than a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAdmin {
    pub id: AdminId,
    pub name: String,
}

impl AdminProfile {
    pub fn public(&self) -> PublicAdmin {
        PublicAdmin { id: self.id, name: self.name.clone() }
    }
}

/// The hash of a token, the only form in which a token is stored.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        TokenHash(hex::encode(Sha256::digest(token.as_bytes())))
    }

    /// A hash as [`TokenHash::as_hex`] wrote it (how the platform names a token it lists).
    pub fn from_hex(hex: &str) -> Option<Self> {
        let well_formed = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| TokenHash(hex.to_owned()))
    }

    pub fn as_hex(&self) -> &str {
        &self.0
    }
}

// Deliberately short: hashes are not secrets, but nothing gains from a full one in a log.
impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8.min(self.0.len())])
    }
}
