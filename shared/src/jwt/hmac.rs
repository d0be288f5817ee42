//! The HS256 secret the platform signs its JWTs with, kept in AWS Secrets Manager: never in
//! the template or the environment, which hold only the secret's ARN. Both its current and
//! its previous version are read, so a rotation (`PutSecretValue`) needs no downtime: tokens
//! signed before it stay valid until they expire. Held for [`SECRET_MAX_AGE`], and read again
//! sooner when a token does not verify (the provider may sign with a newer version already).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use tokio::sync::{Mutex, OnceCell};

use super::refetch::Refetches;
use crate::ChatError;
use crate::config::is_loopback_endpoint;

/// How long a read secret is used before it is read again.
const SECRET_MAX_AGE: Duration = Duration::from_secs(300);
/// A shorter secret is refused: HS256 needs at least its hash's 256 bits (RFC 7518, 3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// The versions of the secret a token may be signed with, current first.
pub(super) type SecretVersions = Arc<[Vec<u8>]>;

struct Held {
    versions: SecretVersions,
    read_at: Option<Instant>,
    refetches: Refetches,
}

pub(super) struct HmacSecret {
    secret_id: String,
    /// Secrets Manager's endpoint on this machine (moto); AWS's when absent.
    endpoint: Option<String>,
    client: OnceCell<Client>,
    held: Mutex<Held>,
}

impl HmacSecret {
    pub(super) fn new(secret_id: String, endpoint: Option<String>) -> Self {
        let held = Held { versions: Arc::new([]), read_at: None, refetches: Refetches::default() };
        HmacSecret { secret_id, endpoint, client: OnceCell::new(), held: Mutex::new(held) }
    }

    /// The secret's versions, read again if they are old.
    pub(super) async fn versions(&self) -> Result<SecretVersions, ChatError> {
        let mut held = self.held.lock().await;
        if held.read_at.is_none_or(|at| at.elapsed() > SECRET_MAX_AGE) {
            self.read_into(&mut held).await?;
        }
        Ok(held.versions.clone())
    }

    /// Versions other than `tried`, with which a token did not verify: read again, unless
    /// another token's read since already did, or no read is allowed now. `None` when there
    /// are none.
    pub(super) async fn reread(&self, tried: &SecretVersions) -> Result<Option<SecretVersions>, ChatError> {
        let mut held = self.held.lock().await;
        if Arc::ptr_eq(&held.versions, tried) && held.refetches.allowed() {
            self.read_into(&mut held).await?;
        }
        Ok((held.versions[..] != tried[..]).then(|| held.versions.clone()))
    }

    async fn read_into(&self, held: &mut Held) -> Result<(), ChatError> {
        held.versions = self.read().await?;
        held.read_at = Some(Instant::now());
        held.refetches.record();
        Ok(())
    }

    /// `AWSCURRENT` and `AWSPREVIOUS`, side by side; a secret never rotated has no previous.
    async fn read(&self) -> Result<SecretVersions, ChatError> {
        let client = self.client().await;
        let stage = |stage: &'static str| async move {
            let _call = crate::telemetry::record_secret_read();
            client.get_secret_value().secret_id(&self.secret_id).version_stage(stage).send().await
        };
        let (current, previous) = tokio::join!(stage("AWSCURRENT"), stage("AWSPREVIOUS"));
        let current = current.map_err(|error| {
            let error = aws_sdk_secretsmanager::error::DisplayErrorContext(error);
            tracing::error!(%error, "could not read the HS256 secret");
            ChatError::Unavailable
        })?;
        let previous = match previous {
            Ok(previous) => Some(previous),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => None,
            Err(error) => {
                let error = aws_sdk_secretsmanager::error::DisplayErrorContext(error);
                tracing::warn!(%error, "could not read the HS256 secret's previous version");
                None
            }
        };
        let usable = |version: &GetSecretValueOutput| {
            let bytes = match (version.secret_string(), version.secret_binary()) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(binary)) => binary.as_ref().to_vec(),
                (None, None) => Vec::new(),
            };
            if bytes.len() < MIN_SECRET_BYTES {
                tracing::error!(bytes = bytes.len(), "the HS256 secret is too short to use");
                return None;
            }
            Some(bytes)
        };
        Ok(std::iter::once(current).chain(previous).filter_map(|version| usable(&version)).collect())
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let loader = crate::deadline::aws_config_loader();
                let sdk = match &self.endpoint {
                    Some(endpoint) if is_loopback_endpoint(endpoint) => crate::deadline::local_sdk_config(endpoint),
                    Some(endpoint) => loader.endpoint_url(endpoint).load().await,
                    None => loader.load().await,
                };
                Client::new(&sdk)
            })
            .await
    }
}
