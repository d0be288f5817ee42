//! The HTTP side: one task per connection, one handler call per request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use shared::App;
use tokio::net::TcpListener;

use crate::concurrency::Concurrency;
use crate::event::{has_valid_host, http_event, lambda_request};
use crate::router::{Miss, Router};

/// API Gateway refuses request bodies over 10 MB; so does the gateway.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// API Gateway's limits on a request's URL and on its headers, answered with a JSON body
/// like the gateway's other own answers.
const MAX_URI_BYTES: usize = 8 * 1024;
const MAX_HEADER_BYTES: usize = 10 * 1024;
/// The connection's own limits, far above those, so that requests over API Gateway's limits
/// still reach the checks that answer them (only beyond these does the HTTP library answer
/// by itself, without a body; its URL limit is 64 KB).
const MAX_READ_BUFFER_BYTES: usize = 1024 * 1024;
const MAX_HEADERS: usize = 1000;

/// What every request shares: the routes, the functions' state and how many of each run.
pub struct Http {
    pub router: Router,
    pub app: Arc<App>,
    pub concurrency: Concurrency,
}

pub async fn serve(listener: TcpListener, http: Arc<Http>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let http = http.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let http = http.clone();
                async move { Ok::<_, Infallible>(handle(&http, request, peer).await) }
            });
            let connection = http1::Builder::new()
                .max_buf_size(MAX_READ_BUFFER_BYTES)
                .max_headers(MAX_HEADERS)
                .serve_connection(TokioIo::new(stream), service);
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

/// The bytes of the headers as they came: `name: value\r\n` each.
fn header_bytes(headers: &http::HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

async fn handle(http: &Http, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    // API Gateway's own answers for requests it does not take.
    if parts.uri.to_string().len() > MAX_URI_BYTES {
        return plain_json(StatusCode::URI_TOO_LONG, "Request-URI Too Long");
    }
    if header_bytes(&parts.headers) > MAX_HEADER_BYTES {
        return plain_json(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "Request Header Fields Too Large");
    }
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
    if !has_valid_host(&parts) {
        return plain_json(StatusCode::BAD_REQUEST, "Bad Request");
    }
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain_json(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let event = http_event(route, &parts, &body, &peer.ip().to_string());
    let request = match lambda_request(event) {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(%error, "could not build the API Gateway event");
            return plain_json(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let _running = http.concurrency.invocation(&route.key).await;
    let response = match shared::http::serve(&http.app, request, route.handler).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "handler failed");
            return plain_json(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Full::new(Bytes::from(body.to_vec())))
}
