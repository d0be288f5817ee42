//! The template's scheduled functions, run on their `rate(...)` as EventBridge runs them, in
//! either of the gateway's modes; and run at once through the Lambda Invoke API
//! (`POST /2015-03-31/functions/<name>/invocations`, as `aws lambda invoke` calls it), so
//! that a person or a test need not wait for the next tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{Method, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Bytes;
use sam_template::ScheduledFunction;
use serde_json::json;

use crate::invoke::Functions;

/// The Lambda Invoke API's path prefix.
const INVOKE_PREFIX: &str = "/2015-03-31/functions/";

pub struct Schedules {
    functions: Vec<ScheduledFunction>,
    runs: AtomicU64,
}

impl Schedules {
    pub fn new(functions: Vec<ScheduledFunction>) -> Self {
        Schedules { functions, runs: AtomicU64::new(0) }
    }

    /// Runs each function every time its rate comes round, the first a full period from now,
    /// for as long as the gateway runs.
    pub fn start(self: &Arc<Self>, functions: Arc<Functions>) {
        for scheduled in &self.functions {
            let (schedules, functions, scheduled) = (self.clone(), functions.clone(), scheduled.clone());
            tokio::spawn(async move {
                let mut ticks =
                    tokio::time::interval_at(tokio::time::Instant::now() + scheduled.every, scheduled.every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    ticks.tick().await;
                    if let Err(error) = schedules.run(&functions, &scheduled).await {
                        tracing::error!(function = scheduled.function, %error, "a scheduled run failed");
                    }
                }
            });
        }
    }

    async fn run(&self, functions: &Functions, scheduled: &ScheduledFunction) -> Result<serde_json::Value, String> {
        let run = self.runs.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("scheduled-{}-{run}", scheduled.function);
        functions.invoke_scheduled(&scheduled.binary, &request_id).await
    }

    /// The answer to a Lambda Invoke request, if `path` is one: the function's result, or
    /// Lambda's error for an unknown function or a failed run.
    pub async fn invoke(&self, functions: &Functions, method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
        let name = path.strip_prefix(INVOKE_PREFIX)?.strip_suffix("/invocations")?;
        if method != Method::POST {
            return Some(respond(StatusCode::METHOD_NOT_ALLOWED, None, json!({ "Message": "Method Not Allowed" })));
        }
        let Some(scheduled) = self.functions.iter().find(|f| f.function == name || f.binary == name) else {
            let error = json!({ "Type": "User", "Message": format!("Function not found: {name}") });
            return Some(respond(StatusCode::NOT_FOUND, Some("ResourceNotFoundException"), error));
        };
        Some(match self.run(functions, scheduled).await {
            Ok(answer) => respond(StatusCode::OK, None, answer),
            // Lambda answers 200 and says in a header that the function failed.
            Err(error) => {
                let mut response = respond(StatusCode::OK, None, json!({ "errorMessage": error }));
                response.headers_mut().insert("x-amz-function-error", http::HeaderValue::from_static("Unhandled"));
                response
            }
        })
    }
}

fn respond(status: StatusCode, error_type: Option<&'static str>, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("status and header are valid");
    if let Some(error_type) = error_type {
        response.headers_mut().insert("x-amzn-errortype", http::HeaderValue::from_static(error_type));
    }
    response
}
