//! API Gateway HTTP API payload-2.0 events, built from real HTTP requests.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::prelude::BASE64_STANDARD;

use http::request::Parts;
use serde_json::{Map, Value, json};
use shared::Timestamp;

use crate::router::Route;

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The event API Gateway would send for this request, as JSON.
pub fn http_event(route: &Route, parts: &Parts, body: &[u8], source_ip: &str) -> Value {
    let mut headers = Map::new();
    for name in parts.headers.keys() {
        // API Gateway lower-cases names and joins repeated headers with commas.
        let values: Vec<&str> = parts.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query = Map::new();
    for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(key.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        }
    }
    let now = Timestamp::now();
    let request_id = format!("local-{:012}", REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed));
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (BASE64_STANDARD.encode(body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": route.key,
            "stage": "$default",
            "time": now.to_string(),
            "timeEpoch": now.unix_seconds() * 1000,
        },
        "isBase64Encoded": is_base64,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !body.is_empty() {
        event["body"] = Value::String(body);
    }
    event
}

/// Whether `lambda_http` can build a URL from the request's Host and `X-Forwarded-Proto`
/// (it cannot take malformed ones, which API Gateway refuses before any function runs).
pub fn has_valid_host(parts: &Parts) -> bool {
    let host_ok = parts
        .headers
        .get(http::header::HOST)
        .is_none_or(|host| host.to_str().is_ok_and(|host| host.parse::<http::uri::Authority>().is_ok()));
    let proto_ok =
        parts.headers.get("x-forwarded-proto").is_none_or(|proto| matches!(proto.to_str(), Ok("http" | "https")));
    host_ok && proto_ok
}
