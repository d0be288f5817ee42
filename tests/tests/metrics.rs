//! The figures an operator watches, as CloudWatch reads them: every invocation line of a
//! conversation, from its opening to the sweep after its close, parsed as Embedded Metric
//! Format by the specification's rules, and the product's figures found where they belong.

use e2e::cast::{SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::emf::{absent, emf, value};
use e2e::gateway::{Gateway, post_json};
use serde_json::{Value, json};

async fn post(gateway: &Gateway, path: &str, token: &str, body: Value, expected: u16) -> Value {
    let (status, answer) = post_json(&gateway.url(path), Some(token), &body).await;
    assert_eq!(status, expected, "{path}: {answer}");
    answer
}

#[tokio::test]
async fn every_line_is_embedded_metric_format_with_the_figures_where_they_belong() {
    // With a webhook queue, so that the table's changes are read as in AWS, where the stream
    // always is.
    let queue = e2e::stack::moto().endpoint();
    let gateway = Gateway::start_with(&["--queue-endpoint", &queue, "--table", &e2e::stack::unique_name("metrics")]);
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    const SEND: &str = "POST /v1/chat/store/messages/";
    const REPLY: &str = "POST /v1/chat/admin/messages/";
    const CLOSE: &str = "POST /v1/chat/admin/session/close/";

    let hello = post(&gateway, "/v1/chat/store/messages/", &store, json!({ "content": "Hello?" }), 201).await;
    let session = json!(hello["session_id"]);
    post(&gateway, "/v1/chat/store/messages/", &store, json!({ "content": "Anyone?" }), 201).await;
    post(&gateway, "/v1/chat/admin/session/claim/", &sarah, json!({ "session_id": session }), 200).await;
    let reply = json!({ "session_id": session, "content": "Hi!" });
    post(&gateway, "/v1/chat/admin/messages/", &sarah, reply.clone(), 201).await;
    post(&gateway, "/v1/chat/admin/messages/", &sarah, reply, 201).await;
    post(&gateway, "/v1/chat/admin/messages/", &sarah, json!({ "content": "no session" }), 400).await;
    post(&gateway, "/v1/chat/admin/session/close/", &sarah, json!({ "session_id": session }), 200).await;

    // Each route's requests, errors and latency, per route and over all of them.
    let per_route: &[&[&str]] = &[&["Route"], &[]];
    let opening = gateway.invocation_of(SEND, 1);
    assert_eq!(opening["Route"], SEND);
    assert_eq!(value(&opening, "Requests", "Count", per_route), 1.0);
    assert_eq!(value(&opening, "ServerErrors", "Count", per_route), 0.0);
    assert_eq!(value(&opening, "ClientErrors", "Count", per_route), 0.0);
    assert!(value(&opening, "Latency", "Milliseconds", per_route) > 0.0);
    let refused = gateway.invocation_of(REPLY, 3);
    assert_eq!(refused["status"], 400);
    assert_eq!(value(&refused, "ClientErrors", "Count", per_route), 1.0);
    absent(&refused, "MessagesSent");

    // The product's figures, without dimensions, in the lines of what made them.
    assert_eq!(value(&opening, "SessionsOpened", "Count", &[&[]]), 1.0);
    assert_eq!(value(&opening, "MessagesSent", "Count", &[&[]]), 1.0);
    let second = gateway.invocation_of(SEND, 2);
    assert_eq!(value(&second, "MessagesSent", "Count", &[&[]]), 1.0);
    absent(&second, "SessionsOpened");
    // The store's wait for the first answer, counted once, from the committed change, by
    // the function the table's stream invokes.
    let counted = gateway.wait_for_line(|line| line.contains("\"FirstResponseTime\""));
    let counted: Value = serde_json::from_str(&counted).unwrap();
    assert_eq!(counted["route"], "stream table-events");
    let waited = value(&counted, "FirstResponseTime", "Seconds", &[&[]]);
    let opened = chrono_millis(&hello["created"]);
    let answered = chrono_millis(&json!(gateway.invocation_of(REPLY, 1)["timestamp"]));
    assert!(waited > 0.0 && waited * 1000.0 <= (answered - opened) as f64 + 1.0, "{waited}");
    assert_eq!(value(&gateway.invocation_of(CLOSE, 1), "SessionsClosed", "Count", &[&[]]), 1.0);

    // The sweep says what waits: first nothing, then a store that wrote and nobody took.
    gateway.run_scheduled("AssignmentSweepFunction").await;
    let quiet = gateway.invocation_of("schedule", 1);
    assert_eq!(value(&quiet, "SessionsWaiting", "Count", &[&[]]), 0.0);
    assert_eq!(value(&quiet, "OldestWaitingSeconds", "Seconds", &[&[]]), 0.0);
    post(&gateway, "/v1/chat/store/messages/", &store, json!({ "content": "Again" }), 201).await;
    gateway.run_scheduled("AssignmentSweepFunction").await;
    let waiting = gateway.invocation_of("schedule", 2);
    assert_eq!(value(&waiting, "SessionsWaiting", "Count", &[&[]]), 1.0);
    assert!(value(&waiting, "OldestWaitingSeconds", "Seconds", &[&[]]) > 0.0);

    // And every line the gateway printed for an invocation is valid EMF; the first answer was
    // counted once.
    let lines = gateway.invocations();
    assert!(lines.len() >= 10);
    assert_eq!(lines.iter().filter(|line| line.get("FirstResponseTime").is_some()).count(), 1);
    for line in &lines {
        emf(line);
    }
}

/// Milliseconds since the epoch of an RFC 3339 instant.
fn chrono_millis(instant: &Value) -> i64 {
    let text = instant.as_str().unwrap_or_else(|| panic!("{instant} is no instant"));
    shared::Timestamp::parse(text).unwrap().unix_millis()
}
