//! How live events reach a connection: API Gateway's `@connections` API, or nobody.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::retry::RetryConfig;
use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apigatewaymanagement::error::{DisplayErrorContext, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;

use crate::telemetry;

/// Why a post did not reach its connection.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The connection no longer exists (API Gateway's 410): its item is stale.
    #[error("connection is gone")]
    Gone,
    #[error("{0}")]
    Failed(String),
}

/// Posts data to one connection, or closes it.
#[async_trait]
pub trait Push: Send + Sync {
    async fn post(&self, connection_id: &str, data: &[u8]) -> Result<(), PushError>;
    /// Closes the connection (its `$disconnect` follows).
    async fn disconnect(&self, connection_id: &str) -> Result<(), PushError>;
}

/// The `@connections` API of a WebSocket API stage, through the AWS SDK.
pub struct ApiGatewayPush {
    client: Client,
}

impl ApiGatewayPush {
    /// For the deployed stage (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`),
    /// with the short budget of [`crate::deadline::push_timeouts`].
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .timeout_config(crate::deadline::push_timeouts())
            .retry_config(RetryConfig::disabled())
            .build();
        ApiGatewayPush { client: Client::from_conf(config) }
    }

    /// For `endpoint`: the local gateway's ([`Self::local`]) if it is on this machine, else a
    /// deployed stage's with the SDK's default credentials and region.
    pub async fn for_endpoint(endpoint: &str) -> Self {
        if crate::config::is_loopback_endpoint(endpoint) {
            return Self::local(endpoint);
        }
        Self::new(&crate::deadline::aws_config_loader().load().await, endpoint)
    }

    /// For the local gateway: fixed region and dummy credentials.
    pub fn local(endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "local"))
            .timeout_config(crate::deadline::push_timeouts())
            .retry_config(RetryConfig::disabled())
            .build();
        ApiGatewayPush { client: Client::from_conf(config) }
    }
}

#[async_trait]
impl Push for ApiGatewayPush {
    async fn post(&self, connection_id: &str, data: &[u8]) -> Result<(), PushError> {
        let _in_flight = telemetry::record_push();
        let sent = self.client.post_to_connection().connection_id(connection_id).data(Blob::new(data)).send().await;
        match sent {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_gone_exception() => Err(PushError::Gone),
            Err(e) => Err(PushError::Failed(DisplayErrorContext(&e).to_string())),
        }
    }

    async fn disconnect(&self, connection_id: &str) -> Result<(), PushError> {
        let _in_flight = telemetry::record_disconnect();
        match self.client.delete_connection().connection_id(connection_id).send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_gone_exception() => Err(PushError::Gone),
            Err(e) => Err(PushError::Failed(DisplayErrorContext(&e).to_string())),
        }
    }
}

/// For deployments and functions without a WebSocket API: nobody is listening.
pub struct NoPush;

#[async_trait]
impl Push for NoPush {
    async fn post(&self, _connection_id: &str, _data: &[u8]) -> Result<(), PushError> {
        Ok(())
    }

    async fn disconnect(&self, _connection_id: &str) -> Result<(), PushError> {
        Ok(())
    }
}
