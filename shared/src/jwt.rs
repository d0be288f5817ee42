//! Identities the platform's own identity provider vouches for: a JWT it signed with RS256
//! or ES256, by a key its JWKS publishes, stands for a store or an admin as our tokens do.
//! The key set is cached and fetched again when a token names a key it lacks, so a rotation
//! needs no redeploy; at most [`MAX_FETCHES_PER_MINUTE`] times a minute per instance, so
//! forged key ids cannot make the functions hammer the provider. Verification is `jsonwebtoken`'s: issuer, audience,
//! expiry and not-before with [`LEEWAY_SECONDS`] of clock skew; `alg: none` does not parse,
//! and only the asymmetric algorithms are accepted, so an HS256 token "signed" with a public
//! key (algorithm confusion) is refused.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::domain::{AdminId, Principal, StoreAccount, StoreId, TokenGrant};
use crate::{ChatError, Timestamp};

/// The clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 60;
/// How long a fetched key set is used before it is fetched again.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
/// How long fetching the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(1);
/// How often an instance fetches the key set, at most.
pub const MAX_FETCHES_PER_MINUTE: usize = 10;

/// Which identity provider is trusted, and which claims name the store or the admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    /// The claim holding a store's id (`store_id` by default).
    pub store_claim: String,
    /// The claim holding an admin's id (`admin_id` by default).
    pub admin_claim: String,
}

/// A verified JWT: what it grants, and, for a store, the account its claims describe (to
/// provision a store seen for the first time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub grant: TokenGrant,
    pub store: Option<StoreAccount>,
}

/// Whether `token` has a JWT's shape (three base64url parts, a JSON header), not ours (hex).
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

struct Keys {
    set: JwkSet,
    fetched_at: Option<Instant>,
    /// When the key set was fetched, in the last minute.
    fetches: VecDeque<Instant>,
}

pub struct JwtVerifier {
    settings: JwtSettings,
    client: reqwest::Client,
    keys: Mutex<Keys>,
}

impl JwtVerifier {
    pub fn new(settings: JwtSettings) -> Self {
        let client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().expect("the TLS roots load");
        let keys = Keys { set: JwkSet { keys: Vec::new() }, fetched_at: None, fetches: VecDeque::new() };
        JwtVerifier { settings, client, keys: Mutex::new(keys) }
    }

    /// What `token` grants, if the provider signed it and it is valid now.
    pub async fn verify(&self, token: &str) -> Result<Verified, ChatError> {
        let refused = |why: &str| {
            tracing::info!(why, "a JWT was refused");
            ChatError::Unauthorized
        };
        let header = decode_header(token).map_err(|_| refused("no readable header"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(refused("not RS256 or ES256"));
        }
        let kid = header.kid.ok_or_else(|| refused("no kid"))?;
        let key = self.key(&kid).await?.ok_or_else(|| refused("an unknown kid"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let claims = decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|error| refused(&format!("{:?}", error.kind())))?
            .claims;
        self.verified(&claims).ok_or_else(|| refused("no store or admin claim"))
    }

    fn verified(&self, claims: &Map<String, Value>) -> Option<Verified> {
        let id = |name: &str| match claims.get(name)? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        };
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let principal = match (id(&self.settings.store_claim), id(&self.settings.admin_claim)) {
            (Some(store), None) => Principal::Store(StoreId(store)),
            (None, Some(admin)) => Principal::Admin(AdminId(admin)),
            _ => return None,
        };
        let at = |name: &str| claims.get(name).and_then(Value::as_i64).and_then(Timestamp::from_unix_seconds);
        let now = Timestamp::now();
        // Valid until `exp`, plus the skew it was accepted with.
        let expires_at = at("exp")?.plus_seconds(LEEWAY_SECONDS as i64);
        let grant = TokenGrant { principal, issued_at: at("iat").unwrap_or(now), expires_at: Some(expires_at) };
        let store = match principal {
            Principal::Store(id) => StoreAccount {
                id,
                name: text("name").unwrap_or_else(|| format!("Store {id}")),
                logo_url: text("picture").filter(|url| url.starts_with("https://")).unwrap_or_default(),
                email: text("email").unwrap_or_default(),
                locale: text("locale"),
            }
            .validated()
            .ok(),
            Principal::Admin(_) => None,
        };
        Some(Verified { grant, store })
    }

    /// The key `kid` names, fetching the set again if it is unknown or old.
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, ChatError> {
        let mut keys = self.keys.lock().await;
        let stale = keys.fetched_at.is_none_or(|at| at.elapsed() > KEYS_MAX_AGE);
        while keys.fetches.front().is_some_and(|at| at.elapsed() > Duration::from_secs(60)) {
            keys.fetches.pop_front();
        }
        let may_fetch = keys.fetches.len() < MAX_FETCHES_PER_MINUTE;
        if stale || (keys.set.find(kid).is_none() && may_fetch) {
            keys.set = self.fetch().await?;
            keys.fetched_at = Some(Instant::now());
            keys.fetches.push_back(Instant::now());
        }
        Ok(keys.set.find(kid).and_then(|jwk| DecodingKey::from_jwk(jwk).ok()))
    }

    async fn fetch(&self) -> Result<JwkSet, ChatError> {
        let fetched = async { self.client.get(&self.settings.jwks_url).send().await?.error_for_status()?.json().await };
        fetched.await.map_err(|error: reqwest::Error| {
            tracing::error!(error = %error.without_url(), "could not fetch the identity provider's keys");
            ChatError::Unavailable
        })
    }
}
