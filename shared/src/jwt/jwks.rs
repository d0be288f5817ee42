//! The identity provider's public keys, from its JWKS URL: cached for [`KEYS_MAX_AGE`], and
//! fetched again when a token names a key the set lacks, so a rotation needs no redeploy.

use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::Mutex;

use super::refetch::Refetches;
use crate::ChatError;

/// How long a fetched key set is used before it is fetched again.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
/// How long fetching the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(1);

struct Keys {
    set: JwkSet,
    fetched_at: Option<Instant>,
    refetches: Refetches,
}

pub(super) struct Jwks {
    url: String,
    client: reqwest::Client,
    keys: Mutex<Keys>,
}

impl Jwks {
    pub(super) fn new(url: String) -> Self {
        let client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().expect("the TLS roots load");
        let keys = Keys { set: JwkSet { keys: Vec::new() }, fetched_at: None, refetches: Refetches::default() };
        Jwks { url, client, keys: Mutex::new(keys) }
    }

    /// The key `kid` names, fetching the set again if it is unknown or old.
    pub(super) async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, ChatError> {
        let mut keys = self.keys.lock().await;
        let stale = keys.fetched_at.is_none_or(|at| at.elapsed() > KEYS_MAX_AGE);
        if stale || (keys.set.find(kid).is_none() && keys.refetches.allowed()) {
            keys.set = self.fetch().await?;
            keys.fetched_at = Some(Instant::now());
            keys.refetches.record();
        }
        Ok(keys.set.find(kid).and_then(|jwk| DecodingKey::from_jwk(jwk).ok()))
    }

    async fn fetch(&self) -> Result<JwkSet, ChatError> {
        let fetched = async { self.client.get(&self.url).send().await?.error_for_status()?.json().await };
        fetched.await.map_err(|error: reqwest::Error| {
            tracing::error!(error = %error.without_url(), "could not fetch the identity provider's keys");
            ChatError::Unavailable
        })
    }
}
