//! The events API Gateway's WebSocket API sends its functions (the proxy shape
//! `ApiGatewayWebsocketProxyRequest` reads), built from real upgrades and frames.

use http::request::Parts;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{STAGE, new_id};

/// What every event of one connection repeats.
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    pub id: String,
    pub connected_at: OffsetDateTime,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub domain_name: String,
}

pub fn epoch_millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// API Gateway's `requestTime`: the access-log format, e.g. `09/Feb/2024:18:11:43 +0000`.
fn request_time(at: OffsetDateTime) -> String {
    at.format(format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"))
        .expect("a UTC instant formats")
}

/// ISO 8601 with milliseconds, as the management API reports instants.
pub fn iso(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"))
        .expect("a UTC instant formats")
}

fn request_context(
    connection: &ConnectionInfo,
    route_key: &str,
    event_type: &str,
    with_agent: bool,
) -> Map<String, Value> {
    let now = OffsetDateTime::now_utc();
    let request_id = new_id();
    let mut identity = Map::new();
    if let Some(agent) = connection.user_agent.as_ref().filter(|_| with_agent) {
        identity.insert("userAgent".into(), agent.as_str().into());
    }
    identity.insert("sourceIp".into(), connection.source_ip.as_str().into());
    let context = json!({
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(now),
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": epoch_millis(connection.connected_at),
        "requestTimeEpoch": epoch_millis(now),
        "identity": identity,
        "requestId": request_id,
        "domainName": connection.domain_name,
        "connectionId": connection.id,
        "apiId": "local",
    });
    let Value::Object(context) = context else { unreachable!("a JSON object literal") };
    context
}

/// The `$connect` event: the upgrade request's headers and query string.
pub fn connect_event(connection: &ConnectionInfo, parts: &Parts) -> Value {
    let (mut headers, mut multi_headers) = (Map::new(), Map::new());
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        headers.insert(name.as_str().to_owned(), values.join(",").into());
        multi_headers.insert(name.as_str().to_owned(), values.into());
    }
    let mut event = json!({
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "requestContext": request_context(connection, "$connect", "CONNECT", true),
        "isBase64Encoded": false,
    });
    let (mut query, mut multi_query) = (Map::new(), Map::<String, Value>::new());
    for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()) {
        // The single-value map keeps the last of repeated parameters; the other keeps all.
        query.insert(key.to_string(), value.as_ref().into());
        match multi_query.get_mut(key.as_ref()) {
            Some(Value::Array(values)) => values.push(value.as_ref().into()),
            _ => {
                multi_query.insert(key.into_owned(), json!([value]));
            }
        }
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
        event["multiValueQueryStringParameters"] = Value::Object(multi_query);
    }
    event
}

/// A frame from the client. Frames that are not UTF-8 arrive base64-encoded.
pub fn message_event(connection: &ConnectionInfo, route_key: &str, body: &str, is_base64: bool) -> Value {
    let mut context = request_context(connection, route_key, "MESSAGE", false);
    context.insert("messageId".into(), new_id().into());
    json!({ "requestContext": context, "body": body, "isBase64Encoded": is_base64 })
}

/// The end of a connection, with the close code and reason API Gateway reports.
pub fn disconnect_event(connection: &ConnectionInfo, status_code: u16, reason: &str) -> Value {
    let mut context = request_context(connection, "$disconnect", "DISCONNECT", true);
    context.insert("disconnectStatusCode".into(), status_code.into());
    context.insert("disconnectReason".into(), reason.into());
    json!({
        "headers": { "Host": connection.domain_name },
        "multiValueHeaders": { "Host": [connection.domain_name] },
        "requestContext": context,
        "isBase64Encoded": false,
    })
}

#[cfg(test)]
mod tests {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;

    use shared::http::Request;

    use super::*;
    use crate::invoke::{Api, lambda_request};

    fn connection() -> ConnectionInfo {
        ConnectionInfo {
            id: "GXLKAfX1FiACG1w=".into(),
            connected_at: OffsetDateTime::from_unix_timestamp_nanos(1_718_063_915_745_000_000).unwrap(),
            source_ip: "127.0.0.1".into(),
            user_agent: Some("test-client".into()),
            domain_name: "127.0.0.1:3001".into(),
        }
    }

    fn context(request: &Request) -> lambda_http::aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequestContext {
        match request.request_context_ref() {
            Some(RequestContext::WebSocket(context)) => context.clone(),
            other => panic!("not a WebSocket event: {other:?}"),
        }
    }

    #[test]
    fn connect_events_carry_headers_and_query() {
        let (parts, ()) = http::Request::get("/local?token=abc&x=1&x=2")
            .header("host", "127.0.0.1:3001")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(())
            .unwrap()
            .into_parts();
        let event = connect_event(&connection(), &parts);
        assert_eq!(event["queryStringParameters"], json!({ "token": "abc", "x": "2" }));
        assert_eq!(event["multiValueQueryStringParameters"], json!({ "token": ["abc"], "x": ["1", "2"] }));
        assert_eq!(event["requestContext"]["connectedAt"], 1_718_063_915_745_i64);
        assert_eq!(event["requestContext"]["identity"], json!({ "userAgent": "test-client", "sourceIp": "127.0.0.1" }));
        let time = event["requestContext"]["requestTime"].as_str().unwrap().to_owned();
        assert!(time.ends_with(" +0000") && time.len() == "09/Feb/2024:18:11:43 +0000".len(), "{time}");

        let request = lambda_request(Api::WebSocket, event).unwrap();
        assert_eq!(request.query_string_parameters().first("token"), Some("abc"));
        assert_eq!(request.query_string_parameters().all("x"), Some(vec!["1", "2"]));
        assert_eq!(request.headers()["sec-websocket-key"], "dGhlIHNhbXBsZSBub25jZQ==");
        let context = context(&request);
        assert_eq!(context.event_type.as_deref(), Some("CONNECT"));
        assert_eq!(context.route_key.as_deref(), Some("$connect"));
        assert_eq!(context.connection_id.as_deref(), Some("GXLKAfX1FiACG1w="));
        assert_eq!(context.stage.as_deref(), Some("local"));
        assert_eq!(context.connected_at, 1_718_063_915_745);
        assert_eq!(context.identity.source_ip.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn message_events_carry_the_frame() {
        let request = lambda_request(
            Api::WebSocket,
            message_event(&connection(), "sendMessage", r#"{"action":"sendMessage"}"#, false),
        )
        .unwrap();
        assert_eq!(request.body().as_ref(), br#"{"action":"sendMessage"}"#);
        let context = context(&request);
        assert_eq!(context.event_type.as_deref(), Some("MESSAGE"));
        assert_eq!(context.route_key.as_deref(), Some("sendMessage"));
        assert_eq!(context.message_direction.as_deref(), Some("IN"));
        assert_eq!(context.message_id.as_ref().map(String::len), Some(16));

        let binary = lambda_request(Api::WebSocket, message_event(&connection(), "$default", "/wA=", true)).unwrap();
        assert_eq!(binary.body().as_ref(), &[0xff, 0x00]);
    }

    #[test]
    fn disconnect_events_carry_the_close_code() {
        let request = lambda_request(Api::WebSocket, disconnect_event(&connection(), 1001, "Going away")).unwrap();
        let context = context(&request);
        assert_eq!(context.event_type.as_deref(), Some("DISCONNECT"));
        assert_eq!(context.disconnect_status_code, Some(1001));
        assert_eq!(context.disconnect_reason.as_deref(), Some("Going away"));
    }
}
