//! WebSocket plumbing shared by the route handlers: who is on the other end of a
//! connection, frames as JSON, and errors told to that connection alone.

use http::StatusCode;
use lambda_http::RequestExt;
use serde::de::DeserializeOwned;

use crate::domain::{Connection, Principal, TokenHash};
use crate::http::{Body, Request, Response, json};
use crate::live::ServerEvent;
use crate::{App, ChatError, Timestamp};

pub use crate::http::connection_id;

/// The answer to a frame: API Gateway sends nothing back without a route response, so
/// replies travel through the `@connections` API and this only ends the invocation.
pub fn done() -> Response<Body> {
    json(StatusCode::OK, &serde_json::json!({}))
}

/// `$connect`: a browser cannot set headers on a WebSocket, so the token comes as `?token=`.
/// A refusal is the upgrade's HTTP status.
pub async fn connect(app: &App, request: &Request) -> Result<(), ChatError> {
    let id = connection_id(request).ok_or_else(|| ChatError::bad_request("not a WebSocket event"))?;
    let token = request
        .query_string_parameters_ref()
        .and_then(|params| params.first("token"))
        .filter(|token| !token.is_empty())
        .ok_or(ChatError::Unauthorized)?;
    // The instance may trust a cached answer for the principal (a token's principal never
    // changes); whether the token still stands is checked by the write that records the
    // connection, so a revoked token gets none.
    let grant = app.auth.grant(token).await?;
    let principal = grant.principal;
    // A platform's JWT is recorded as a token until it expires, so that the connection's
    // frames (which carry no token) resolve it, and a revocation or deactivation finds it.
    if app.auth.is_platform_jwt(token) {
        app.store.grant_token(&TokenHash::of(token), &grant).await?;
    }
    let connection =
        Connection::new(id.clone(), principal, TokenHash::of(token), Timestamp::now()).until(grant.expires_at);
    if !app.store.open_connection(&connection).await? {
        return Err(ChatError::Unauthorized);
    }
    if let Principal::Admin(admin) = principal {
        crate::chat::inbox_connected(app, admin, &id).await;
    }
    Ok(())
}

/// Forgets a connection that ended; an admin's last one starts its grace before offline.
pub async fn disconnect(app: &App, request: &Request) {
    let Some(id) = connection_id(request) else { return };
    match app.store.delete_connection(&id).await {
        Ok(Some(Connection { principal: Principal::Admin(admin), .. })) => crate::chat::inbox_left(app, admin).await,
        Ok(_) => {}
        // The item expires by its TTL anyway.
        Err(error) => tracing::warn!(%error, "could not forget a connection"),
    }
}

/// The principal behind the connection a frame came from, while its token is valid.
pub async fn caller(app: &App, request: &Request) -> Result<(String, Principal), ChatError> {
    let id = connection_id(request).ok_or_else(|| ChatError::bad_request("not a WebSocket event"))?;
    let principal = crate::chat::connection_principal(app, &id).await?;
    Ok((id, principal))
}

/// The frame as `T`; a problem is a 400 that names the field.
pub fn frame<T: DeserializeOwned>(request: &Request) -> Result<T, ChatError> {
    crate::http::json_body(request)
}

/// Runs a frame's action for the connection it came from; a failure is an `error` event to
/// that connection alone, which stays usable, unless its token is no longer valid: then it
/// is closed after it is told why.
pub async fn act<F, Fut>(app: &App, request: Request, action: F) -> Response<Body>
where
    F: FnOnce(Principal, Request) -> Fut,
    Fut: Future<Output = Result<(), ChatError>>,
{
    let (connection, outcome) = match caller(app, &request).await {
        Ok((connection, principal)) => (Some(connection), action(principal, request).await),
        Err(error) => (connection_id(&request), Err(error)),
    };
    if let (Some(connection), Err(error)) = (connection, outcome) {
        app.live.reply(&connection, &ServerEvent::Error { error: error.to_string() }).await;
        if error == ChatError::Unauthorized
            && let Err(error) = app.live.disconnect(&connection).await
        {
            tracing::warn!(%error, "could not close a connection whose token is no longer valid");
        }
    }
    done()
}

/// The frame of `mark_read` and `mark_delivered`.
#[derive(serde::Deserialize)]
struct MarkFrame {
    #[serde(default)]
    session_id: Option<crate::domain::SessionId>,
    up_to_message_id: crate::domain::MessageId,
}

/// `mark_read` or `mark_delivered` from a connection: as the HTTP read mark.
pub async fn mark(app: &App, request: Request, kind: crate::domain::ReceiptKind) -> Response<Body> {
    act(app, request, |reader, request| async move {
        let frame: MarkFrame = frame(&request)?;
        crate::chat::mark_receipt(app, reader, frame.session_id, kind, frame.up_to_message_id).await.map(|_| ())
    })
    .await
}
