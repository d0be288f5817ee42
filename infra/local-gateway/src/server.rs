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

use crate::event::{has_valid_host, http_event, lambda_request};
use crate::router::{Miss, Router};

/// API Gateway refuses request bodies over 10 MB; so does the gateway.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

pub async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    app: Arc<App>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let (router, app) = (router.clone(), app.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let (router, app) = (router.clone(), app.clone());
                async move { Ok::<_, Infallible>(handle(&router, &app, request, peer).await) }
            });
            if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
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

async fn handle(router: &Router, app: &App, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    // API Gateway's own answers for requests no route takes.
    let route = match router.find(&parts.method, parts.uri.path()) {
        Ok(route) => route,
        Err(Miss::NotFound) => return plain_json(StatusCode::NOT_FOUND, "Not Found"),
        Err(Miss::MethodNotAllowed) => {
            return plain_json(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
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
    let response = match shared::http::serve(app, request, route.handler).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "handler failed");
            return plain_json(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Full::new(Bytes::from(body.to_vec())))
}
