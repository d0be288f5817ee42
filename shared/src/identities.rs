//! Stores, admins and their tokens from a seed file:
//! `{"stores": [{"id", "name", "logo_url", "email", "token"}], "admins": [{"id", "name", "email", "token"}]}`.
//! Tokens are plain text in the file and hashed on load.

use serde::{Deserialize, Serialize};

use crate::auth::{TokenHash, generate_token};
use crate::domain::{AdminId, AdminProfile, Principal, StoreId, StoreProfile};
use crate::storage::{IdentityStore, StorageError};

/// Shorter tokens than this carry too little entropy to be accepted.
pub const MIN_TOKEN_LENGTH: usize = 32;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(default)]
    pub stores: Vec<SeedStore>,
    #[serde(default)]
    pub admins: Vec<SeedAdmin>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedStore {
    #[serde(flatten)]
    pub profile: StoreProfile,
    pub token: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedAdmin {
    #[serde(flatten)]
    pub profile: AdminProfile,
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed file is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl SeedFile {
    pub fn parse(json: &str) -> Result<Self, SeedError> {
        let seed: SeedFile = serde_json::from_str(json).map_err(|e| SeedError::Invalid(e.to_string()))?;
        seed.validate()?;
        Ok(seed)
    }

    /// One demo store and one demo admin with fresh tokens.
    pub fn demo() -> Self {
        SeedFile {
            stores: vec![SeedStore {
                profile: StoreProfile {
                    id: StoreId(1),
                    name: "Demo Store".into(),
                    logo_url: "https://example.com/logo.png".into(),
                    email: "store@example.com".into(),
                },
                token: generate_token(),
            }],
            admins: vec![SeedAdmin {
                profile: AdminProfile { id: AdminId(1), name: "Demo Admin".into(), email: "admin@example.com".into() },
                token: generate_token(),
            }],
        }
    }

    fn validate(&self) -> Result<(), SeedError> {
        let tokens = self
            .stores
            .iter()
            .map(|s| (&s.token, s.profile.id.0))
            .chain(self.admins.iter().map(|a| (&a.token, a.profile.id.0)));
        for (token, id) in tokens {
            if token.len() < MIN_TOKEN_LENGTH || token.chars().any(char::is_whitespace) {
                return Err(SeedError::Invalid(format!(
                    "the token of id {id} must be at least {MIN_TOKEN_LENGTH} characters without spaces"
                )));
            }
        }
        Ok(())
    }

    /// Writes every profile and the hash of every token.
    pub async fn load_into(&self, store: &dyn IdentityStore) -> Result<(), SeedError> {
        for seed in &self.stores {
            store.put_store(&seed.profile).await?;
            store.put_token(&TokenHash::of(&seed.token), Principal::Store(seed.profile.id)).await?;
        }
        for seed in &self.admins {
            store.put_admin(&seed.profile).await?;
            store.put_token(&TokenHash::of(&seed.token), Principal::Admin(seed.profile.id)).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{IdentityStore, MemoryStore};

    #[tokio::test]
    async fn loads_profiles_and_only_token_hashes() {
        let token = "s".repeat(40);
        let json = format!(
            r#"{{"stores": [{{"id": 5, "name": "Tech Store", "logo_url": "https://example.com/logo.jpg", "email": "store@example.com", "token": "{token}"}}],
                "admins": [{{"id": 2, "name": "Sarah", "email": "sarah@example.com", "token": "{}"}}]}}"#,
            "a".repeat(40)
        );
        let seed = SeedFile::parse(&json).unwrap();
        let store = MemoryStore::new();
        seed.load_into(&store).await.unwrap();
        assert_eq!(store.store_profile(StoreId(5)).await.unwrap().unwrap().name, "Tech Store");
        assert_eq!(store.admin_profile(AdminId(2)).await.unwrap().unwrap().email, "sarah@example.com");
        assert_eq!(store.principal_for(&TokenHash::of(&token)).await.unwrap(), Some(Principal::Store(StoreId(5))));
    }

    #[test]
    fn rejects_short_tokens_and_unknown_fields() {
        assert!(SeedFile::parse(r#"{"stores": [{"id": 1, "name": "x", "token": "short"}]}"#).is_err());
        assert!(SeedFile::parse(r#"{"users": []}"#).is_err());
    }
}
