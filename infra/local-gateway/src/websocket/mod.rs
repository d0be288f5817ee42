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
use shared::App;
use shared::http::HttpHandler;
use tokio::net::TcpListener;

use registry::Connections;

use crate::concurrency::Concurrency;
use crate::request_limits;

/// The stage name: the first segment of the WebSocket URL and of the management API.
pub const STAGE: &str = "local";

/// The functions behind each route key. `None` where the API has no such route: without
/// `$connect` every upgrade is accepted, without `$default` unmatched frames get API
/// Gateway's `Forbidden` error frame.
pub struct WebSocketRoutes {
    pub connect: Option<HttpHandler>,
    pub disconnect: Option<HttpHandler>,
    pub default: Option<HttpHandler>,
    pub actions: HashMap<String, HttpHandler>,
}

impl WebSocketRoutes {
    /// The template's WebSocket routes, each run by the handler `handler` finds for its binary.
    pub fn from_template(template: &Template, handler: impl Fn(&str) -> Option<HttpHandler>) -> Result<Self, String> {
        let mut routes = WebSocketRoutes { connect: None, disconnect: None, default: None, actions: HashMap::new() };
        for route in template.websocket_routes().map_err(|e| e.to_string())? {
            let found = handler(&route.binary).ok_or_else(|| {
                format!("{} is served by {}, which the gateway cannot run", route.route_key, route.binary)
            })?;
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
        [self.connect, self.disconnect, self.default].iter().flatten().count() + self.actions.len()
    }

    /// Route selection for `RouteSelectionExpression: $request.body.action`: the action
    /// route when the frame is a JSON object whose string `action` names one, else `$default`.
    fn select(&self, frame: Option<&str>) -> Option<(&str, HttpHandler)> {
        let action = frame
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .and_then(|value| value.get("action")?.as_str().map(str::to_owned));
        if let Some((key, handler)) = action.and_then(|action| self.actions.get_key_value(&action)) {
            return Some((key, *handler));
        }
        self.default.map(|handler| ("$default", handler))
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
    app: Arc<App>,
    concurrency: Concurrency,
    connections: Connections,
    /// The `domainName` of events: what functions would build a callback URL from.
    domain_name: String,
    limits: Limits,
}

pub async fn serve(
    listener: TcpListener,
    routes: WebSocketRoutes,
    app: Arc<App>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    serve_with_limits(listener, routes, app, Limits::default()).await
}

pub async fn serve_with_limits(
    listener: TcpListener,
    routes: WebSocketRoutes,
    app: Arc<App>,
    limits: Limits,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let domain_name = listener.local_addr()?.to_string();
    let gateway = Arc::new(Gateway {
        routes,
        app,
        concurrency: Concurrency::default(),
        connections: Connections::default(),
        domain_name,
        limits,
    });
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
