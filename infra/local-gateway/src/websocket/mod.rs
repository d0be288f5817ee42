//! The WebSocket API of `template.yaml` on one machine: upgrades, `$connect`/`$disconnect`,
//! route selection on the frame's `action`, and the `@connections` management API the
//! functions push through, all on one port as API Gateway serves them on one domain.

mod event;
mod management;
mod registry;
mod session;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::prelude::BASE64_URL_SAFE;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sam_template::Template;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use registry::Connections;

use crate::invoke::Functions;
use crate::request_limits;

/// The stage name: the first segment of the WebSocket URL and of the management API.
pub const STAGE: &str = "local";

/// The binaries of the functions behind each route key. `None` where the API has no such
/// route: without `$connect` every upgrade is accepted, without `$default` unmatched frames
/// get API Gateway's `Forbidden` error frame.
pub struct WebSocketRoutes {
    pub connect: Option<String>,
    pub disconnect: Option<String>,
    pub default: Option<String>,
    pub actions: HashMap<String, String>,
}

impl WebSocketRoutes {
    /// The template's WebSocket routes, each served by a function `functions` runs.
    pub fn from_template(template: &Template, functions: &Functions) -> Result<Self, String> {
        let mut routes = WebSocketRoutes { connect: None, disconnect: None, default: None, actions: HashMap::new() };
        for route in template.websocket_routes().map_err(|e| e.to_string())? {
            if !functions.runs(&route.binary) {
                return Err(format!("{} is served by {}, which the gateway cannot run", route.route_key, route.binary));
            }
            let found = route.binary;
            let twice = match route.route_key.as_str() {
                "$connect" => routes.connect.replace(found).is_some(),
                "$disconnect" => routes.disconnect.replace(found).is_some(),
                "$default" => routes.default.replace(found).is_some(),
                key if key.starts_with('$') => return Err(format!("{key} is not a WebSocket route key")),
                key => routes.actions.insert(key.to_owned(), found).is_some(),
            };
            if twice {
                return Err(format!("{} is declared twice", route.route_key));
            }
        }
        Ok(routes)
    }

    pub fn len(&self) -> usize {
        [&self.connect, &self.disconnect, &self.default].iter().filter(|route| route.is_some()).count()
            + self.actions.len()
    }

    /// Route selection for `RouteSelectionExpression: $request.body.action`: the action
    /// route when the frame is a JSON object whose string `action` names one, else `$default`.
    fn select(&self, frame: Option<&str>) -> Option<(&str, &str)> {
        let action = frame
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .and_then(|value| value.get("action")?.as_str().map(str::to_owned));
        if let Some((key, binary)) = action.and_then(|action| self.actions.get_key_value(&action)) {
            return Some((key, binary));
        }
        self.default.as_deref().map(|binary| ("$default", binary))
    }
}

/// Where the functions reach `@connections` (what `WEBSOCKET_ENDPOINT` holds when deployed).
pub fn management_endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}/{STAGE}")
}

/// The URL clients open.
pub fn client_url(port: u16) -> String {
    format!("ws://127.0.0.1:{port}/{STAGE}")
}

/// API Gateway's connection limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Without a data frame from the client for this long, the connection is closed.
    pub idle: Duration,
    /// No connection lives longer.
    pub lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { idle: Duration::from_secs(10 * 60), lifetime: Duration::from_secs(2 * 60 * 60) }
    }
}

struct Gateway {
    routes: WebSocketRoutes,
    functions: Arc<Functions>,
    connections: Connections,
    /// The `domainName` of events: what functions would build a callback URL from.
    domain_name: String,
    limits: Limits,
}

pub async fn serve(
    listener: TcpListener,
    routes: WebSocketRoutes,
    functions: Arc<Functions>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    serve_with_limits(listener, routes, functions, Limits::default()).await
}

pub async fn serve_with_limits(
    listener: TcpListener,
    routes: WebSocketRoutes,
    functions: Arc<Functions>,
    limits: Limits,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let domain_name = listener.local_addr()?.to_string();
    let gateway = Arc::new(Gateway { routes, functions, connections: Connections::default(), domain_name, limits });
    loop {
        let (stream, peer) = listener.accept().await?;
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(handle(gateway, request, peer).await) }
            });
            let connection =
                request_limits::http1_builder().serve_connection(TokioIo::new(stream), service).with_upgrades();
            if let Err(error) = connection.await {
                tracing::debug!(%error, "websocket gateway connection closed with an error");
            }
        });
    }
}

async fn handle(gateway: Arc<Gateway>, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    if let Some((status, message)) = request_limits::exceeded(request.uri(), request.headers()) {
        return json_response(status, &json!({ "message": message }));
    }
    let path = request.uri().path();
    if let Some(id) = management::connection_id(path) {
        return management::handle(&gateway, request, id).await;
    }
    if !matches!(path, "/" | "/local" | "/local/") {
        return json_response(StatusCode::FORBIDDEN, &json!({ "message": "Forbidden" }));
    }
    if !session::wants_websocket(request.headers()) {
        return json_response(StatusCode::UPGRADE_REQUIRED, &json!({ "message": "Upgrade Required" }));
    }
    session::upgrade(gateway, request, peer).await
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("status and header are valid")
}

/// An id in the shape of API Gateway's connection and request ids: 16 url-safe characters.
fn new_id() -> String {
    let mut bytes = [0u8; 11];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    BASE64_URL_SAFE.encode(bytes)
}
