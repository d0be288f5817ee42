//! What a platform provisions: stores and admins as its own systems know them, and the
//! short-lived tokens it mints for them.

use serde::{Deserialize, Serialize};

use super::desk::MAX_CAPACITY;
use super::ids::{AdminId, StoreId};
use super::principal::{AdminProfile, Principal, StoreProfile};
use crate::Timestamp;

/// The most items one provisioning call takes; each is answered on its own.
pub const MAX_BATCH: usize = 100;
/// A minted token's lifetime when the call names none.
pub const DEFAULT_TOKEN_LIFETIME_SECONDS: i64 = 3600;
/// The longest a minted token may live.
pub const MAX_TOKEN_LIFETIME_SECONDS: i64 = 24 * 3600;
/// The shortest: less would expire before a client could use it.
pub const MIN_TOKEN_LIFETIME_SECONDS: i64 = 10;
const MAX_NAME: usize = 200;
const MAX_EMAIL: usize = 254;
const MAX_URL: usize = 2048;
const MAX_LOCALE: usize = 35;

/// A store as the platform sends it: the seeds' profile fields and a locale. The fields are
/// spelled out rather than a flattened [`StoreProfile`]: serde refuses unknown fields only
/// without `flatten`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreAccount {
    pub id: StoreId,
    pub name: String,
    #[serde(default)]
    pub logo_url: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub locale: Option<String>,
}

/// An admin as the platform sends it: the seeds' profile fields, a locale and how many
/// sessions it may hold at once (unchanged, or the default for a new admin, if absent).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminAccount {
    pub id: AdminId,
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub capacity: Option<u32>,
}

impl StoreAccount {
    /// The account if every field is within its limits, or what is wrong with it.
    pub fn validated(self) -> Result<Self, String> {
        check_id(self.id.0)?;
        check_text("name", &self.name, MAX_NAME, true)?;
        check_text("email", &self.email, MAX_EMAIL, false)?;
        check_text("logo_url", &self.logo_url, MAX_URL, false)?;
        if !self.logo_url.is_empty() && !self.logo_url.starts_with("https://") {
            return Err("logo_url must be an https:// URL".into());
        }
        check_locale(self.locale.as_deref())?;
        Ok(self)
    }

    pub fn profile(&self) -> StoreProfile {
        StoreProfile {
            id: self.id,
            name: self.name.clone(),
            logo_url: self.logo_url.clone(),
            email: self.email.clone(),
        }
    }
}

impl AdminAccount {
    /// The account if every field is within its limits, or what is wrong with it.
    pub fn validated(self) -> Result<Self, String> {
        check_id(self.id.0)?;
        check_text("name", &self.name, MAX_NAME, true)?;
        check_text("email", &self.email, MAX_EMAIL, false)?;
        check_locale(self.locale.as_deref())?;
        if let Some(capacity) = self.capacity
            && !(1..=MAX_CAPACITY).contains(&capacity)
        {
            return Err(format!("capacity must be from 1 to {MAX_CAPACITY}"));
        }
        Ok(self)
    }

    pub fn profile(&self) -> AdminProfile {
        AdminProfile { id: self.id, name: self.name.clone(), email: self.email.clone() }
    }
}

fn check_id(id: u64) -> Result<(), String> {
    // Ids travel as JSON numbers: beyond 2^53 a JavaScript client would round them.
    if id == 0 || id > (1 << 53) {
        return Err("id must be a positive integer below 2^53".into());
    }
    Ok(())
}

fn check_text(field: &str, value: &str, most: usize, required: bool) -> Result<(), String> {
    if required && value.trim().is_empty() {
        return Err(format!("{field} is required"));
    }
    if value.chars().count() > most {
        return Err(format!("{field} is longer than {most} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} has control characters"));
    }
    Ok(())
}

/// A BCP 47 language tag's shape (`en`, `pt-BR`, `zh-Hant-TW`): letters and digits in
/// subtags of up to eight, joined by hyphens.
fn check_locale(locale: Option<&str>) -> Result<(), String> {
    let Some(locale) = locale else { return Ok(()) };
    let well_formed = locale.len() <= MAX_LOCALE
        && locale.split('-').enumerate().all(|(i, subtag)| {
            (1..=8).contains(&subtag.len())
                && subtag.chars().all(|c| c.is_ascii_alphanumeric())
                && (i > 0 || subtag.chars().all(|c| c.is_ascii_alphabetic()))
        });
    if well_formed { Ok(()) } else { Err("locale must be a language tag such as en or pt-BR".into()) }
}

/// Whether a store or an admin exists, and is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountState {
    Missing,
    Active,
    Deactivated,
}

/// What provisioning one account did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Upserted {
    Created,
    Updated,
}

/// A token as stored: whom it stands for, since when, and until when (`None`: until it is
/// revoked, as the operator's and the seed's are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenGrant {
    pub principal: Principal,
    pub issued_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl TokenGrant {
    pub fn lasting(principal: Principal, now: Timestamp) -> Self {
        TokenGrant { principal, issued_at: now, expires_at: None }
    }

    /// A minted token's grant, for `lifetime_seconds` (the default if `None`), if within the limits.
    pub fn minted(principal: Principal, lifetime_seconds: Option<i64>, now: Timestamp) -> Result<Self, String> {
        let lifetime = lifetime_seconds.unwrap_or(DEFAULT_TOKEN_LIFETIME_SECONDS);
        if !(MIN_TOKEN_LIFETIME_SECONDS..=MAX_TOKEN_LIFETIME_SECONDS).contains(&lifetime) {
            return Err(format!(
                "lifetime_seconds must be from {MIN_TOKEN_LIFETIME_SECONDS} to {MAX_TOKEN_LIFETIME_SECONDS}"
            ));
        }
        // In whole seconds, as the table's time to live keeps it.
        let expires_at = Timestamp::from_unix_seconds(now.unix_seconds() + lifetime);
        Ok(TokenGrant { principal, issued_at: now, expires_at })
    }

    /// Whether it still stands at `now`.
    pub fn valid_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|expires| now < expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(json: &str) -> Result<StoreAccount, String> {
        serde_json::from_str::<StoreAccount>(json).map_err(|e| e.to_string())?.validated()
    }

    #[test]
    fn accounts_within_their_limits() {
        let good = store(r#"{"id": 5, "name": "Tech Store", "logo_url": "https://x.test/l.png", "locale": "pt-BR"}"#);
        assert_eq!(good.unwrap().profile().name, "Tech Store");
        for (wrong, says) in [
            (r#"{"id": 0, "name": "x"}"#, "id"),
            (r#"{"id": 1, "name": " "}"#, "name is required"),
            (r#"{"id": 1, "name": "x", "logo_url": "http://x.test/l.png"}"#, "https://"),
            (r#"{"id": 1, "name": "x", "locale": "en_US"}"#, "locale"),
            (r#"{"id": 1, "name": "x", "locale": "1en"}"#, "locale"),
            (r#"{"id": 1, "name": "x\u0007"}"#, "control"),
            (r#"{"id": 1, "name": "x", "role": "admin"}"#, "unknown field"),
        ] {
            assert!(store(wrong).is_err_and(|e| e.contains(says)), "{wrong}");
        }
        let admin = |capacity: u32| AdminAccount {
            id: AdminId(2),
            name: "Sarah".into(),
            email: String::new(),
            locale: None,
            capacity: Some(capacity),
        };
        assert!(admin(0).validated().is_err());
        assert!(admin(MAX_CAPACITY + 1).validated().is_err());
        assert!(admin(MAX_CAPACITY).validated().is_ok());
    }

    #[test]
    fn minted_tokens_live_an_hour_unless_told_and_at_most_a_day() {
        let now = Timestamp::parse("2026-12-02T10:00:00Z").unwrap();
        let principal = Principal::Store(StoreId(5));
        let grant = TokenGrant::minted(principal, None, now).unwrap();
        assert_eq!(grant.expires_at, Some(now.plus_seconds(3600)));
        let odd = Timestamp::parse("2026-12-02T10:00:00.750Z").unwrap();
        let whole = TokenGrant::minted(principal, Some(60), odd).unwrap().expires_at;
        assert_eq!(whole, Some(now.plus_seconds(60)), "in whole seconds");
        assert!(grant.valid_at(now.plus_seconds(3599)));
        assert!(!grant.valid_at(now.plus_seconds(3600)));
        assert!(TokenGrant::minted(principal, Some(MAX_TOKEN_LIFETIME_SECONDS + 1), now).is_err());
        assert!(TokenGrant::minted(principal, Some(MIN_TOKEN_LIFETIME_SECONDS - 1), now).is_err());
        assert!(TokenGrant::lasting(principal, now).valid_at(now.plus_seconds(10 * 365 * 86400)));
    }
}
