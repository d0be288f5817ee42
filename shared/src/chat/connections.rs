//! Live connections: who is on the other end of one, revoking a token everywhere it is in
//! use, and closing the ones that expired.

use crate::domain::{Principal, TokenHash};
use crate::storage::StorageError;
use crate::{App, ChatError, Timestamp};

/// The principal behind a connection's frames: the one `$connect` authenticated, for as
/// long as the token the connection was opened with still resolves (through the same
/// per-instance cache as HTTP, so a revocation is seen within its lifetime).
pub async fn connection_principal(app: &App, connection_id: &str) -> Result<Principal, ChatError> {
    let connection = app.store.connection(connection_id).await?.ok_or(ChatError::Unauthorized)?;
    let token_hash = connection.token_hash.ok_or(ChatError::Unauthorized)?;
    match app.auth.principal_of(token_hash).await? {
        principal if principal == connection.principal => Ok(principal),
        _ => Err(ChatError::Unauthorized),
    }
}

/// What a revocation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Revocation {
    /// Whether the token existed.
    pub revoked: bool,
    /// Live connections opened with it, now closed.
    pub closed: usize,
    /// Live connections opened with it that could not be closed: they are refused at their
    /// next frame instead.
    pub not_closed: usize,
}

/// Revokes a token and closes every live connection opened with it, through the
/// `@connections` API. A connection is recorded only if its token still stands, in the same
/// write as a copy of it under the token; so once the token is deleted, one consistent read
/// of those copies finds every connection opened with it, however recently, and no new one
/// can be opened. An operator's action, not a route's: a storage failure is reported as it
/// is.
pub async fn revoke_token(app: &App, hash: &TokenHash) -> Result<Revocation, StorageError> {
    let revoked = app.store.revoke_token(hash).await?;
    let connections = app.store.connections_with_token(hash, Timestamp::now()).await?;
    let mut revocation = Revocation { revoked, ..Revocation::default() };
    for connection in &connections {
        match app.live.disconnect(&connection.connection_id).await {
            Ok(()) => revocation.closed += 1,
            Err(error) => {
                tracing::warn!(%error, "could not close a connection of a revoked token");
                revocation.not_closed += 1;
            }
        }
    }
    Ok(revocation)
}

/// How many expired connections one sweep closes, at most; the next sweep goes on.
pub const EXPIRED_BATCH: usize = 500;

/// Closes the connections whose expiry has passed: those of an expired token, and those
/// API Gateway should have closed already. They hear no events after their expiry anyway;
/// this ends them for the client too, which reconnects with a fresh token. Returns how many
/// were closed; one that could not be closed is forgotten all the same and refused at its
/// next frame.
pub async fn close_expired_connections(app: &App) -> Result<usize, StorageError> {
    let expired = app.store.expired_connections(Timestamp::now(), EXPIRED_BATCH).await?;
    let mut closed = 0;
    for connection in &expired {
        match app.live.disconnect(&connection.connection_id).await {
            Ok(()) => closed += 1,
            Err(error) => tracing::warn!(%error, "could not close an expired connection"),
        }
    }
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::chat::tests::{Recorder, app_over};
    use crate::domain::{AdminId, Connection, StoreId};
    use crate::storage::{ConnectionStore, IdentityStore, MemoryStore};

    #[tokio::test]
    async fn revoking_a_token_closes_its_connections_and_no_others() {
        let store = Arc::new(MemoryStore::new());
        let (revoked, kept) = (TokenHash::of("revoked"), TokenHash::of("kept"));
        store.put_token(&revoked, Principal::Store(StoreId(5))).await.unwrap();
        store.put_token(&kept, Principal::Store(StoreId(5))).await.unwrap();
        let now = Timestamp::now();
        for (id, token) in [("tab-1", &revoked), ("tab-2", &revoked), ("phone", &kept)] {
            let connection = Connection::new(id.into(), Principal::Store(StoreId(5)), token.clone(), now);
            assert!(store.open_connection(&connection).await.unwrap());
        }
        let recorder = Arc::new(Recorder::default());
        let app = app_over(&store, &recorder);

        let revocation = revoke_token(&app, &revoked).await.unwrap();
        assert_eq!(revocation, Revocation { revoked: true, closed: 2, not_closed: 0 });
        assert_eq!(*recorder.closed.lock().unwrap(), ["tab-1", "tab-2"]);
        assert_eq!(store.connection("tab-1").await.unwrap(), None);
        assert_eq!(store.principal_for(&revoked).await.unwrap(), None);
        assert_eq!(connection_principal(&app, "phone").await, Ok(Principal::Store(StoreId(5))));
        assert_eq!(revoke_token(&app, &revoked).await.unwrap(), Revocation::default());
    }

    #[tokio::test]
    async fn expired_connections_are_closed_and_live_ones_kept() {
        let store = Arc::new(MemoryStore::new());
        let token = TokenHash::of("token");
        store.put_token(&token, Principal::Store(StoreId(5))).await.unwrap();
        let now = Timestamp::now();
        let opened = |id: &str, expiry: i64| {
            Connection::new(id.into(), Principal::Store(StoreId(5)), token.clone(), now)
                .until(Timestamp::from_unix_seconds(now.unix_seconds() + expiry))
        };
        for connection in [opened("expired", -1), opened("expiring-now", 0), opened("live", 60)] {
            assert!(store.open_connection(&connection).await.unwrap());
        }
        let recorder = Arc::new(Recorder::default());
        let app = app_over(&store, &recorder);

        assert_eq!(close_expired_connections(&app).await.unwrap(), 2);
        assert_eq!(*recorder.closed.lock().unwrap(), ["expired", "expiring-now"]);
        assert!(store.connection("expired").await.unwrap().is_none());
        assert!(store.connection("live").await.unwrap().is_some());
        assert_eq!(close_expired_connections(&app).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_connection_is_refused_once_its_token_no_longer_resolves() {
        let store = Arc::new(MemoryStore::new());
        let token = TokenHash::of("token");
        store.put_token(&token, Principal::Admin(AdminId(2))).await.unwrap();
        let connection = Connection::new("tab".into(), Principal::Admin(AdminId(2)), token.clone(), Timestamp::now());
        assert!(store.open_connection(&connection).await.unwrap());
        let recorder = Arc::new(Recorder::default());
        assert_eq!(connection_principal(&app_over(&store, &recorder), "tab").await, Ok(Principal::Admin(AdminId(2))));

        // Revoked behind the connection's back (its close could not be sent): an instance
        // that has not seen the token within the cache's lifetime refuses the frame.
        store.revoke_token(&token).await.unwrap();
        let fresh_instance = app_over(&store, &recorder);
        assert_eq!(connection_principal(&fresh_instance, "tab").await, Err(ChatError::Unauthorized));
        assert_eq!(connection_principal(&fresh_instance, "nobody").await, Err(ChatError::Unauthorized));
    }
}
