//! Tokens: opaque random strings handed out once, stored only as SHA-256 hashes, and
//! resolved to a principal through a short per-instance cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::domain::TokenHash;
use crate::domain::{AccountState, Principal, StoreAccount, StoreId, TokenGrant};
use crate::jwt::{JwtSettings, JwtVerifier, looks_like_jwt};
use crate::storage::IdentityStore;
use crate::{ChatError, Timestamp};

/// How long a resolved token is trusted without asking storage again: a revoked token
/// stops working within this time.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(60);

/// A new token: 256 bits from the operating system's generator, hex-encoded.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    hex::encode(bytes)
}

/// Which `Authorization` schemes a route accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schemes {
    /// `Token <t>`.
    Token,
    /// `Token <t>`, `Bearer <t>`, or `Basic` with the token as the password (the
    /// SuperOffice-compatible route).
    SuperOffice,
}

/// What an `Authorization` header presents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials<'a> {
    Token(&'a str),
    /// `Basic <base64 of user:token>`: the user name must be the id of the store or admin the
    /// token stands for, so that a token pasted under someone else's name is refused.
    Basic {
        user: String,
        token: String,
    },
}

/// The credentials of an `Authorization` header value, if it uses a scheme the route accepts;
/// SuperOffice's `SoTicket` is refused with a message that says what to use instead.
pub fn credentials(value: &str, schemes: Schemes) -> Result<Credentials<'_>, ChatError> {
    if let Some(token) = token_from_header(value, schemes) {
        return Ok(Credentials::Token(token));
    }
    let (scheme, rest) = value.trim().split_once(' ').ok_or(ChatError::Unauthorized)?;
    match schemes {
        Schemes::SuperOffice if scheme.eq_ignore_ascii_case("Basic") => {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok();
            let text = decoded.and_then(|bytes| String::from_utf8(bytes).ok()).ok_or(ChatError::Unauthorized)?;
            match text.split_once(':') {
                Some((user, token)) if !token.is_empty() => {
                    Ok(Credentials::Basic { user: user.to_owned(), token: token.to_owned() })
                }
                _ => Err(ChatError::Unauthorized),
            }
        }
        Schemes::SuperOffice if scheme.eq_ignore_ascii_case("SoTicket") => Err(ChatError::SoTicketRefused),
        _ => Err(ChatError::Unauthorized),
    }
}

/// The token carried by an `Authorization` header value, if it uses an accepted scheme.
pub fn token_from_header(value: &str, schemes: Schemes) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let accepted = scheme.eq_ignore_ascii_case("Token")
        || (schemes == Schemes::SuperOffice && scheme.eq_ignore_ascii_case("Bearer"));
    let token = token.trim();
    (accepted && !token.is_empty()).then_some(token)
}

/// Resolves tokens to principals, remembering answers for [`TOKEN_CACHE_TTL`], and never
/// past a token's expiry.
pub struct Authenticator {
    store: Arc<dyn IdentityStore>,
    cache: Mutex<HashMap<TokenHash, (TokenGrant, Instant)>>,
    jwt: Option<JwtVerifier>,
    /// The accounts the JWTs of stores not yet provisioned describe, by store.
    unprovisioned: Mutex<HashMap<StoreId, StoreAccount>>,
}

impl Authenticator {
    pub fn new(store: Arc<dyn IdentityStore>) -> Self {
        Authenticator { store, cache: Mutex::default(), jwt: None, unprovisioned: Mutex::default() }
    }

    /// Accepting also the JWTs of the platform's identity provider, if it has one.
    pub fn with_jwt(self, settings: Option<JwtSettings>) -> Self {
        Authenticator { jwt: settings.map(JwtVerifier::new), ..self }
    }

    /// Whether `token` is one of the platform's JWTs, to be verified rather than looked up.
    pub fn is_platform_jwt(&self, token: &str) -> bool {
        self.jwt.is_some() && looks_like_jwt(token)
    }

    /// The account a store's JWT described, if the store was not provisioned when it was
    /// verified: what a use case that needs the store's profile provisions it with.
    pub fn take_claimed_account(&self, store: StoreId) -> Option<StoreAccount> {
        self.unprovisioned.lock().unwrap_or_else(|p| p.into_inner()).remove(&store)
    }

    /// An account taken and not provisioned after all (storage failed), for the next request.
    pub fn keep_claimed_account(&self, account: StoreAccount) {
        self.unprovisioned.lock().unwrap_or_else(|p| p.into_inner()).insert(account.id, account);
    }

    /// The principal behind `token`; unknown, revoked or expired tokens are `Unauthorized`.
    pub async fn principal(&self, token: &str) -> Result<Principal, ChatError> {
        Ok(self.grant(token).await?.principal)
    }

    /// What `token` was granted (or, for a platform's JWT, what it grants), while it is valid.
    pub async fn grant(&self, token: &str) -> Result<TokenGrant, ChatError> {
        match &self.jwt {
            Some(jwt) if looks_like_jwt(token) => self.verified_jwt(jwt, token).await,
            _ => self.grant_of(TokenHash::of(token)).await,
        }
    }

    /// A JWT, verified once per [`TOKEN_CACHE_TTL`] (and never past its expiry). An account
    /// that was deactivated is refused; a store with no profile yet is remembered with the
    /// account its claims describe.
    async fn verified_jwt(&self, jwt: &JwtVerifier, token: &str) -> Result<TokenGrant, ChatError> {
        let hash = TokenHash::of(token);
        if let Some(grant) = self.cached(&hash) {
            return if grant.valid_at(Timestamp::now()) { Ok(grant) } else { Err(ChatError::Unauthorized) };
        }
        let verified = jwt.verify(token).await?;
        let principal = verified.grant.principal;
        match (self.store.account_state(principal).await?, principal, verified.store) {
            (AccountState::Active, ..) => {}
            (AccountState::Missing, Principal::Store(id), Some(account)) => {
                self.unprovisioned.lock().unwrap_or_else(|p| p.into_inner()).insert(id, account);
            }
            _ => return Err(ChatError::Unauthorized),
        }
        self.remember(hash, verified.grant);
        Ok(verified.grant)
    }

    /// The principal behind the token with this hash (a WebSocket connection's, whose
    /// frames carry no token); unknown, revoked or expired ones are `Unauthorized`.
    pub async fn principal_of(&self, hash: TokenHash) -> Result<Principal, ChatError> {
        Ok(self.grant_of(hash).await?.principal)
    }

    async fn grant_of(&self, hash: TokenHash) -> Result<TokenGrant, ChatError> {
        let now = Timestamp::now();
        let grant = match self.cached(&hash) {
            Some(grant) => grant,
            None => {
                let grant = self.store.token_grant(&hash).await?.ok_or(ChatError::Unauthorized)?;
                self.remember(hash, grant);
                grant
            }
        };
        if grant.valid_at(now) { Ok(grant) } else { Err(ChatError::Unauthorized) }
    }

    /// Caches `grant`, forgetting what is too old or expired.
    fn remember(&self, hash: TokenHash, grant: TokenGrant) {
        let (now, cached_at) = (Timestamp::now(), Instant::now());
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, (grant, at)| cached_at.duration_since(*at) < TOKEN_CACHE_TTL && grant.valid_at(now));
        cache.insert(hash, (grant, cached_at));
    }

    fn cached(&self, hash: &TokenHash) -> Option<TokenGrant> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(hash).filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL).map(|(grant, _)| *grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AdminId;
    use crate::storage::{IdentityStore, MemoryStore};

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (generate_token(), generate_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(TokenHash::of("abc").as_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(!format!("{:?}", TokenHash::of(&a)).contains(&TokenHash::of(&a).as_hex()[8..]));
    }

    #[test]
    fn header_schemes() {
        assert_eq!(token_from_header("Token abc", Schemes::Token), Some("abc"));
        assert_eq!(token_from_header("token  abc ", Schemes::Token), Some("abc"));
        assert_eq!(token_from_header("Bearer abc", Schemes::Token), None);
        assert_eq!(token_from_header("Bearer abc", Schemes::SuperOffice), Some("abc"));
        assert_eq!(token_from_header("Token", Schemes::Token), None);
        assert_eq!(token_from_header("Token ", Schemes::Token), None);
        assert_eq!(token_from_header("Basic dXNlcg==", Schemes::SuperOffice), None);
    }

    #[test]
    fn basic_carries_the_token_as_its_password_and_soticket_is_refused_clearly() {
        // The seed's example header: user `tje0`, password `Tje0`.
        let seed = Credentials::Basic { user: "tje0".into(), token: "Tje0".into() };
        assert_eq!(credentials("Basic dGplMDpUamUw", Schemes::SuperOffice), Ok(seed));
        assert_eq!(credentials("Basic dGplMDpUamUw", Schemes::Token), Err(ChatError::Unauthorized));
        assert_eq!(credentials("Bearer abc", Schemes::SuperOffice), Ok(Credentials::Token("abc")));
        for wrong in ["Basic", "Basic !!!", "Basic dGplMA==", "Basic dGplMDo=", "Digest abc"] {
            assert_eq!(credentials(wrong, Schemes::SuperOffice), Err(ChatError::Unauthorized), "{wrong}");
        }
        assert_eq!(credentials("SoTicket 7T:abc", Schemes::SuperOffice), Err(ChatError::SoTicketRefused));
        assert_eq!(credentials("SoTicket 7T:abc", Schemes::Token), Err(ChatError::Unauthorized));
    }

    #[tokio::test]
    async fn resolves_caches_and_rejects() {
        let store = Arc::new(MemoryStore::new());
        store.put_token(&TokenHash::of("t1"), Principal::Admin(AdminId(2))).await.unwrap();
        let auth = Authenticator::new(store.clone());
        assert_eq!(auth.principal("t1").await, Ok(Principal::Admin(AdminId(2))));
        assert_eq!(auth.principal("nope").await, Err(ChatError::Unauthorized));
        // Revocation is seen once the cached answer expires, not before.
        store.revoke_token(&TokenHash::of("t1")).await.unwrap();
        assert_eq!(auth.principal("t1").await, Ok(Principal::Admin(AdminId(2))));
        auth.cache.lock().unwrap().values_mut().for_each(|(_, at)| *at -= TOKEN_CACHE_TTL);
        assert_eq!(auth.principal("t1").await, Err(ChatError::Unauthorized));
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_even_from_the_cache() {
        let store = Arc::new(MemoryStore::new());
        let now = Timestamp::now();
        let principal = Principal::Store(crate::domain::StoreId(5));
        let grant = TokenGrant { principal, issued_at: now, expires_at: Some(now.plus_seconds(60)) };
        store.grant_token(&TokenHash::of("short"), &grant).await.unwrap();
        let auth = Authenticator::new(store.clone());
        assert_eq!(auth.principal("short").await, Ok(principal));
        // The cached grant, as it would be a minute later.
        auth.cache.lock().unwrap().values_mut().for_each(|(grant, _)| grant.expires_at = Some(now));
        assert_eq!(auth.principal("short").await, Err(ChatError::Unauthorized));
        let expired = TokenGrant { expires_at: Some(now), ..grant };
        store.grant_token(&TokenHash::of("old"), &expired).await.unwrap();
        assert_eq!(auth.principal("old").await, Err(ChatError::Unauthorized));
    }
}
