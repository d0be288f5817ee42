//! Running the function behind a route on an API Gateway event: linked into this process
//! (every handler over one shared [`App`]), or as the function's own binary in processes of
//! its own ([`lambda`]). Either way the gateway sees what API Gateway sees: the
//! function's response, or no response (logged here), which it answers as API Gateway does.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body as EventBody;
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use http::{HeaderMap, Response, StatusCode};
use hyper::body::Bytes;
use serde_json::Value;
use shared::App;
use shared::http::{HttpHandler, Request};
use shared::queue::QueueHandler;
use shared::schedule::ScheduledHandler;
use shared::stream::StreamHandler;

use crate::concurrency::Concurrency;
use local_gateway::lambda;

/// Which API's event and response shapes an invocation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// The HTTP API's payload 2.0.
    Http,
    /// The WebSocket API's proxy shape.
    WebSocket,
}

/// Finds the handler linked in for a binary.
pub type Handlers = Box<dyn Fn(&str) -> Option<HttpHandler> + Send + Sync>;
/// Finds the scheduled function linked in for a binary.
pub type Scheduled = fn(&str) -> Option<ScheduledHandler>;
/// Finds the stream function linked in for a binary.
pub type Streamed = fn(&str) -> Option<StreamHandler>;
/// Finds the queue function linked in for a binary.
pub type Queued = fn(&str) -> Option<QueueHandler>;

pub enum Functions {
    Linked {
        app: Arc<App>,
        handlers: Handlers,
        scheduled: Scheduled,
        streamed: Streamed,
        queued: Queued,
        concurrency: Concurrency,
    },
    Processes(lambda::Pool),
}

impl Functions {
    /// The handlers `handlers` finds, over `app`.
    pub fn linked(app: Arc<App>, handlers: impl Fn(&str) -> Option<HttpHandler> + Send + Sync + 'static) -> Self {
        Functions::Linked {
            app,
            handlers: Box::new(handlers),
            scheduled: |_| None,
            streamed: |_| None,
            queued: |_| None,
            concurrency: Concurrency::default(),
        }
    }

    /// With the scheduled, stream and queue functions `scheduled`, `streamed` and `queued`
    /// find, when linked in.
    pub fn with_event_driven(self, scheduled: Scheduled, streamed: Streamed, queued: Queued) -> Self {
        match self {
            Functions::Linked { app, handlers, concurrency, .. } => {
                Functions::Linked { app, handlers, scheduled, streamed, queued, concurrency }
            }
            processes => processes,
        }
    }

    /// Runs the queue function built from `binary` on `event` (an `SQSEvent`), as an event
    /// source mapping would: its answer (`batchItemFailures`), or the error Lambda would
    /// report. The mapping bounds its own concurrency.
    pub async fn invoke_queue(&self, binary: &str, event: Value, request_id: &str) -> Result<Value, String> {
        match self {
            Functions::Linked { app, queued, .. } => {
                let handler = queued(binary).ok_or_else(|| format!("no queue function {binary}"))?;
                let event = serde_json::from_value(event).map_err(|error| error.to_string())?;
                let answer = shared::queue::run_once(app, binary, handler, event, request_id).await;
                Ok(serde_json::to_value(answer).expect("answers serialise"))
            }
            Functions::Processes(pool) => pool.invoke(binary, event).await.map_err(|failure| failure.to_string()),
        }
    }

    /// Runs the stream function built from `binary` on `event` (a `DynamoDBEvent`), as an
    /// event source mapping would: its answer (`batchItemFailures`), or the error Lambda
    /// would report.
    pub async fn invoke_stream(&self, binary: &str, event: Value, request_id: &str) -> Result<Value, String> {
        match self {
            Functions::Linked { app, streamed, concurrency, .. } => {
                let handler = streamed(binary).ok_or_else(|| format!("no stream function {binary}"))?;
                let event = serde_json::from_value(event).map_err(|error| error.to_string())?;
                let _running = concurrency.invocation(binary).await;
                let answer = shared::stream::run_once(app, binary, handler, event, request_id).await;
                Ok(serde_json::to_value(answer).expect("answers serialise"))
            }
            Functions::Processes(pool) => pool.invoke(binary, event).await.map_err(|failure| failure.to_string()),
        }
    }

    /// Runs the stream function built from `binary`, linked in, on change records read from
    /// the embedded store's feed: the sequence number of the first not done, if any.
    pub async fn invoke_changes(
        &self,
        binary: &str,
        records: Vec<shared::domain::ChangeRecord>,
        request_id: &str,
    ) -> Result<Option<String>, String> {
        match self {
            Functions::Linked { app, streamed, concurrency, .. } => {
                let handler = streamed(binary).ok_or_else(|| format!("no stream function {binary}"))?;
                let first = records.first().map(|record| record.sequence_number.clone());
                let _running = concurrency.invocation(binary).await;
                Ok(shared::stream::run_records(app, binary, handler, records, first, request_id).await)
            }
            Functions::Processes(_) => Err("the embedded store's feed is read by functions linked in".into()),
        }
    }

    /// Runs the scheduled function built from `binary` once, as EventBridge would: what it
    /// answered, or the error Lambda would report.
    pub async fn invoke_scheduled(&self, binary: &str, request_id: &str) -> Result<Value, String> {
        match self {
            Functions::Linked { app, scheduled, concurrency, .. } => {
                let handler = scheduled(binary).ok_or_else(|| format!("no scheduled function {binary}"))?;
                let _running = concurrency.invocation(binary).await;
                shared::schedule::run_once(app, handler, request_id).await.map_err(|error| error.to_string())
            }
            Functions::Processes(pool) => {
                let event = serde_json::json!({
                    "version": "0",
                    "id": request_id,
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": "000000000000",
                    "time": shared::Timestamp::now().to_string(),
                    "region": "us-east-1",
                    "resources": [],
                    "detail": {},
                });
                pool.invoke(binary, event).await.map_err(|failure| failure.to_string())
            }
        }
    }

    /// Whether the function built from `binary` can run here.
    pub fn runs(&self, binary: &str) -> bool {
        match self {
            Functions::Linked { handlers, .. } => handlers(binary).is_some(),
            Functions::Processes(pool) => pool.runs(binary),
        }
    }

    /// The response of the function built from `binary` to `event`; `None` when there is
    /// none (the function failed, timed out or could not run: logged).
    pub async fn invoke(&self, binary: &str, api: Api, event: Value) -> Option<Response<Bytes>> {
        match self {
            Functions::Linked { app, handlers, concurrency, .. } => {
                let handler = handlers(binary)?;
                let request = lambda_request(api, event)
                    .inspect_err(|error| tracing::error!(%error, "could not read the event as the runtime does"))
                    .ok()?;
                let _running = concurrency.invocation(binary).await;
                let response = shared::http::serve(app, request, handler)
                    .await
                    .inspect_err(|error| tracing::error!(%error, "handler failed"))
                    .ok()?;
                let (parts, body) = response.into_parts();
                Some(Response::from_parts(parts, Bytes::from(body.to_vec())))
            }
            Functions::Processes(pool) => {
                let document = pool
                    .invoke(binary, event)
                    .await
                    .inspect_err(|failure| tracing::error!(function = binary, %failure, "invocation failed"))
                    .ok()?;
                http_response(api, document)
                    .inspect_err(|error| tracing::error!(function = binary, %error, "malformed Lambda proxy response"))
                    .ok()
            }
        }
    }
}

/// The request the Lambda runtime hands the function for `event`.
pub(crate) fn lambda_request(api: Api, event: Value) -> Result<Request, serde_json::Error> {
    use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest};
    use lambda_http::request::LambdaRequest;
    Ok(match api {
        Api::Http => LambdaRequest::ApiGatewayV2(serde_json::from_value::<ApiGatewayV2httpRequest>(event)?),
        Api::WebSocket => LambdaRequest::WebSocket(serde_json::from_value::<ApiGatewayWebsocketProxyRequest>(event)?),
    }
    .into())
}

/// The HTTP response API Gateway makes of a function's response document.
fn http_response(api: Api, document: Value) -> Result<Response<Bytes>, String> {
    let (status, headers, multi_value_headers, body, base64, cookies) = match api {
        Api::Http => {
            let r: ApiGatewayV2httpResponse = serde_json::from_value(document).map_err(|e| e.to_string())?;
            (r.status_code, r.headers, r.multi_value_headers, r.body, r.is_base64_encoded, r.cookies)
        }
        Api::WebSocket => {
            let r: ApiGatewayProxyResponse = serde_json::from_value(document).map_err(|e| e.to_string())?;
            (r.status_code, r.headers, r.multi_value_headers, r.body, r.is_base64_encoded, Vec::new())
        }
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| format!("statusCode {status}"))?;
    let body = match body {
        None | Some(EventBody::Empty) => Bytes::new(),
        Some(EventBody::Text(text)) if base64 => {
            Bytes::from(BASE64_STANDARD.decode(text).map_err(|e| format!("body is not base64: {e}"))?)
        }
        Some(EventBody::Text(text)) => Bytes::from(text),
        Some(EventBody::Binary(bytes)) => Bytes::from(bytes),
        Some(_) => return Err("an unknown body shape".into()),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let merged: &mut HeaderMap = response.headers_mut();
    for (name, value) in multi_value_headers.iter() {
        merged.append(name, value.clone());
    }
    for (name, value) in headers.iter() {
        merged.insert(name, value.clone());
    }
    for cookie in cookies {
        let value = http::HeaderValue::from_str(&cookie).map_err(|e| format!("cookie: {e}"))?;
        merged.append(http::header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_response_document_becomes_the_http_response() {
        let document = json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "body": "{\"id\":1}",
            "isBase64Encoded": false,
            "cookies": ["a=1"],
        });
        let response = http_response(Api::Http, document).unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers().get_all("x-many").iter().count(), 2);
        assert_eq!(response.headers()["set-cookie"], "a=1");
        assert_eq!(response.body().as_ref(), b"{\"id\":1}");

        let binary = json!({"statusCode": 200, "body": BASE64_STANDARD.encode([0u8, 255]), "isBase64Encoded": true});
        assert_eq!(http_response(Api::WebSocket, binary).unwrap().body().as_ref(), [0u8, 255]);
        assert!(http_response(Api::Http, json!({"statusCode": 99})).is_err());
        assert!(http_response(Api::Http, json!("not a response")).is_err());
    }
}
