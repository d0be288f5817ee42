use serde::{Deserialize, Serialize};

use super::principal::{Principal, TokenHash};
use crate::Timestamp;

pub type ConnectionId = String;

/// API Gateway closes a WebSocket after two hours; an item outliving that by a few minutes
/// is stale even if `$disconnect` never ran.
pub const CONNECTION_LIFETIME_SECONDS: i64 = 2 * 60 * 60 + 5 * 60;

/// A live WebSocket connection of a store or an admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub connection_id: ConnectionId,
    pub principal: Principal,
    /// The token it was opened with: revoking the token closes the connection, and each of
    /// its frames is refused once the token no longer resolves. Absent only from connections
    /// opened before tokens were recorded with them, whose frames are refused (the client
    /// reconnects).
    #[serde(default)]
    pub token_hash: Option<TokenHash>,
    pub connected_at: Timestamp,
    /// Unix seconds after which the connection is gone for sure (the table's TTL attribute).
    pub expires_at: i64,
}

impl Connection {
    pub fn new(connection_id: ConnectionId, principal: Principal, token_hash: TokenHash, now: Timestamp) -> Self {
        Connection {
            connection_id,
            principal,
            token_hash: Some(token_hash),
            connected_at: now,
            expires_at: now.unix_seconds() + CONNECTION_LIFETIME_SECONDS,
        }
    }

    /// Opened with a token that expires at `token_expires_at`, if it does: with the token,
    /// the connection is gone (it hears no more events, and its frames are refused).
    pub fn until(mut self, token_expires_at: Option<Timestamp>) -> Self {
        if let Some(expiry) = token_expires_at {
            self.expires_at = self.expires_at.min(expiry.unix_seconds());
        }
        self
    }

    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > now.unix_seconds()
    }
}
