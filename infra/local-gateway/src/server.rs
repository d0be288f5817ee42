//! The HTTP side: one task per connection, one handler call per request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

use crate::cors::Cors;
use crate::event::{has_valid_host, http_event};
use crate::invoke::{Api, Functions};
use crate::request_limits;
use crate::router::{Miss, Router};
use crate::schedule::Schedules;
use crate::sigv4::{PlatformKey, Refusal};
use crate::web::Web;

/// API Gateway refuses request bodies over 10 MB; so does the gateway.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// What every request shares: the routes, the functions behind them, the API's CORS
/// settings, if it has any, and the browser clients' files.
pub struct Http {
    pub router: Router,
    pub functions: Arc<Functions>,
    pub cors: Option<Cors>,
    pub web: Web,
    pub schedules: Arc<Schedules>,
    /// The key the `AWS_IAM` routes' requests must be signed with.
    pub platform_key: Option<PlatformKey>,
}

pub async fn serve(listener: TcpListener, http: Arc<Http>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    loop {
        let (stream, peer) = listener.accept().await?;
        // An answer goes out as soon as it is written, not when the client's last ACK comes.
        let _ = stream.set_nodelay(true);
        let http = http.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let http = http.clone();
                async move { Ok::<_, Infallible>(handle(&http, request, peer).await) }
            });
            let connection = request_limits::http1_builder().serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

fn plain_json(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(json!({ "message": message }).to_string())))
        .expect("status and header are valid")
}

async fn handle(http: &Http, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    if let Some((status, message)) = request_limits::exceeded(&parts.uri, &parts.headers) {
        return plain_json(status, message);
    }
    // Not the API's either: the Lambda Invoke API, for the scheduled functions.
    if let Some(invoked) = http.schedules.invoke(&http.functions, &parts.method, parts.uri.path()).await {
        return invoked;
    }
    // The browser clients' files are no part of the API, nor under its CORS: /config.json
    // names the demo tokens, which no other site may read.
    if matches!(http.router.find(&parts.method, parts.uri.path()), Err(Miss::NotFound))
        && let Some(file) = http.web.answer(&parts.method, parts.uri.path())
    {
        return file;
    }
    let Some(cors) = &http.cors else {
        return answer(http, &parts, body, peer).await;
    };
    if let Some(preflight) = cors.preflight(&parts.method, &parts.headers) {
        return preflight;
    }
    let mut response = answer(http, &parts, body, peer).await;
    cors.decorate(&parts.headers, &mut response);
    response
}

/// The answer to a request within the limits: the route's function's, or the gateway's own.
async fn answer(http: &Http, parts: &http::request::Parts, body: Incoming, peer: SocketAddr) -> Response<Full<Bytes>> {
    let route = match http.router.find(&parts.method, parts.uri.path()) {
        Ok(route) => route,
        Err(Miss::NotFound) => return plain_json(StatusCode::NOT_FOUND, "Not Found"),
        Err(Miss::MethodNotAllowed(allowed)) => {
            let mut response = plain_json(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            let allow = allowed.iter().map(http::Method::as_str).collect::<Vec<_>>().join(", ");
            let allow = http::HeaderValue::from_str(&allow).expect("method names are header-safe");
            response.headers_mut().insert(http::header::ALLOW, allow);
            return response;
        }
    };
    if !has_valid_host(parts) {
        return plain_json(StatusCode::BAD_REQUEST, "Bad Request");
    }
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain_json(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    if route.iam {
        let uri = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let verified = match &http.platform_key {
            Some(key) => key.verify(parts.method.as_str(), uri, &parts.headers, &body, std::time::SystemTime::now()),
            None => Err(Refusal::Missing),
        };
        if let Err(refusal) = verified {
            return plain_json(StatusCode::FORBIDDEN, refusal.message());
        }
    }
    let event = http_event(route, parts, &body, &peer.ip().to_string());
    match http.functions.invoke(&route.binary, Api::Http, event).await {
        Some(response) => response.map(Full::new),
        // API Gateway's answer when the function fails, times out or cannot run.
        None => plain_json(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sam_template::Template;
    use serde_json::Value;
    use shared::App;
    use shared::config::Config;
    use shared::storage::MemoryStore;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::timeout;

    use super::*;

    /// Only a guard against a hung test: every answer here comes at once.
    const WAIT: Duration = Duration::from_secs(10);

    /// The template's routes, over an empty in-memory store.
    async fn start() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Arc::new(App::new(Arc::new(MemoryStore::new()), Config::local("test", None, None)));
        let functions = Arc::new(Functions::linked(app, functions::handler));
        let router = Router::from_template(&Template::embedded(), &functions).unwrap();
        let cors = Template::embedded().cors_of_http_api(&Default::default()).unwrap().map(Cors::new);
        let web = Web::new(&format!("http://127.0.0.1:{port}"), "ws://127.0.0.1:1/local", None);
        tokio::spawn(serve(
            listener,
            Arc::new(Http {
                router,
                functions,
                cors,
                web,
                schedules: Arc::new(crate::schedule::Schedules::new(Vec::new())),
                platform_key: None,
            }),
        ));
        port
    }

    /// A response as it came over the wire.
    struct Answer {
        status: u16,
        /// Lowercase names.
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(found, _)| found == name).map(|(_, value)| value.as_str())
        }

        /// The gateway's own answer: its status and JSON message.
        fn own(&self) -> (u16, Option<&str>, Value) {
            (self.status, self.header("content-type"), serde_json::from_str(&self.body).unwrap())
        }
    }

    /// Sends a request written by hand, so that its URL and headers are exactly the bytes
    /// given, and reads the answer until the gateway closes the connection.
    async fn send(port: u16, method: &str, target: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        timeout(WAIT, stream.read_to_string(&mut response)).await.expect("an answer in time").unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("a complete response");
        let mut lines = head.lines();
        let status = lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok());
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Answer { status: status.expect("a status line"), headers, body: body.to_owned() }
    }

    fn own_answer(status: u16, message: &str) -> (u16, Option<&'static str>, Value) {
        (status, Some("application/json"), json!({ "message": message }))
    }

    /// A path no route has, `bytes` long with its query.
    fn unrouted_target(bytes: usize) -> String {
        format!("/nothing?q={}", "x".repeat(bytes - "/nothing?q=".len()))
    }

    #[tokio::test]
    async fn a_preflight_is_answered_for_any_path_and_answers_carry_the_origin() {
        let port = start().await;
        let preflight = [("origin", "https://shop.example"), ("access-control-request-method", "POST")];
        let answer = send(port, "OPTIONS", "/v1/chat/store/messages/", &preflight).await;
        assert_eq!((answer.status, answer.header("access-control-allow-origin")), (204, Some("*")));
        assert_eq!(answer.header("access-control-allow-headers"), Some("authorization,content-type"));
        // As at API Gateway, whether or not a route has the path.
        assert_eq!(send(port, "OPTIONS", "/nothing", &preflight).await.status, 204);
        // A cross-origin call's answer, a refusal included, names who may read it.
        let answer = send(port, "GET", "/v1/chat/store/session/", &[("origin", "https://shop.example")]).await;
        assert_eq!((answer.status, answer.header("access-control-allow-origin")), (401, Some("*")));
        let answer = send(port, "GET", "/v1/chat/store/session/", &[]).await;
        assert_eq!(answer.header("access-control-allow-origin"), None, "no Origin, no CORS headers");
        // An OPTIONS that is no preflight is routed like any other request.
        assert_eq!(send(port, "OPTIONS", "/v1/chat/store/session/", &[]).await.status, 405);
    }

    #[tokio::test]
    async fn a_405_names_the_methods_the_path_has() {
        let port = start().await;
        let answer = send(port, "DELETE", "/v1/chat/store/session/", &[]).await;
        assert_eq!(answer.own(), own_answer(405, "Method Not Allowed"));
        assert_eq!(answer.header("allow"), Some("GET"));
    }

    #[tokio::test]
    async fn a_url_over_8_kb_is_a_json_414() {
        let port = start().await;
        let answer = send(port, "GET", &unrouted_target(8 * 1024 + 1), &[]).await;
        assert_eq!(answer.own(), own_answer(414, "Request-URI Too Long"));
        // Far past it, yet within what the connection reads, the answer is the same.
        let answer = send(port, "GET", &unrouted_target(60 * 1024), &[]).await;
        assert_eq!(answer.own(), own_answer(414, "Request-URI Too Long"));
        // Within it, the request goes on to routing.
        let answer = send(port, "GET", &unrouted_target(8 * 1024), &[]).await;
        assert_eq!(answer.own(), own_answer(404, "Not Found"));
    }

    #[tokio::test]
    async fn headers_over_10_kb_are_a_json_431() {
        let port = start().await;
        let too_large = own_answer(431, "Request Header Fields Too Large");
        let answer = send(port, "GET", "/nothing", &[("x-big", &"x".repeat(10 * 1024))]).await;
        assert_eq!(answer.own(), too_large);
        // Far past it, beyond what the HTTP library reads by default, the answer is the same.
        let answer = send(port, "GET", "/nothing", &[("x-big", &"x".repeat(500 * 1024))]).await;
        assert_eq!(answer.own(), too_large);
        let answer = send(port, "GET", "/nothing", &[("x-big", &"x".repeat(9 * 1024))]).await;
        assert_eq!(answer.own(), own_answer(404, "Not Found"));
    }

    #[tokio::test]
    async fn many_small_headers_within_10_kb_pass() {
        let port = start().await;
        // 1500 headers of 6 bytes each: more than the HTTP library takes by default.
        let headers = vec![("a", "b"); 1500];
        let answer = send(port, "GET", "/nothing", &headers).await;
        assert_eq!(answer.own(), own_answer(404, "Not Found"));
    }
}
