//! Structured JSON logs, the count of DynamoDB calls each invocation makes, and the figures
//! an operator watches, published as CloudWatch Embedded Metric Format in the same line.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, Input,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use tracing_subscriber::EnvFilter;

/// JSON lines on stdout (CloudWatch takes them as they are). The level comes from
/// `LOG_LEVEL` (or `RUST_LOG`), `info` by default.
pub fn init() {
    let filter = std::env::var("LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .map(EnvFilter::new)
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Another subscriber may already be installed (tests, the local gateway); keep it.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}

/// What one invocation sent to other services.
#[derive(Debug, Default)]
pub struct Calls {
    /// DynamoDB requests (one per call, however often the SDK tried it).
    pub dynamodb: AtomicU32,
    /// DynamoDB attempts: the requests and the SDK's retries of them.
    pub dynamodb_attempts: AtomicU32,
    /// Attempts of `TransactWriteItems`: a send's or a change's write, and its tries again.
    pub transaction_attempts: AtomicU32,
    /// The part of `dynamodb` spent on live delivery (finding connections, recording
    /// deliveries), after the request's own work.
    pub live_dynamodb: AtomicU32,
    /// Posts to WebSocket connections.
    pub pushes: AtomicU32,
    /// WebSocket connections closed through the `@connections` API.
    pub disconnects: AtomicU32,
    /// Requests to S3 (presigning is none).
    pub s3: AtomicU32,
    /// `PutEvents` requests to the event bus.
    pub event_puts: AtomicU32,
    /// `GetSecretValue` requests to Secrets Manager (the HS256 secret, once per instance
    /// and rotation).
    pub secret_reads: AtomicU32,
    /// Requests to the webhook delivery queue (SQS).
    pub queue_calls: AtomicU32,
    /// Webhook deliveries posted to receivers.
    pub webhook_posts: AtomicU32,
    /// `SendEmail` requests to SES.
    pub emails_sent: AtomicU32,
    /// The SQS actions the queue requests needed.
    pub queue_actions: Mutex<BTreeSet<String>>,
    /// The IAM actions the DynamoDB requests needed (`Query` on an index as
    /// `Query:<index>`): what the function's policy must allow.
    pub dynamodb_actions: Mutex<BTreeSet<String>>,
    /// The S3 actions the function's requests and the requests it presigned need, each
    /// with the first part of the key (`GetObject:sessions`).
    pub s3_actions: Mutex<BTreeSet<String>>,
    /// Sequential round trips: how often a remote call (a DynamoDB or S3 request, a push or a
    /// disconnect) started while no other was in flight. Calls made side by side count once.
    pub round_trips: AtomicU32,
    in_flight: AtomicU32,
    /// What the invocation did that an operator watches, in the order it happened.
    pub figures: Mutex<Vec<(Figure, f64)>>,
}

/// A figure of the product, beside the requests, errors and latency every line carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Figure {
    MessagesSent,
    SessionsOpened,
    SessionsClosed,
    /// From the store's first message in a session to the team's first answer.
    FirstResponseTime,
    /// Sessions nobody holds, as the scheduled sweep found them.
    SessionsWaiting,
    /// How long the longest-waiting of them has waited.
    OldestWaitingSeconds,
    WebhookFailures,
    EmailFailures,
    /// Live deliveries that found the recipient's connection gone.
    GoneConnections,
}

impl Figure {
    pub const ALL: [Figure; 9] = [
        Figure::MessagesSent,
        Figure::SessionsOpened,
        Figure::SessionsClosed,
        Figure::FirstResponseTime,
        Figure::SessionsWaiting,
        Figure::OldestWaitingSeconds,
        Figure::WebhookFailures,
        Figure::EmailFailures,
        Figure::GoneConnections,
    ];

    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Figure::MessagesSent => "MessagesSent",
            Figure::SessionsOpened => "SessionsOpened",
            Figure::SessionsClosed => "SessionsClosed",
            Figure::FirstResponseTime => "FirstResponseTime",
            Figure::SessionsWaiting => "SessionsWaiting",
            Figure::OldestWaitingSeconds => "OldestWaitingSeconds",
            Figure::WebhookFailures => "WebhookFailures",
            Figure::EmailFailures => "EmailFailures",
            Figure::GoneConnections => "GoneConnections",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Figure::FirstResponseTime | Figure::OldestWaitingSeconds => "Seconds",
            _ => "Count",
        }
    }

    /// A count adds up within an invocation; a time or a level is a sample of its own.
    fn adds_up(self) -> bool {
        self.unit() == "Count" && self != Figure::SessionsWaiting
    }
}

/// Notes `value` of `figure` for the current invocation's line.
pub fn record(figure: Figure, value: f64) {
    let _ = CALLS.try_with(|calls| calls.figures.lock().unwrap_or_else(|p| p.into_inner()).push((figure, value)));
}

impl Calls {
    /// The DynamoDB actions, space-separated, sorted.
    pub fn actions(&self) -> String {
        joined(&self.dynamodb_actions)
    }

    /// The S3 actions, space-separated, sorted.
    pub fn s3_actions(&self) -> String {
        joined(&self.s3_actions)
    }

    /// The SQS actions, space-separated, sorted.
    pub fn queue_actions(&self) -> String {
        joined(&self.queue_actions)
    }
}

fn joined(actions: &Mutex<BTreeSet<String>>) -> String {
    let actions = actions.lock().unwrap_or_else(|p| p.into_inner());
    actions.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
}

tokio::task_local! {
    static CALLS: Arc<Calls>;
    static LIVE_DELIVERY: ();
}

/// Runs `work` as live delivery: its DynamoDB requests count as `live_dynamodb` too.
pub async fn live_delivery<F: Future>(work: F) -> F::Output {
    LIVE_DELIVERY.scope((), work).await
}

/// The one JSON line of an invocation: its route (the route key, `schedule` for a scheduled
/// run), status, latency, request id and what it asked of DynamoDB, S3, Secrets Manager,
/// the event bus, the delivery queue, webhook receivers and `@connections`; and, in
/// CloudWatch Embedded Metric Format, the figures an operator watches, so that metrics cost
/// no request of their own. Written whatever the log level: metrics are not logs to mute.
pub fn log_invocation(
    route: &str,
    status: u16,
    request_id: Option<&str>,
    connection_id: Option<&str>,
    latency: std::time::Duration,
    calls: &Calls,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let now = crate::Timestamp::now();
    let mut line = serde_json::json!({
        "timestamp": now.to_string(),
        "level": "INFO",
        "message": "invocation",
        "route": route,
        "status": status,
        "request_id": request_id,
        "connection_id": connection_id,
        "latency_ms": latency_ms,
        "dynamodb_calls": calls.dynamodb.load(Relaxed),
        "dynamodb_attempts": calls.dynamodb_attempts.load(Relaxed),
        "transaction_attempts": calls.transaction_attempts.load(Relaxed),
        "live_dynamodb_calls": calls.live_dynamodb.load(Relaxed),
        "pushes": calls.pushes.load(Relaxed),
        "disconnects": calls.disconnects.load(Relaxed),
        "s3_calls": calls.s3.load(Relaxed),
        "secret_reads": calls.secret_reads.load(Relaxed),
        "event_puts": calls.event_puts.load(Relaxed),
        "queue_calls": calls.queue_calls.load(Relaxed),
        "webhook_posts": calls.webhook_posts.load(Relaxed),
        "emails_sent": calls.emails_sent.load(Relaxed),
        "round_trips": calls.round_trips.load(Relaxed),
        "dynamodb_actions": calls.actions(),
        "s3_actions": calls.s3_actions(),
        "queue_actions": calls.queue_actions(),
    });
    embed_metrics(&mut line, route, status, latency_ms, calls, now);
    let mut text = line.to_string();
    text.push('\n');
    // One write of the whole line, so that lines of concurrent invocations never interleave.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
}

/// The namespace of the product's metrics (`METRICS_NAMESPACE`: one per deployment).
fn namespace() -> String {
    std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "SupportChat".to_owned())
}

/// Adds to `line` the members and the directive of Embedded Metric Format: the route's
/// requests, errors and latency, and the figures the invocation recorded.
fn embed_metrics(
    line: &mut serde_json::Value,
    route: &str,
    status: u16,
    latency_ms: f64,
    calls: &Calls,
    now: crate::Timestamp,
) {
    line["Route"] = serde_json::json!(route);
    line["Requests"] = serde_json::json!(1);
    line["ServerErrors"] = serde_json::json!(u8::from(status >= 500));
    line["ClientErrors"] = serde_json::json!(u8::from((400..500).contains(&status)));
    line["Latency"] = serde_json::json!(latency_ms);
    let mut figures = vec![];
    let recorded = std::mem::take(&mut *calls.figures.lock().unwrap_or_else(|p| p.into_inner()));
    for figure in Figure::ALL {
        let values: Vec<f64> = recorded.iter().filter(|(f, _)| *f == figure).map(|(_, value)| *value).collect();
        let value = match values.as_slice() {
            [] => continue,
            [one] => serde_json::json!(one),
            _ if figure.adds_up() => serde_json::json!(values.iter().sum::<f64>()),
            // Several samples of a time: EMF takes them as one array.
            many => serde_json::json!(many),
        };
        line[figure.name()] = value;
        figures.push(serde_json::json!({ "Name": figure.name(), "Unit": figure.unit() }));
    }
    let per_route = serde_json::json!([
        { "Name": "Requests", "Unit": "Count" },
        { "Name": "ServerErrors", "Unit": "Count" },
        { "Name": "ClientErrors", "Unit": "Count" },
        { "Name": "Latency", "Unit": "Milliseconds" },
    ]);
    let namespace = namespace();
    let mut directives = vec![serde_json::json!({
        "Namespace": namespace,
        // Per route, and over all routes (the empty set): what the alarms watch.
        "Dimensions": [["Route"], []],
        "Metrics": per_route,
    })];
    if !figures.is_empty() {
        directives.push(serde_json::json!({ "Namespace": namespace, "Dimensions": [[]], "Metrics": figures }));
    }
    line["_aws"] = serde_json::json!({ "Timestamp": now.unix_millis(), "CloudWatchMetrics": directives });
}

/// Runs `work` and counts the DynamoDB requests and pushes it makes.
pub async fn count_calls<F: Future>(work: F) -> (F::Output, Arc<Calls>) {
    let calls = Arc::new(Calls::default());
    let output = CALLS.scope(calls.clone(), work).await;
    (output, calls)
}

impl Calls {
    fn remote_call_started(&self) {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            self.round_trips.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn remote_call_ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A remote call of the current invocation, in flight until dropped.
#[derive(Debug)]
#[must_use = "the call is in flight until this is dropped"]
pub struct RemoteCall(Option<Arc<Calls>>);

/// A DynamoDB request in flight, kept in the request's own config bag, so that it ends with
/// the request however the request ends: answered, failed, timed out or dropped.
#[derive(Clone, Debug)]
struct InFlight(#[allow(dead_code)] Arc<RemoteCall>);

impl Storable for InFlight {
    type Storer = StoreReplace<Self>;
}

impl Drop for RemoteCall {
    fn drop(&mut self) {
        if let Some(calls) = &self.0 {
            calls.remote_call_ended();
        }
    }
}

fn remote_call() -> RemoteCall {
    let calls = CALLS.try_with(Arc::clone).ok();
    if let Some(calls) = &calls {
        calls.remote_call_started();
    }
    RemoteCall(calls)
}

/// Notes that the current invocation made or signed a request needing the S3 `action` on
/// `key`: the function's role must allow it there, or the request is refused.
pub fn record_s3_action(action: &str, key: &str) {
    let prefix = key.split('/').next().unwrap_or_default();
    let _ = CALLS.try_with(|calls| {
        calls.s3_actions.lock().unwrap_or_else(|p| p.into_inner()).insert(format!("{action}:{prefix}"));
    });
}

/// Counts one request to S3 for the current invocation; in flight until the guard drops.
pub fn record_s3_request() -> RemoteCall {
    let _ = CALLS.try_with(|calls| calls.s3.fetch_add(1, Ordering::Relaxed));
    remote_call()
}

/// Counts one `PutEvents` for the current invocation; in flight until the guard drops.
pub fn record_event_put() -> RemoteCall {
    let _ = CALLS.try_with(|calls| calls.event_puts.fetch_add(1, Ordering::Relaxed));
    remote_call()
}

/// Counts one `GetSecretValue` for the current invocation; in flight until the guard drops.
pub fn record_secret_read() -> RemoteCall {
    let _ = CALLS.try_with(|calls| calls.secret_reads.fetch_add(1, Ordering::Relaxed));
    remote_call()
}

/// Counts one request to the delivery queue, needing the SQS `action`; in flight until the
/// guard drops.
pub fn record_queue_call(action: &str) -> RemoteCall {
    let _ = CALLS.try_with(|calls| {
        calls.queue_calls.fetch_add(1, Ordering::Relaxed);
        calls.queue_actions.lock().unwrap_or_else(|p| p.into_inner()).insert(action.to_owned());
    });
    remote_call()
}

/// Counts one `SendEmail` request; in flight until the guard drops.
pub fn record_email_send() -> RemoteCall {
    let _ = CALLS.try_with(|calls| calls.emails_sent.fetch_add(1, Ordering::Relaxed));
    remote_call()
}

/// Counts one webhook delivery posted; in flight until the guard drops.
pub fn record_webhook_post() -> RemoteCall {
    let _ = CALLS.try_with(|calls| calls.webhook_posts.fetch_add(1, Ordering::Relaxed));
    remote_call()
}

/// Counts one push for the current invocation; it is in flight until the guard is dropped.
pub fn record_push() -> RemoteCall {
    let _ = CALLS.try_with(|calls| calls.pushes.fetch_add(1, Ordering::Relaxed));
    remote_call()
}

/// Counts one closed connection for the current invocation; in flight until the guard drops.
pub fn record_disconnect() -> RemoteCall {
    let _ = CALLS.try_with(|calls| calls.disconnects.fetch_add(1, Ordering::Relaxed));
    remote_call()
}

/// An SDK interceptor that counts the current invocation's DynamoDB requests (once per call)
/// and their attempts (retries included), and the IAM actions they need.
#[derive(Debug, Default)]
pub struct DynamoCallCounter;

impl Intercept for DynamoCallCounter {
    fn name(&self) -> &'static str {
        "DynamoCallCounter"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let live = LIVE_DELIVERY.try_with(|_| ()).is_ok();
        let _ = CALLS.try_with(|calls| {
            calls.dynamodb.fetch_add(1, Ordering::Relaxed);
            if live {
                calls.live_dynamodb.fetch_add(1, Ordering::Relaxed);
            }
        });
        cfg.interceptor_state().store_put(InFlight(Arc::new(remote_call())));
        Ok(())
    }

    /// Once per request, as the operation's configuration (its name) is known by now.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(Metadata::name).unwrap_or_default();
        let actions = iam_actions(operation, context.input());
        let _ = CALLS.try_with(|calls| {
            calls.dynamodb_actions.lock().unwrap_or_else(|p| p.into_inner()).extend(actions);
        });
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let transaction = cfg.load::<Metadata>().is_some_and(|operation| operation.name() == "TransactWriteItems");
        let _ = CALLS.try_with(|calls| {
            calls.dynamodb_attempts.fetch_add(1, Ordering::Relaxed);
            if transaction {
                calls.transaction_attempts.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(())
    }
}

/// The IAM actions a DynamoDB request needs, from its operation and typed input (read as
/// it is, not from the serialised request): a transaction needs the action of each item it
/// writes, a Query on an index is told apart.
fn iam_actions(operation: &str, input: &Input) -> Vec<String> {
    if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
        let action = |item: &TransactWriteItem| {
            let kinds = [
                (item.put.is_some(), "PutItem"),
                (item.update.is_some(), "UpdateItem"),
                (item.delete.is_some(), "DeleteItem"),
                (item.condition_check.is_some(), "ConditionCheckItem"),
            ];
            kinds.into_iter().find(|(present, _)| *present).map(|(_, action)| action.to_owned())
        };
        return transaction.transact_items().iter().filter_map(action).collect();
    }
    match input.downcast_ref::<QueryInput>().and_then(QueryInput::index_name) {
        Some(index) => vec![format!("Query:{index}")],
        None => vec![operation.to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, Update};

    use super::*;

    #[test]
    fn names_the_actions_a_request_needs() {
        let get = aws_sdk_dynamodb::operation::get_item::GetItemInput::builder().build().unwrap();
        assert_eq!(iam_actions("GetItem", &Input::erase(get)), ["GetItem"]);
        let on_index = QueryInput::builder().index_name("ByPrincipal").build().unwrap();
        assert_eq!(iam_actions("Query", &Input::erase(on_index)), ["Query:ByPrincipal"]);
        let on_table = QueryInput::builder().table_name("t").build().unwrap();
        assert_eq!(iam_actions("Query", &Input::erase(on_table)), ["Query"]);
        let key = AttributeValue::S("k".into());
        let update =
            Update::builder().table_name("t").key("PK", key.clone()).update_expression("SET a = :a").build().unwrap();
        let put = Put::builder().table_name("t").item("PK", key.clone()).build().unwrap();
        let delete = Delete::builder().table_name("t").key("PK", key).build().unwrap();
        let transaction = TransactWriteItemsInput::builder()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .build()
            .unwrap();
        assert_eq!(
            iam_actions("TransactWriteItems", &Input::erase(transaction)),
            ["UpdateItem", "PutItem", "DeleteItem"]
        );
    }
}
