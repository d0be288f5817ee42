//! The `@connections` management API, as `aws-sdk-apigatewaymanagement` calls it. Requests
//! are SigV4-signed by the SDK; the signature is not checked.

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::event::iso;
use super::{Gateway, json_response};

/// API Gateway's limit for `PostToConnection` data, as for frames from clients.
pub const MAX_PAYLOAD_BYTES: usize = 128 * 1024;

/// The connection id of a `/local/@connections/{id}` path, percent-decoded (the SDK encodes
/// the `=` of API Gateway-shaped ids).
pub fn connection_id(path: &str) -> Option<String> {
    let encoded = path.strip_prefix("/local/@connections/")?;
    if encoded.is_empty() || encoded.contains('/') {
        return None;
    }
    percent_decode(encoded)
}

fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// An error in the shape the SDK maps to its modelled exceptions (by `x-amzn-ErrorType`).
fn error(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let mut response = json_response(status, &json!({ "message": message }));
    let value = http::HeaderValue::from_str(error_type).expect("error types are header-safe");
    response.headers_mut().insert("x-amzn-ErrorType", value);
    response
}

fn gone() -> Response<Full<Bytes>> {
    error(StatusCode::GONE, "GoneException", "Gone")
}

pub async fn handle(gateway: &Gateway, request: Request<Incoming>, id: String) -> Response<Full<Bytes>> {
    let connections = &gateway.connections;
    let method = request.method().clone();
    match method {
        Method::POST => {
            let data = match Limited::new(request.into_body(), MAX_PAYLOAD_BYTES).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLargeException", "Payload too large"),
            };
            let frame = match String::from_utf8(data.to_vec()) {
                Ok(text) => Message::text(text),
                Err(_) => Message::binary(data),
            };
            if !connections.send(&id, frame) {
                return gone();
            }
            Response::new(Full::default())
        }
        Method::GET => {
            let Some(snapshot) = connections.snapshot(&id) else { return gone() };
            let mut identity = Map::new();
            identity.insert("sourceIp".into(), snapshot.info.source_ip.into());
            if let Some(agent) = snapshot.info.user_agent {
                identity.insert("userAgent".into(), agent.into());
            }
            let body = json!({
                "connectedAt": iso(snapshot.info.connected_at),
                "identity": Value::Object(identity),
                "lastActiveAt": iso(snapshot.last_active_at),
            });
            json_response(StatusCode::OK, &body)
        }
        Method::DELETE => {
            if !connections.close(&id, 1000, "") {
                return gone();
            }
            let mut response = Response::new(Full::default());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        _ => json_response(StatusCode::METHOD_NOT_ALLOWED, &json!({ "message": "Method Not Allowed" })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_are_decoded_from_the_path() {
        assert_eq!(connection_id("/local/@connections/GXLKAfX1FiACG1w%3D").as_deref(), Some("GXLKAfX1FiACG1w="));
        assert_eq!(connection_id("/local/@connections/a-b_c").as_deref(), Some("a-b_c"));
        assert_eq!(connection_id("/local/@connections/"), None);
        assert_eq!(connection_id("/local/@connections/a/b"), None);
        assert_eq!(connection_id("/prod/@connections/abc"), None);
        assert_eq!(connection_id("/local/@connections/bad%zz"), None);
        assert_eq!(connection_id("/local/@connections/cut%3"), None);
    }
}
