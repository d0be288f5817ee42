//! Speed, measured: how long each function takes to start (until it asks the Runtime API for
//! its first event) and to answer, and the latency of the main routes through the local
//! gateway on the embedded store. Prints tables; stops only if a request fails.
//!
//! `cargo build --release --workspace --bins && target/release/bench`

use std::time::{Duration, Instant};

use e2e::cast::{SARAH, TECH_STORE, seed, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::runtime_api::{RuntimeApi, function_command};
use e2e::stack::{dynamodb, fresh_table};
use serde_json::{Value, json};
use shared::storage::DynamoStore;

const COLD_STARTS: usize = 5;
const REQUESTS: usize = 200;

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Starts `function` against `table` and returns (time to its first poll, time to answer).
async fn cold_start(function: &str, table: &str, event: Value) -> (Duration, Duration) {
    let api = RuntimeApi::start().await;
    let id = api.queue(event);
    let started = Instant::now();
    let mut child = function_command(function, &api, table)
        .env("LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the function starts");
    api.outcome(&id).await;
    let answered = started.elapsed();
    let init = api.first_poll().expect("the function polled") - started;
    let _ = child.start_kill();
    (init, answered)
}

fn recorded_event(function: &str, token: &str) -> Value {
    let mut event = e2e::stack::recorded_event(function);
    event["headers"]["authorization"] = json!(format!("Token {token}"));
    event
}

#[tokio::main]
async fn main() {
    let table = fresh_table().await;
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    seed().load_into(&store).await.unwrap();

    println!("Cold start against DynamoDB Local ({COLD_STARTS} starts each; init = until the first poll)\n");
    println!("| function | init p50 | init max | first answer p50 |");
    println!("|---|---|---|---|");
    for (function, token) in [
        ("store-get-session", token_of_store(TECH_STORE)),
        ("admin-list-sessions", token_of_admin(SARAH)),
        ("store-send-message", token_of_store(TECH_STORE)),
    ] {
        let mut inits = Vec::new();
        let mut answers = Vec::new();
        for _ in 0..COLD_STARTS {
            let (init, answer) = cold_start(function, &table, recorded_event(function, &token)).await;
            inits.push(init);
            answers.push(answer);
        }
        inits.sort();
        answers.sort();
        println!(
            "| {function} | {:.1} ms | {:.1} ms | {:.1} ms |",
            millis(percentile(&inits, 0.5)),
            millis(*inits.last().unwrap()),
            millis(percentile(&answers, 0.5))
        );
    }

    let gateway = Gateway::start();
    let (store_token, admin_token) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    let session = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store_token)).await.1["id"].clone();
    post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(&admin_token), &json!({"session_id": session})).await;
    println!("\nRoutes through the local gateway, embedded store ({REQUESTS} sequential requests each)\n");
    println!("| route | p50 | p95 | max |");
    println!("|---|---|---|---|");
    let view = format!("/v1/chat/admin/session/?session_id={session}");
    let routes: [(&str, &str, &str, Value); 4] = [
        ("GET", "/v1/chat/store/session/", &store_token, Value::Null),
        ("GET", &view, &admin_token, Value::Null),
        ("POST", "/v1/chat/store/messages/", &store_token, json!({"content": "benchmark"})),
        ("POST", "/v1/chat/admin/messages/", &admin_token, json!({"session_id": session, "content": "benchmark"})),
    ];
    for (method, path, token, body) in routes {
        let mut latencies = Vec::with_capacity(REQUESTS);
        for _ in 0..REQUESTS {
            let started = Instant::now();
            let (status, _) = match method {
                "GET" => get_json(&gateway.url(path), Some(token)).await,
                _ => post_json(&gateway.url(path), Some(token), &body).await,
            };
            latencies.push(started.elapsed());
            assert!(status < 300, "{method} {path}: {status}");
        }
        latencies.sort();
        let route = path.split('?').next().unwrap_or(path);
        println!(
            "| {method} {route} | {:.2} ms | {:.2} ms | {:.2} ms |",
            millis(percentile(&latencies, 0.5)),
            millis(percentile(&latencies, 0.95)),
            millis(*latencies.last().unwrap())
        );
    }
}
