//! HTTP plumbing shared by the route handlers: authentication, query parameters, JSON
//! responses in the family's shape, and the per-invocation log line.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use http::HeaderMap;
pub use http::Method;
pub use http::StatusCode;
pub use http::header::AUTHORIZATION;
pub use http::header::CONTENT_TYPE;
pub use lambda_http::{Body, Error, Request, Response};
use lambda_http::{RequestExt, request::RequestContext};
use serde::Serialize;

use crate::auth::{Credentials, Schemes, credentials};
use crate::domain::{AdminId, MessageId, Principal, StoreId};
use crate::storage::MessageWindow;
use crate::{App, ChatError, Family, deadline, telemetry};

/// A route handler as the local gateway holds it: the same function the Lambda's `main` runs.
pub type HttpHandler = for<'a> fn(&'a App, Request) -> Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// A function's whole `main`: JSON logs, the deployed wiring built once per instance
/// ([`App::from_env`]), then `handler` for every invocation the Lambda runtime hands over.
pub fn run(handler: HttpHandler) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        telemetry::init();
        let app = App::from_env().await?;
        lambda_http::run(lambda_http::service_fn(|request| serve(&app, request, handler))).await
    })
}

/// Runs one invocation of `handler` within the deadline of [`crate::deadline`] and logs its
/// route, status, latency and DynamoDB calls. Never fails: every error has become a
/// response in the family's shape by now.
pub async fn serve<'a, F, Fut>(app: &'a App, request: Request, handler: F) -> Result<Response<Body>, lambda_http::Error>
where
    F: FnOnce(&'a App, Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let started = Instant::now();
    // The route key, not the raw path: paths may carry ids and query strings may carry tokens.
    let (route, request_id) = route_and_request_id(&request);
    let connection = connection_id(&request);
    let (response, calls) = telemetry::count_calls(deadline::within_deadline(handler(app, request))).await;
    let response = match response {
        Some(response) => response,
        None => {
            tracing::error!(route, "the invocation ran out of time");
            past_deadline(app, &route, connection.clone()).await
        }
    };
    telemetry::log_invocation(
        &route,
        response.status().as_u16(),
        request_id.as_deref(),
        connection.as_deref(),
        started.elapsed(),
        &calls,
    );
    Ok(response)
}

/// The answer of an invocation that ran out of time: the family's 503 to an HTTP request,
/// an `error` event to the WebSocket connection whose frame it was (not to one that is
/// connecting or gone).
async fn past_deadline(app: &App, route: &str, connection: Option<String>) -> Response<Body> {
    let error = ChatError::Unavailable;
    match (Family::of_route(route), connection) {
        (Some(family), _) => error_response(family, &error),
        (None, Some(connection)) if route != "$connect" && route != "$disconnect" => {
            let event = crate::live::ServerEvent::Error { error: error.to_string() };
            app.live.reply(&connection, &event).await;
            json(StatusCode::OK, &serde_json::json!({}))
        }
        // A refused upgrade, as API Gateway words its own 503.
        (None, _) => json(error.status(), &serde_json::json!({ "message": "Service Unavailable" })),
    }
}

/// The WebSocket connection an event came from.
pub fn connection_id(request: &Request) -> Option<String> {
    match request.request_context_ref() {
        Some(RequestContext::WebSocket(context)) => context.connection_id.clone(),
        _ => None,
    }
}

/// The route key, and API Gateway's id of the request (which its access log carries too).
fn route_and_request_id(request: &Request) -> (String, Option<String>) {
    let (route, request_id) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => (context.route_key.clone(), context.request_id.clone()),
        Some(RequestContext::WebSocket(context)) => (context.route_key.clone(), context.request_id.clone()),
        _ => (None, None),
    };
    (route.unwrap_or_else(|| format!("{} (unrouted)", request.method())), request_id)
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

/// `error` in the family's shape; a refusal to send more says when to try again
/// (`Retry-After`, in seconds).
pub fn error_response(family: Family, error: &ChatError) -> Response<Body> {
    let mut response = json(error.status(), &family.error_body(error));
    if let ChatError::TooManyRequests { retry_after_seconds } = error {
        response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(*retry_after_seconds));
    }
    response
}

/// `Ok` as 200 with the value, `Err` as the family's error body.
pub fn respond<T: Serialize>(family: Family, result: Result<T, ChatError>) -> Response<Body> {
    match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err(error) => error_response(family, &error),
    }
}

/// As [`respond`], for a route that creates what it answers with: 201.
pub fn respond_created<T: Serialize>(family: Family, result: Result<T, ChatError>) -> Response<Body> {
    match result {
        Ok(value) => json(StatusCode::CREATED, &value),
        Err(error) => error_response(family, &error),
    }
}

/// The caller's principal, from the `Authorization` header.
pub async fn authenticate(app: &App, headers: &HeaderMap, schemes: Schemes) -> Result<Principal, ChatError> {
    let value = headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()).ok_or(ChatError::Unauthorized)?;
    match credentials(value, schemes)? {
        Credentials::Token(token) => app.auth.principal(token).await,
        Credentials::Basic { user, token } => {
            let principal = app.auth.principal(&token).await?;
            // The same 401 as an unknown token: the answer says nothing of which part was wrong.
            if user != principal.id().to_string() {
                return Err(ChatError::Unauthorized);
            }
            Ok(principal)
        }
    }
}

/// The calling store; an admin token is the family's 403.
pub async fn authenticate_store(app: &App, request: &Request, family: Family) -> Result<StoreId, ChatError> {
    match authenticate(app, request.headers(), Schemes::Token).await? {
        Principal::Store(id) => Ok(id),
        Principal::Admin(_) => Err(family.wrong_role()),
    }
}

/// The calling admin; a store token is the family's 403.
pub async fn authenticate_admin(app: &App, request: &Request, family: Family) -> Result<AdminId, ChatError> {
    match authenticate(app, request.headers(), Schemes::Token).await? {
        Principal::Admin(id) => Ok(id),
        Principal::Store(_) => Err(family.wrong_role()),
    }
}

/// The first value of a query-string parameter.
pub fn query_param<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.query_string_parameters_ref().and_then(|params| params.first(name))
}

/// An optional integer query parameter within `range`; absent or empty is `None`.
pub fn query_number(
    request: &Request,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, ChatError> {
    let Some(raw) = query_param(request, name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let invalid = || match (range.start(), range.end()) {
        (0, &u64::MAX) => ChatError::bad_request(format!("{name} must be a non-negative integer")),
        (low, &u64::MAX) => ChatError::bad_request(format!("{name} must be an integer of at least {low}")),
        (low, high) => ChatError::bad_request(format!("{name} must be an integer from {low} to {high}")),
    };
    let value: u64 = raw.trim().parse().map_err(|_| invalid())?;
    range.contains(&value).then_some(Some(value)).ok_or_else(invalid)
}

/// Which messages a fetch asks for: `after=` an id (0 when neither is given: from the
/// start), or `before=` one (the history before what a client shows), not both.
pub fn message_window(request: &Request) -> Result<MessageWindow, ChatError> {
    let after = query_number(request, "after", 0..=u64::MAX)?;
    let before = query_number(request, "before", 1..=u64::MAX)?;
    match (after, before) {
        (Some(_), Some(_)) => Err(ChatError::bad_request("after and before cannot both be given")),
        (_, Some(before)) => Ok(MessageWindow::Before(MessageId(before))),
        (after, None) => Ok(MessageWindow::After(MessageId(after.unwrap_or(0)))),
    }
}

/// Request bodies larger than this are refused (a message is at most a few KB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The JSON body as `T`: one JSON object and nothing after it. A problem is a 400 that
/// names it (or the field), or a 413. An empty body is an empty object.
pub fn json_body<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, ChatError> {
    json_body_within(request, MAX_BODY_BYTES)
}

/// The largest body of a platform's batch: a hundred accounts with long names and URLs.
pub const MAX_BATCH_BODY_BYTES: usize = 512 * 1024;

/// [`json_body`] with a limit of its own.
pub fn json_body_within<T: serde::de::DeserializeOwned>(request: &Request, most: usize) -> Result<T, ChatError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > most {
        return Err(ChatError::PayloadTooLarge);
    }
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    // Derived deserializers also take a JSON array for a struct (fields by position), so
    // the shape is checked before the fields are.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ChatError::bad_request("Request body must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ChatError::bad_request("Request body is not valid JSON");
        }
        // The position says nothing to a client that sent one line of JSON.
        let text = inner.to_string();
        let position = format!(" at line {} column {}", inner.line(), inner.column());
        let problem = text.strip_suffix(&position).unwrap_or(&text);
        if path == "." {
            ChatError::bad_request(format!("Invalid request body: {problem}"))
        } else {
            ChatError::bad_request(format!("{path}: {problem}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|_| ChatError::bad_request("Request body must be one JSON object with nothing after it"))?;
    Ok(value)
}

/// 201 with a message just stored, 200 with the original for a repeated `client_message_id`.
pub fn respond_sent(family: Family, result: Result<crate::chat::Sent, ChatError>) -> Response<Body> {
    match result {
        Ok(sent) if sent.created => json(StatusCode::CREATED, &sent.message),
        Ok(sent) => json(StatusCode::OK, &sent.message),
        Err(error) => error_response(family, &error),
    }
}

/// The body of the admin routes that name only a session.
#[derive(serde::Deserialize)]
struct SessionRequest {
    session_id: crate::domain::SessionId,
}

/// An admin's `{session_id}` route that moves the session (claim, close): the session as
/// the admin now sees it.
pub async fn admin_lifecycle(
    app: &App,
    request: &Request,
    action: crate::domain::LifecycleAction,
) -> Result<crate::domain::SessionSummary, ChatError> {
    let admin = authenticate_admin(app, request, Family::Admin).await?;
    let body: SessionRequest = json_body(request)?;
    let target = crate::chat::Target::Session(body.session_id);
    let session = crate::chat::change_lifecycle(app, Principal::Admin(admin), target, action).await?;
    Ok(session.summary(crate::domain::SenderType::Admin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Content {
        #[allow(dead_code)]
        content: String,
    }

    fn body_of(text: &str) -> Result<Content, ChatError> {
        json_body(&Request::new(Body::from(text)))
    }

    #[test]
    fn a_body_is_one_json_object() {
        assert!(body_of(r#" {"content": "x"} "#).is_ok());
        let not_an_object = ChatError::bad_request("Request body must be a JSON object");
        for text in [r#"["hello"]"#, "[661]", r#""x""#, "42", "null"] {
            assert_eq!(body_of(text).unwrap_err(), not_an_object, "{text}");
        }
        let trailing = ChatError::bad_request("Request body must be one JSON object with nothing after it");
        for text in [r#"{"content": "x"} GARBAGE"#, r#"{"content": "x"}{"content": "y"}"#, r#"{"content":"x"} 1"#] {
            assert_eq!(body_of(text).unwrap_err(), trailing, "{text}");
        }
        assert_eq!(body_of(r#"{"content": "#).unwrap_err(), ChatError::bad_request("Request body is not valid JSON"));
        assert_eq!(body_of("{}").unwrap_err(), ChatError::bad_request("Invalid request body: missing field `content`"));
    }
}
