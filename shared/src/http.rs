//! HTTP plumbing shared by the route handlers: authentication, query parameters, JSON
//! responses in the family's shape, and the per-invocation log line.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
pub use lambda_http::{Body, Request, Response};
use lambda_http::{RequestExt, request::RequestContext};
use serde::Serialize;

use crate::auth::{Schemes, token_from_header};
use crate::domain::{AdminId, Principal, StoreId};
use crate::{App, ChatError, Family, telemetry};

/// A route handler as the local gateway holds it: the same function the Lambda's `main` runs.
pub type HttpHandler =
    for<'a> fn(&'a App, Request) -> Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// Runs one invocation of `handler` and logs its route, status, latency and DynamoDB calls.
/// Never fails: every error has become a response in the family's shape by now.
pub async fn serve<'a, F, Fut>(
    app: &'a App,
    request: Request,
    handler: F,
) -> Result<Response<Body>, lambda_http::Error>
where
    F: FnOnce(&'a App, Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let started = Instant::now();
    // The route key, not the raw path: paths may carry ids and query strings may carry tokens.
    let route = route_key(&request);
    let (response, dynamodb_calls) = telemetry::count_dynamodb_calls(handler(app, request)).await;
    tracing::info!(
        route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        dynamodb_calls,
        "invocation"
    );
    Ok(response)
}

fn route_key(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.clone(),
        _ => None,
    }
    .unwrap_or_else(|| format!("{} (unrouted)", request.method()))
}

/// A JSON response.
pub fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_vec(body).expect("API values serialise to JSON");
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Binary(body))
        .expect("status and header are valid")
}

/// `Ok` as 200 with the value, `Err` as the family's error body.
pub fn respond<T: Serialize>(family: Family, result: Result<T, ChatError>) -> Response<Body> {
    match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err(error) => json(error.status(), &family.error_body(&error)),
    }
}

/// The caller's principal, from the `Authorization` header.
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    schemes: Schemes,
) -> Result<Principal, ChatError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| token_from_header(value, schemes))
        .ok_or(ChatError::Unauthorized)?;
    app.auth.principal(token).await
}

/// The calling store; an admin token is the family's 403.
pub async fn authenticate_store(
    app: &App,
    request: &Request,
    family: Family,
) -> Result<StoreId, ChatError> {
    match authenticate(app, request.headers(), Schemes::Token).await? {
        Principal::Store(id) => Ok(id),
        Principal::Admin(_) => Err(family.wrong_role()),
    }
}

/// The calling admin; a store token is the family's 403.
pub async fn authenticate_admin(
    app: &App,
    request: &Request,
    family: Family,
) -> Result<AdminId, ChatError> {
    match authenticate(app, request.headers(), Schemes::Token).await? {
        Principal::Admin(id) => Ok(id),
        Principal::Store(_) => Err(family.wrong_role()),
    }
}

/// The first value of a query-string parameter.
pub fn query_param<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name))
}
