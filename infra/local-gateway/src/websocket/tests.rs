//! The gateway end to end: real sockets, a real management API client, fake functions.

use std::sync::{LazyLock, Mutex};

use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures::{SinkExt, StreamExt};
use lambda_http::RequestExt;
use lambda_http::aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequestContext;
use lambda_http::request::RequestContext;
use shared::App;
use shared::config::Config;
use shared::http::{Body, HttpHandler, Request, query_param};
use shared::storage::MemoryStore;
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio::sync::{Notify, broadcast};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use super::*;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

/// `$disconnect` calls: connection id, close code, reason.
static DISCONNECTS: LazyLock<broadcast::Sender<(String, i64, String)>> = LazyLock::new(|| broadcast::channel(256).0);
/// Where `hold` frames wait until a `release` frame names the same gate. Each test uses
/// its own gate: tests run at once, and a shared one lets one test release another's frame.
static GATES: LazyLock<Mutex<HashMap<String, Arc<Notify>>>> = LazyLock::new(Default::default);

fn context(request: &Request) -> ApiGatewayWebsocketProxyRequestContext {
    match request.request_context_ref() {
        Some(RequestContext::WebSocket(context)) => context.clone(),
        other => panic!("not a WebSocket event: {other:?}"),
    }
}

fn management(endpoint: &str) -> Client {
    let config = aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDLOCAL", "secret", None, None, "test"))
        .build();
    Client::from_conf(config)
}

/// Posts `data` back to the connection the event came from, as a function would.
async fn reply(request: &Request, data: String) {
    let context = context(request);
    let endpoint = format!("http://{}/{}", context.domain_name.unwrap(), context.stage.unwrap());
    management(&endpoint)
        .post_to_connection()
        .connection_id(context.connection_id.unwrap())
        .data(Blob::new(data))
        .send()
        .await
        .expect("the caller is connected");
}

fn status(code: u16) -> Response<Body> {
    Response::builder().status(code).body(Body::Text(r#"{"message":"Unauthorized"}"#.into())).unwrap()
}

async fn connect(request: Request) -> Response<Body> {
    let context = context(&request);
    assert_eq!((context.event_type.as_deref(), context.route_key.as_deref()), (Some("CONNECT"), Some("$connect")));
    status(if query_param(&request, "token") == Some("bad") { 401 } else { 200 })
}

async fn disconnect(request: Request) -> Response<Body> {
    let context = context(&request);
    let reason = context.disconnect_reason.unwrap_or_default();
    let code = context.disconnect_status_code.unwrap_or_default();
    let _ = DISCONNECTS.send((context.connection_id.unwrap(), code, reason));
    status(200)
}

/// Tells the caller which route took its frame and what the function received.
async fn echo(request: Request) -> Response<Body> {
    let context = context(&request);
    let (text, bytes) = match request.body() {
        Body::Text(text) => (Some(text.clone()), None),
        Body::Binary(bytes) => (None, Some(bytes.clone())),
        Body::Empty => (None, None),
        _ => unreachable!("no other bodies exist"),
    };
    let report = json!({
        "route": context.route_key,
        "eventType": context.event_type,
        "connectionId": context.connection_id,
        "text": text,
        "bytes": bytes,
    });
    reply(&request, report.to_string()).await;
    status(200)
}

/// The gate a `hold` or `release` frame names: `{"action":"hold","gate":"..."}`.
fn gate(request: &Request) -> Arc<Notify> {
    let Body::Text(text) = request.body() else { panic!("hold and release frames are text") };
    let frame: Value = serde_json::from_str(text).unwrap();
    let name = frame["gate"].as_str().expect("the frame names its gate");
    GATES.lock().unwrap().entry(name.to_owned()).or_default().clone()
}

/// A frame whose invocation runs until a `release` frame opens its gate.
fn hold_frame(gate: &str) -> Message {
    Message::text(json!({ "action": "hold", "gate": gate }).to_string())
}

fn release_frame(gate: &str) -> Message {
    Message::text(json!({ "action": "release", "gate": gate }).to_string())
}

async fn hold(request: Request) -> Response<Body> {
    gate(&request).notified().await;
    reply(&request, "released".into()).await;
    status(200)
}

async fn release(request: Request) -> Response<Body> {
    gate(&request).notify_one();
    reply(&request, "releasing".into()).await;
    status(200)
}

/// The fake functions, by the binary name the routes give.
fn fake_function(binary: &str) -> Option<HttpHandler> {
    let handler: HttpHandler = match binary {
        "connect" => |_, request| Box::pin(connect(request)),
        "disconnect" => |_, request| Box::pin(disconnect(request)),
        "echo" => |_, request| Box::pin(echo(request)),
        "hold" => |_, request| Box::pin(hold(request)),
        "release" => |_, request| Box::pin(release(request)),
        _ => return None,
    };
    Some(handler)
}

fn routes(with_default: bool) -> WebSocketRoutes {
    WebSocketRoutes {
        connect: Some("connect".into()),
        disconnect: Some("disconnect".into()),
        default: with_default.then(|| "echo".into()),
        actions: ["echo", "hold", "release"].into_iter().map(|key| (key.to_owned(), key.to_owned())).collect(),
    }
}

async fn start(routes: WebSocketRoutes, limits: Limits) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Arc::new(App::new(Arc::new(MemoryStore::new()), Config::local("test", None, None)));
    let functions = Arc::new(Functions::linked(app, fake_function));
    tokio::spawn(serve_with_limits(listener, routes, functions, limits));
    port
}

async fn open(port: u16) -> Socket {
    let (socket, response) = connect_async(format!("{}?token=good", client_url(port))).await.expect("accepted");
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    socket
}

async fn next_frame(socket: &mut Socket) -> Option<Message> {
    loop {
        match timeout(WAIT, socket.next()).await.expect("a frame in time") {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(frame)) => return Some(frame),
            Some(Err(error)) => panic!("socket failed: {error}"),
            None => return None,
        }
    }
}

async fn next_text(socket: &mut Socket) -> String {
    match next_frame(socket).await {
        Some(Message::Text(text)) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

async fn next_json(socket: &mut Socket) -> Value {
    serde_json::from_str(&next_text(socket).await).unwrap()
}

/// The connection's id, as the functions see it.
async fn connection_id(socket: &mut Socket) -> String {
    socket.send(Message::text(r#"{"action":"echo"}"#)).await.unwrap();
    next_json(socket).await["connectionId"].as_str().unwrap().to_owned()
}

async fn disconnected(events: &mut broadcast::Receiver<(String, i64, String)>, id: &str) -> (i64, String) {
    timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok((seen, code, reason)) if seen == id => return (code, reason),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(error) => panic!("{error}"),
            }
        }
    })
    .await
    .expect("$disconnect in time")
}

#[tokio::test]
async fn a_refused_connect_is_the_status_the_client_sees() {
    let port = start(routes(true), Limits::default()).await;
    match connect_async(format!("{}?token=bad", client_url(port))).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
            assert_eq!(body, r#"{"message":"Unauthorized"}"#);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn other_paths_are_forbidden_and_the_root_is_the_stage() {
    let port = start(routes(true), Limits::default()).await;
    match connect_async(format!("ws://127.0.0.1:{port}/prod?token=good")).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), StatusCode::FORBIDDEN),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (mut socket, _) = connect_async(format!("ws://127.0.0.1:{port}/?token=good")).await.expect("accepted");
    assert!(!connection_id(&mut socket).await.is_empty());
}

#[tokio::test]
async fn an_upgrade_over_api_gateways_url_limit_is_a_json_414() {
    let port = start(routes(true), Limits::default()).await;
    let url = format!("{}?token=good&pad={}", client_url(port), "x".repeat(9 * 1024));
    match connect_async(url).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
            assert_eq!(response.headers()[http::header::CONTENT_TYPE], "application/json");
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(body, json!({ "message": "Request-URI Too Long" }));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn frames_go_to_the_route_their_action_names() {
    let port = start(routes(true), Limits::default()).await;
    let mut socket = open(port).await;
    let frames = [
        Message::text(r#"{"action":"echo","n":1}"#),
        Message::text(r#"{"action":"nope"}"#),
        Message::text("not json"),
        Message::text(r#"{"action":7}"#),
        Message::text(r#"["echo"]"#),
        Message::binary(br#"{"action":"echo","n":2}"#.to_vec()),
        Message::binary(vec![0xff, 0x00]),
    ];
    for frame in frames {
        socket.send(frame).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..7 {
        let report = next_json(&mut socket).await;
        assert_eq!(report["eventType"], "MESSAGE");
        seen.push((report["route"].as_str().unwrap().to_owned(), report["text"].clone(), report["bytes"].clone()));
    }
    let expected = [
        ("echo", json!(r#"{"action":"echo","n":1}"#), Value::Null),
        ("$default", json!(r#"{"action":"nope"}"#), Value::Null),
        ("$default", json!("not json"), Value::Null),
        ("$default", json!(r#"{"action":7}"#), Value::Null),
        ("$default", json!(r#"["echo"]"#), Value::Null),
        ("echo", json!(r#"{"action":"echo","n":2}"#), Value::Null),
        ("$default", Value::Null, json!([255, 0])),
    ];
    let mut expected: Vec<_> =
        expected.into_iter().map(|(route, text, bytes)| (route.to_owned(), text, bytes)).collect();
    // Each frame is its own invocation: they may finish in any order.
    let key = |(route, text, bytes): &(String, Value, Value)| format!("{route} {text} {bytes}");
    seen.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_connections_frames_run_beside_each_other() {
    let port = start(routes(true), Limits::default()).await;
    let mut socket = open(port).await;
    socket.send(hold_frame("beside")).await.unwrap();
    // The held frame's invocation is still running, yet the next frame is answered.
    socket.send(Message::text(r#"{"action":"echo","n":1}"#)).await.unwrap();
    assert_eq!(next_json(&mut socket).await["text"], json!(r#"{"action":"echo","n":1}"#));
    socket.send(release_frame("beside")).await.unwrap();
    let mut last = [next_text(&mut socket).await, next_text(&mut socket).await];
    last.sort();
    assert_eq!(last, ["released", "releasing"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_frames_is_answered_frame_by_frame() {
    const BURST: usize = 1000;
    let port = start(routes(true), Limits::default()).await;
    let mut socket = open(port).await;
    for n in 0..BURST {
        socket.send(Message::text(json!({"action": "echo", "n": n}).to_string())).await.unwrap();
    }
    let mut answered = std::collections::BTreeSet::new();
    for _ in 0..BURST {
        let report = next_json(&mut socket).await;
        let frame: Value = serde_json::from_str(report["text"].as_str().unwrap()).unwrap();
        answered.insert(frame["n"].as_u64().unwrap() as usize);
    }
    assert_eq!(answered, (0..BURST).collect(), "every frame answered once");
    socket.send(Message::text(r#"{"action":"echo","n":"after"}"#)).await.unwrap();
    assert_eq!(next_json(&mut socket).await["text"], json!(r#"{"action":"echo","n":"after"}"#), "still open");
}

#[tokio::test]
async fn without_default_unmatched_frames_get_forbidden() {
    let port = start(routes(false), Limits::default()).await;
    let mut socket = open(port).await;
    let id = connection_id(&mut socket).await;
    socket.send(Message::text("hello")).await.unwrap();
    let answer = next_json(&mut socket).await;
    assert_eq!((answer["message"].as_str(), answer["connectionId"].as_str()), (Some("Forbidden"), Some(id.as_str())));
}

#[tokio::test]
async fn management_api_posts_reads_and_deletes_connections() {
    let port = start(routes(true), Limits::default()).await;
    let mut socket = open(port).await;
    let id = connection_id(&mut socket).await;
    assert_eq!(id.len(), 16);
    let client = management(&management_endpoint(port));

    client.post_to_connection().connection_id(&id).data(Blob::new("pushed")).send().await.unwrap();
    assert_eq!(next_text(&mut socket).await, "pushed");

    let connection = client.get_connection().connection_id(&id).send().await.unwrap();
    assert_eq!(connection.identity().and_then(|identity| identity.source_ip()), Some("127.0.0.1"));
    let (connected, active) = (connection.connected_at().unwrap(), connection.last_active_at().unwrap());
    assert!(active.as_nanos() >= connected.as_nanos());
    assert!((OffsetDateTime::now_utc().unix_timestamp() - connected.secs()).abs() < 60);

    let mut disconnects = DISCONNECTS.subscribe();
    client.delete_connection().connection_id(&id).send().await.unwrap();
    match next_frame(&mut socket).await {
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(next_frame(&mut socket).await.is_none(), "the socket ends after the close handshake");
    assert_eq!(disconnected(&mut disconnects, &id).await.0, 1000);
    let error = client.get_connection().connection_id(&id).send().await.unwrap_err();
    assert!(error.into_service_error().is_gone_exception());
}

#[tokio::test]
async fn unknown_connections_are_gone() {
    let port = start(routes(true), Limits::default()).await;
    let client = management(&management_endpoint(port));
    let id = "AAAAAAAAAAAAAAA=";
    let post = client.post_to_connection().connection_id(id).data(Blob::new("x")).send().await.unwrap_err();
    assert!(post.into_service_error().is_gone_exception());
    let get = client.get_connection().connection_id(id).send().await.unwrap_err();
    assert!(get.into_service_error().is_gone_exception());
    let delete = client.delete_connection().connection_id(id).send().await.unwrap_err();
    assert!(delete.into_service_error().is_gone_exception());
}

#[tokio::test]
async fn a_client_close_calls_disconnect_with_its_code() {
    let port = start(routes(true), Limits::default()).await;
    let mut socket = open(port).await;
    let id = connection_id(&mut socket).await;
    let mut disconnects = DISCONNECTS.subscribe();
    let frame = CloseFrame { code: CloseCode::Away, reason: "bye".into() };
    socket.close(Some(frame)).await.unwrap();
    assert_eq!(disconnected(&mut disconnects, &id).await, (1001, "bye".to_owned()));
    let client = management(&management_endpoint(port));
    let error = client.post_to_connection().connection_id(&id).data(Blob::new("x")).send().await.unwrap_err();
    assert!(error.into_service_error().is_gone_exception());
}

#[tokio::test]
async fn a_dropped_socket_calls_disconnect_as_abnormal() {
    let port = start(routes(true), Limits::default()).await;
    let mut socket = open(port).await;
    let id = connection_id(&mut socket).await;
    let mut disconnects = DISCONNECTS.subscribe();
    drop(socket);
    assert_eq!(disconnected(&mut disconnects, &id).await.0, 1006);
}

#[tokio::test]
async fn connections_are_served_concurrently() {
    let port = start(routes(true), Limits::default()).await;
    let (mut held, mut releasing) = (open(port).await, open(port).await);
    held.send(hold_frame("across")).await.unwrap();
    releasing.send(release_frame("across")).await.unwrap();
    assert_eq!(next_text(&mut releasing).await, "releasing");
    assert_eq!(next_text(&mut held).await, "released");
}

#[tokio::test]
async fn idle_connections_are_closed_as_going_away() {
    let limits = Limits { idle: Duration::from_millis(300), ..Limits::default() };
    let port = start(routes(true), limits).await;
    let mut socket = open(port).await;
    let id = connection_id(&mut socket).await;
    let mut disconnects = DISCONNECTS.subscribe();
    match next_frame(&mut socket).await {
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(next_frame(&mut socket).await.is_none(), "the socket ends after the close handshake");
    assert_eq!(disconnected(&mut disconnects, &id).await, (1001, "Going away".to_owned()));
}

#[tokio::test]
async fn oversized_frames_close_the_connection() {
    let port = start(routes(true), Limits::default()).await;
    let mut socket = open(port).await;
    let id = connection_id(&mut socket).await;
    let mut disconnects = DISCONNECTS.subscribe();
    socket.send(Message::text("x".repeat(33 * 1024))).await.unwrap();
    assert_eq!(disconnected(&mut disconnects, &id).await.0, 1009);
}

#[test]
fn the_template_routes_map_to_handlers() {
    let template = Template::embedded();
    let app = Arc::new(App::new(Arc::new(MemoryStore::new()), Config::local("test", None, None)));
    let linked = Functions::linked(app.clone(), functions::handler);
    let routes = WebSocketRoutes::from_template(&template, &linked).expect("every function runs");
    assert_eq!(routes.len(), template.websocket_routes().unwrap().len());
    assert!(routes.connect.is_some() && routes.disconnect.is_some() && routes.default.is_some());
    assert!(routes.actions.keys().all(|key| !key.starts_with('$')));
    let refused = WebSocketRoutes::from_template(&template, &Functions::linked(app, |_| None));
    assert!(refused.is_err_and(|error| error.contains("cannot run")));
}
