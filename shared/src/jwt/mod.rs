//! Identities the platform's own identity provider vouches for: a JWT it signed stands for a
//! store or an admin as our tokens do. RS256 and ES256 by a key its JWKS publishes
//! ([`jwks`]); HS256 with a secret it shares with us through AWS Secrets Manager ([`hmac`]).
//! Verification is `jsonwebtoken`'s: issuer, audience, expiry and not-before with
//! [`LEEWAY_SECONDS`] of clock skew. `alg: none` does not parse; each algorithm is verified
//! only with its own kind of key, so an HS256 token "signed" with a public key (algorithm
//! confusion) is refused, and HS256 is refused outright unless a secret is configured.

mod hmac;
mod jwks;
mod refetch;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};

use self::hmac::HmacSecret;
pub use self::hmac::MIN_SECRET_BYTES;
use self::jwks::Jwks;
pub use self::refetch::MAX_FETCHES_PER_MINUTE;
use crate::domain::{AdminId, Principal, StoreAccount, StoreId, TokenGrant};
use crate::{ChatError, Timestamp};

/// The clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 60;

/// Which identity provider is trusted, with which keys, and which claims name the store or
/// the admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    /// Where the provider publishes its RS256/ES256 keys; without it those are refused.
    pub jwks_url: Option<String>,
    /// The Secrets Manager secret (its ARN) holding the HS256 key; without it HS256 is
    /// refused.
    pub hs256_secret_arn: Option<String>,
    /// Secrets Manager's endpoint on this machine (a local stack's); AWS's when absent.
    pub secrets_manager_endpoint: Option<String>,
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

pub struct JwtVerifier {
    settings: JwtSettings,
    jwks: Option<Jwks>,
    hmac: Option<HmacSecret>,
}

fn refused(why: &str) -> ChatError {
    tracing::info!(why, "a JWT was refused");
    ChatError::Unauthorized
}

impl JwtVerifier {
    pub fn new(settings: JwtSettings) -> Self {
        let jwks = settings.jwks_url.clone().map(Jwks::new);
        let hmac = (settings.hs256_secret_arn.clone())
            .map(|arn| HmacSecret::new(arn, settings.secrets_manager_endpoint.clone()));
        JwtVerifier { settings, jwks, hmac }
    }

    /// What `token` grants, if the provider signed it and it is valid now.
    pub async fn verify(&self, token: &str) -> Result<Verified, ChatError> {
        let header = decode_header(token).map_err(|_| refused("no readable header"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let claims = match (header.alg, &self.jwks, &self.hmac) {
            (Algorithm::RS256 | Algorithm::ES256, Some(jwks), _) => {
                let kid = header.kid.ok_or_else(|| refused("no kid"))?;
                let key = jwks.key(&kid).await?.ok_or_else(|| refused("an unknown kid"))?;
                decode::<Map<String, Value>>(token, &key, &validation)
                    .map_err(|error| refused(&format!("{:?}", error.kind())))?
                    .claims
            }
            (Algorithm::HS256, _, Some(secret)) => self.verified_hs256(secret, token, &validation).await?,
            _ => return Err(refused("an algorithm not configured")),
        };
        self.verified(&claims).ok_or_else(|| refused("no store or admin claim"))
    }

    /// The claims of an HS256 token signed with a version of the secret; read again once if
    /// none verifies it.
    async fn verified_hs256(
        &self,
        secret: &HmacSecret,
        token: &str,
        validation: &Validation,
    ) -> Result<Map<String, Value>, ChatError> {
        let mut versions = secret.versions().await?;
        loop {
            let mut outcome = Err(ErrorKind::InvalidSignature);
            for version in versions.iter() {
                let Ok(key) = DecodingKey::from_secret(version) else { continue };
                outcome = decode::<Map<String, Value>>(token, &key, validation)
                    .map(|data| data.claims)
                    .map_err(|error| error.into_kind());
                if !matches!(outcome, Err(ErrorKind::InvalidSignature)) {
                    break;
                }
            }
            match outcome {
                Ok(claims) => return Ok(claims),
                Err(ErrorKind::InvalidSignature) => match secret.reread(&versions).await? {
                    Some(newer) => versions = newer,
                    None => return Err(refused("InvalidSignature")),
                },
                Err(kind) => return Err(refused(&format!("{kind:?}"))),
            }
        }
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
}
