//! One WebSocket connection, from the upgrade request through its frames to `$disconnect`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use http::header::{CONNECTION, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL};
use http::header::{SEC_WEBSOCKET_VERSION, UPGRADE, USER_AGENT};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::event::{ConnectionInfo, connect_event, disconnect_event, message_event};
use super::registry::Outgoing;
use super::{Gateway, json_response, new_id};
use crate::invoke::Api;

/// How long a client gets to answer the gateway's close frame before the socket is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// API Gateway's frame and message size limits; a client exceeding them is disconnected (1009).
const MAX_FRAME_BYTES: usize = 32 * 1024;
const MAX_MESSAGE_BYTES: usize = 128 * 1024;

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// A close code and reason, as `$disconnect` reports them.
type Closing = (u16, String);

fn header_has_token(headers: &HeaderMap, name: http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

pub fn wants_websocket(headers: &HeaderMap) -> bool {
    header_has_token(headers, UPGRADE, "websocket")
}

fn bad_request(message: &str) -> Response<Full<Bytes>> {
    json_response(StatusCode::BAD_REQUEST, &json!({ "message": message }))
}

/// Accepts or refuses the upgrade as `$connect` decides; an accepted connection is
/// registered before the 101 goes out, so functions can push to it as soon as the client
/// sees it open.
pub async fn upgrade(gateway: Arc<Gateway>, mut request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let headers = request.headers();
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY).cloned() else {
        return bad_request("Sec-WebSocket-Key is required");
    };
    if request.method() != http::Method::GET || !header_has_token(headers, CONNECTION, "upgrade") {
        return bad_request("a WebSocket upgrade is a GET with Connection: Upgrade");
    }
    if headers.get(SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        return bad_request("Sec-WebSocket-Version must be 13");
    }
    // The function's request URL is built from Host; one that is no host name would not parse.
    let host_ok = headers.get(HOST).is_none_or(|host| {
        !host.is_empty() && host.as_bytes().iter().all(|&b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    });
    if !host_ok {
        return bad_request("Host is not a host name");
    }
    let on_upgrade = hyper::upgrade::on(&mut request);
    let (parts, _) = request.into_parts();
    let connection = ConnectionInfo {
        id: new_id(),
        connected_at: OffsetDateTime::now_utc(),
        source_ip: peer.ip().to_string(),
        user_agent: parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        domain_name: gateway.domain_name.clone(),
    };
    let mut accepted = Response::new(Full::default());
    if let Some(binary) = &gateway.routes.connect {
        let Some(response) = invoke(&gateway, binary, connect_event(&connection, &parts)).await else {
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "message": "Internal server error" }));
        };
        let (parts, body) = response.into_parts();
        if !parts.status.is_success() {
            return Response::from_parts(parts, Full::new(body));
        }
        // A client offering subprotocols needs the one the function chose.
        if let Some(protocol) = parts.headers.get(SEC_WEBSOCKET_PROTOCOL) {
            accepted.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, protocol.clone());
        }
    }
    let (outbox, outbox_rx) = mpsc::unbounded_channel();
    gateway.connections.insert(connection.clone(), outbox);
    tokio::spawn(run(gateway, connection, on_upgrade, outbox_rx));

    *accepted.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = accepted.headers_mut();
    headers.insert(UPGRADE, http::HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, http::HeaderValue::from_static("Upgrade"));
    let accept = derive_accept_key(key.as_bytes());
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept.parse().expect("base64 is a valid header value"));
    accepted
}

/// One invocation of the function built from `binary`; `None` when it gave no response
/// (logged).
async fn invoke(gateway: &Gateway, binary: &str, event: Value) -> Option<Response<Bytes>> {
    gateway.functions.invoke(binary, Api::WebSocket, event).await
}

async fn run(
    gateway: Arc<Gateway>,
    connection: ConnectionInfo,
    on_upgrade: OnUpgrade,
    outbox: mpsc::UnboundedReceiver<Outgoing>,
) {
    let (code, reason) = match on_upgrade.await {
        Ok(upgraded) => {
            let config = WebSocketConfig::default()
                .max_frame_size(Some(MAX_FRAME_BYTES))
                .max_message_size(Some(MAX_MESSAGE_BYTES));
            let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
            converse(&gateway, &connection, socket, outbox).await
        }
        Err(error) => {
            tracing::debug!(%error, "the upgrade did not complete");
            abnormal()
        }
    };
    gateway.connections.remove(&connection.id);
    if let Some(binary) = &gateway.routes.disconnect {
        invoke(&gateway, binary, disconnect_event(&connection, code, &reason)).await;
    }
}

fn abnormal() -> Closing {
    (1006, "Connection was closed abnormally".into())
}

/// Reads frames until the socket closes; returns how it closed. Each frame is its own
/// invocation, running beside the others as at API Gateway, so a slow frame holds up
/// neither the reading nor the connection's other frames.
async fn converse(
    gateway: &Arc<Gateway>,
    connection: &ConnectionInfo,
    socket: Socket,
    outbox: mpsc::UnboundedReceiver<Outgoing>,
) -> Closing {
    let (sink, mut frames) = socket.split();
    let (close_sent_tx, mut close_sent) = oneshot::channel();
    tokio::spawn(write(sink, outbox, close_sent_tx));
    let (id, limits) = (connection.id.as_str(), gateway.limits);
    let idle = sleep(limits.idle);
    let lifetime = sleep(limits.lifetime);
    // Armed once the gateway's close frame is out; until then it is never polled.
    let grace = sleep(limits.lifetime);
    tokio::pin!(idle, lifetime, grace);
    let (mut ours, mut theirs): (Option<Closing>, Option<Closing>) = (None, None);
    let (mut closing, mut writer_done) = (false, false);
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                None => break,
                Some(Ok(Message::Text(text))) => {
                    idle.as_mut().reset(Instant::now() + limits.idle);
                    gateway.connections.touch(id);
                    spawn_delivery(gateway, connection, text.as_str().to_owned(), false);
                }
                Some(Ok(Message::Binary(data))) => {
                    idle.as_mut().reset(Instant::now() + limits.idle);
                    gateway.connections.touch(id);
                    match String::from_utf8(data.to_vec()) {
                        Ok(text) => spawn_delivery(gateway, connection, text, false),
                        Err(_) => spawn_delivery(gateway, connection, BASE64_STANDARD.encode(&data), true),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    theirs = Some(match frame {
                        Some(frame) => (frame.code.into(), frame.reason.to_string()),
                        None => (1005, "Client-side close frame status not set".into()),
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(WsError::Capacity(error))) => {
                    // The rest of the oversized frame cannot be parsed: close without reading on.
                    tracing::debug!(%error, connection = id, "frame over API Gateway's limits");
                    let too_big: Closing = (1009, "Message too big".into());
                    gateway.connections.close(id, too_big.0, &too_big.1);
                    return ours.unwrap_or(too_big);
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, connection = id, "websocket failed");
                    break;
                }
            },
            _ = &mut idle, if !closing => {
                closing = true;
                gateway.connections.close(id, 1001, "Going away");
            }
            _ = &mut lifetime, if !closing => {
                closing = true;
                gateway.connections.close(id, 1001, "Going away");
            }
            sent = &mut close_sent, if !writer_done => {
                writer_done = true;
                if let Ok(sent) = sent {
                    closing = true;
                    ours = Some(sent);
                    grace.as_mut().reset(Instant::now() + CLOSE_GRACE);
                }
            }
            _ = &mut grace, if ours.is_some() => break,
        }
    }
    ours.or(theirs).unwrap_or_else(abnormal)
}

/// Writes what the management API and the gateway queue, in order.
async fn write(
    mut sink: SplitSink<Socket, Message>,
    mut outbox: mpsc::UnboundedReceiver<Outgoing>,
    close_sent: oneshot::Sender<Closing>,
) {
    while let Some(outgoing) = outbox.recv().await {
        match outgoing {
            Outgoing::Frame(frame) => {
                if let Err(error) = sink.send(frame).await {
                    tracing::debug!(%error, "could not write to the websocket");
                    return;
                }
            }
            Outgoing::Close(code, reason) => {
                let frame = CloseFrame { code: code.into(), reason: reason.clone().into() };
                if sink.send(Message::Close(Some(frame))).await.is_ok() {
                    let _ = close_sent.send((code, reason));
                }
                return;
            }
        }
    }
}

/// Runs the route `frame` selects, in a task of its own. The function's response goes
/// nowhere: replies travel through the management API, as there are no route responses.
fn spawn_delivery(gateway: &Arc<Gateway>, connection: &ConnectionInfo, frame: String, is_base64: bool) {
    let (gateway, connection) = (gateway.clone(), connection.clone());
    tokio::spawn(async move {
        let Some((route_key, binary)) = gateway.routes.select((!is_base64).then_some(frame.as_str())) else {
            // API Gateway's answer when no route takes a frame and there is no `$default`.
            error_frame(&gateway, &connection, "Forbidden");
            return;
        };
        let event = message_event(&connection, route_key, &frame, is_base64);
        if invoke(&gateway, binary, event).await.is_none() {
            error_frame(&gateway, &connection, "Internal server error");
        }
    });
}

fn error_frame(gateway: &Gateway, connection: &ConnectionInfo, message: &str) {
    let body = json!({ "message": message, "connectionId": connection.id, "requestId": new_id() });
    gateway.connections.send(&connection.id, Message::text(body.to_string()));
}
