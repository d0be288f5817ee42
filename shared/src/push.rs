//! Live delivery: posting events to WebSocket connections through API Gateway's
//! `@connections` API, and fanning an event out to everyone who should see it.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apigatewaymanagement::error::{DisplayErrorContext, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures::future::join_all;
use serde::Serialize;

use crate::Timestamp;
use crate::domain::{Audience, MessageView, ReceiptView, SenderType, SessionId, SessionSummary};
use crate::storage::ChatStore;
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
    /// For the deployed stage (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).endpoint_url(endpoint).build();
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
            .timeout_config(crate::deadline::timeouts())
            .retry_config(crate::deadline::retries())
            .build();
        ApiGatewayPush { client: Client::from_conf(config) }
    }
}

#[async_trait]
impl Push for ApiGatewayPush {
    async fn post(&self, connection_id: &str, data: &[u8]) -> Result<(), PushError> {
        telemetry::record_push();
        let sent = self.client.post_to_connection().connection_id(connection_id).data(Blob::new(data)).send().await;
        match sent {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_gone_exception() => Err(PushError::Gone),
            Err(e) => Err(PushError::Failed(DisplayErrorContext(&e).to_string())),
        }
    }

    async fn disconnect(&self, connection_id: &str) -> Result<(), PushError> {
        telemetry::record_disconnect();
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

/// What the server sends over a WebSocket (API.md, "Server → client events").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum ServerEvent {
    #[serde(rename = "message.created")]
    MessageCreated { message: MessageView },
    #[serde(rename = "message.status")]
    MessageStatus(ReceiptView),
    #[serde(rename = "session.updated")]
    SessionUpdated { session: Box<SessionSummary> },
    #[serde(rename = "typing")]
    Typing { session_id: SessionId, sender_type: SenderType, state: TypingState },
    #[serde(rename = "pong")]
    Pong,
    #[serde(rename = "error")]
    Error { error: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypingState {
    On,
    Off,
}

impl ServerEvent {
    fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events serialise to JSON")
    }
}

/// Fans events out to the live connections of their audiences.
pub struct Live {
    store: Arc<dyn ChatStore>,
    push: Arc<dyn Push>,
}

impl Live {
    pub fn new(store: Arc<dyn ChatStore>, push: Arc<dyn Push>) -> Self {
        Live { store, push }
    }

    /// Posts each event to every live connection of its audience, in parallel: one index
    /// read per audience, then the posts. A connection API Gateway says is gone is
    /// forgotten; any other failure is logged and the rest go on, because the state change
    /// that caused the event is already stored and fetchable. Returns the audiences that at
    /// least one post reached.
    pub async fn publish(&self, events: &[(Audience, ServerEvent)]) -> HashSet<Audience> {
        let now = Timestamp::now();
        let lookups = join_all(events.iter().map(|(audience, _)| self.store.connections_of(*audience, now))).await;
        let mut posts = Vec::new();
        let mut sent: HashSet<(String, usize)> = HashSet::new();
        for (index, ((audience, event), connections)) in events.iter().zip(lookups).enumerate() {
            let connections = match connections {
                Ok(connections) => connections,
                Err(error) => {
                    tracing::warn!(%error, ?audience, "could not look up live connections");
                    continue;
                }
            };
            let payload = event.to_json();
            // The same event can reach one connection through two audiences (an admin and
            // all admins); it goes once.
            let same_event = events.iter().position(|(_, e)| e == event).unwrap_or(index);
            for connection in connections {
                if sent.insert((connection.connection_id.clone(), same_event)) {
                    posts.push((*audience, connection.connection_id, payload.clone()));
                }
            }
        }
        let outcomes = join_all(posts.iter().map(|(_, id, payload)| self.push.post(id, payload))).await;
        let mut reached = HashSet::new();
        let mut gone = Vec::new();
        for ((audience, id, _), outcome) in posts.iter().zip(outcomes) {
            match outcome {
                Ok(()) => {
                    reached.insert(*audience);
                }
                Err(PushError::Gone) => gone.push(id.clone()),
                Err(PushError::Failed(error)) => tracing::warn!(%error, connection = %id, "push failed"),
            }
        }
        gone.sort();
        gone.dedup();
        for outcome in join_all(gone.iter().map(|id| self.store.delete_connection(id))).await {
            if let Err(error) = outcome {
                tracing::warn!(%error, "could not forget a stale connection");
            }
        }
        reached
    }

    /// Closes a connection and forgets it. Whether API Gateway still knew it or not, it is
    /// gone afterwards; any other failure is the caller's to report.
    pub async fn disconnect(&self, connection_id: &str) -> Result<(), PushError> {
        match self.push.disconnect(connection_id).await {
            Ok(()) | Err(PushError::Gone) => {}
            Err(error) => return Err(error),
        }
        self.store.delete_connection(connection_id).await.map_err(|error| PushError::Failed(error.to_string()))
    }

    /// Posts one event to one connection (a reply to that connection alone).
    pub async fn reply(&self, connection_id: &str, event: &ServerEvent) {
        match self.push.post(connection_id, &event.to_json()).await {
            Ok(()) => {}
            Err(PushError::Gone) => {
                let _ = self.store.delete_connection(connection_id).await;
            }
            Err(PushError::Failed(error)) => tracing::warn!(%error, "reply failed"),
        }
    }
}
