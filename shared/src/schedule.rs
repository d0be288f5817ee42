//! Functions that run on a schedule (a SAM `Schedule` event, an EventBridge rule) rather
//! than behind a route: the event says nothing they need, and their answer is what they did.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use serde_json::Value;

use crate::{App, ChatError, deadline, telemetry};

/// What a scheduled function does on each run, over the instance's [`App`].
pub type ScheduledHandler = for<'a> fn(&'a App) -> Pin<Box<dyn Future<Output = Result<Value, ChatError>> + Send + 'a>>;

/// A scheduled function's whole `main`: JSON logs, the deployed wiring built once per
/// instance, then `handler` for every event the Lambda runtime hands over.
pub fn run(handler: ScheduledHandler) -> Result<(), crate::http::Error> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        telemetry::init();
        let app = App::from_env().await?;
        let service =
            lambda_http::lambda_runtime::service_fn(|event: lambda_http::lambda_runtime::LambdaEvent<Value>| {
                let request_id = event.context.request_id.clone();
                let app = &app;
                async move { run_once(app, handler, &request_id).await }
            });
        lambda_http::lambda_runtime::run(service).await
    })
}

/// One run of `handler`, within the deadline, logged as one line like every invocation; a
/// failure fails the invocation (Lambda records it and the next run tries again).
pub async fn run_once(app: &App, handler: ScheduledHandler, request_id: &str) -> Result<Value, crate::http::Error> {
    let started = Instant::now();
    let (outcome, calls) = telemetry::count_calls(deadline::within(deadline::SCHEDULED_DEADLINE, handler(app))).await;
    let outcome = outcome.unwrap_or(Err(ChatError::Unavailable));
    let status = if outcome.is_ok() { 200 } else { 503 };
    telemetry::log_invocation("schedule", status, Some(request_id), None, started.elapsed(), &calls);
    Ok(outcome?)
}
