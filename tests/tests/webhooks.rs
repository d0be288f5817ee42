//! Webhooks, as a platform uses them: subscriptions managed through the platform API, and
//! deliveries that reach every receiver signed, once per event after deduplication and in
//! each session's order, however badly another receiver behaves; dead deliveries replayed
//! by the operator; and the receiver example of docs/events.md refusing forged and stale ones.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use e2e::cast::{OMAR, SARAH, load_stores, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, post_json};
use e2e::on_every_stack;
use e2e::platform::Signed;
use e2e::receiver::{Answer, Receiver, Taken};
use e2e::stack::{fresh_table, moto};
use serde_json::{Value, json};
use shared::domain::StoreId;

/// Subscribes `url` to `types` through the platform API: its id and secret.
async fn subscribe(gateway: &Gateway, url: &str, types: &[&str]) -> (String, String) {
    let (status, answer) =
        Signed::post("/v1/platform/webhooks/", json!({"url": url, "event_types": types})).send(gateway).await;
    assert_eq!(status, 201, "{answer}");
    (answer["webhook"]["id"].as_str().unwrap().to_owned(), answer["secret"].as_str().unwrap().to_owned())
}

async fn subscriptions_are_managed_through_the_platform_api(gateway: Gateway) {
    let gateway = &gateway;
    let create = |body: Value| async move { Signed::post("/v1/platform/webhooks/", body).send(gateway).await };
    let (id, secret) = subscribe(gateway, "https://hooks.example.com/chat", &["session.closed", "session.rated"]).await;
    assert!(id.starts_with("wh_") && secret.starts_with("whsec_") && secret.len() > 40, "{id} {secret}");
    // A secret the platform chose is kept as given; a short one is refused.
    let chosen = "c".repeat(32);
    let (status, answer) =
        create(json!({"url": "https://crm.example.com/in", "event_types": ["*"], "secret": chosen})).await;
    assert_eq!((status, answer["secret"].as_str()), (201, Some(chosen.as_str())), "{answer}");
    for (body, why) in [
        (json!({"url": "http://hooks.example.com/", "event_types": ["*"]}), "https"),
        (json!({"url": "not a url", "event_types": ["*"]}), "absolute"),
        (json!({"url": "https://x.example/", "event_types": ["session.exploded"]}), "unknown event type"),
        (json!({"url": "https://x.example/", "event_types": []}), "at least one"),
        (json!({"url": "https://x.example/", "event_types": ["*"], "secret": "short"}), "secret"),
        (json!({"url": "https://x.example/"}), "event_types"),
    ] {
        let (status, answer) = create(body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(why), "{why}: {answer}");
    }
    // Listed without their secrets.
    let (status, listed) = Signed::get("/v1/platform/webhooks/").send(gateway).await;
    assert_eq!(status, 200, "{listed}");
    let hooks = listed["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0]["id"], id.as_str());
    assert_eq!(hooks[0]["event_types"], json!(["session.closed", "session.rated"]));
    assert!(!listed.to_string().contains("whsec_") && !listed.to_string().contains(&chosen));
    // An empty log; an unknown subscription is a 404.
    let (status, log) = Signed::get(&format!("/v1/platform/webhooks/deliveries/?webhook_id={id}")).send(gateway).await;
    assert_eq!((status, log["deliveries"].clone()), (200, json!([])), "{log}");
    let unknown = "wh_00000000000000000000000000000000";
    let (status, _) =
        Signed::get(&format!("/v1/platform/webhooks/deliveries/?webhook_id={unknown}")).send(gateway).await;
    assert_eq!(status, 404);
    let (status, _) = Signed::get("/v1/platform/webhooks/deliveries/?webhook_id=x&limit=0").send(gateway).await;
    assert_eq!(status, 400);
    // Deleted once.
    let delete = Signed::post("/v1/platform/webhooks/delete/", json!({"webhook_id": id}));
    assert_eq!(delete.send(gateway).await.0, 200);
    assert_eq!(delete.send(gateway).await.0, 404);
    let (_, listed) = Signed::get("/v1/platform/webhooks/").send(gateway).await;
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);
    // At most 25 subscriptions.
    for n in 1..25 {
        subscribe(gateway, &format!("https://hooks.example.com/{n}"), &["*"]).await;
    }
    let (status, answer) = create(json!({"url": "https://one.too.many/", "event_types": ["*"]})).await;
    assert_eq!(status, 409, "{answer}");
}

on_every_stack!(subscriptions_are_managed_through_the_platform_api);

/// The gateway's options that deliver webhooks through the test binary's moto.
fn delivering() -> Vec<String> {
    vec!["--queue-endpoint".into(), moto().endpoint()]
}

/// Each distinct event, first arrival kept: what a receiver that deduplicates by id sees,
/// in the order it saw them.
fn deduplicated(taken: &[Taken]) -> Vec<&Taken> {
    let mut seen = BTreeSet::new();
    taken.iter().filter(|t| seen.insert(t.event["id"].as_str().unwrap().to_owned())).collect()
}

fn sequence(event: &Value) -> (usize, String) {
    let sequence = event["sequence"].as_str().unwrap().to_owned();
    (sequence.len(), sequence)
}

/// The 50th and 95th percentiles of the lags, in milliseconds.
fn lag_percentiles(taken: &[&Taken]) -> (u128, u128) {
    let mut lags: Vec<u128> = taken.iter().map(|t| t.lag.as_millis()).collect();
    lags.sort();
    let at = |p: usize| lags[(lags.len() * p / 100).min(lags.len() - 1)];
    (at(50), at(95))
}

/// Every receiver got every event of the sessions once after deduplication, each session's
/// in the order of the table's stream.
fn assert_complete_and_in_order(name: &str, taken: &[Taken], expected: &BTreeMap<String, usize>) {
    let events = deduplicated(taken);
    let mut by_session: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for taken in &events {
        by_session.entry(taken.event["session_id"].to_string()).or_default().push(&taken.event);
    }
    assert_eq!(by_session.len(), expected.len(), "{name}: every session");
    for (session, events) in by_session {
        let messages = expected[&session];
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
        assert_eq!(count("message.created"), messages, "{name}: session {session}'s messages");
        for kind in ["session.created", "session.claimed", "session.transferred", "session.closed", "session.rated"] {
            assert_eq!(count(kind), 1, "{name}: session {session}'s {kind}");
        }
        let order: Vec<(usize, String)> = events.iter().map(|e| sequence(e)).collect();
        assert!(order.is_sorted(), "{name}: session {session}'s events in the stream's order");
    }
}

/// Sends in sessions, each session through its whole lifecycle, to two receivers: one
/// healthy, one that answers every 7th delivery with a 500, lets every 40th time out, and
/// is down for a while in the middle of the run.
#[tokio::test(flavor = "multi_thread")]
async fn every_event_reaches_every_receiver_once_in_order_however_another_fails() {
    let table = fresh_table().await;
    let start = |args: &[&str]| Gateway::start_on_dynamodb_with(&table, args);
    let Run { sessions, sends, down_for } = Run::chosen();
    every_event_reaches_every_receiver(start, sessions, sends, down_for).await;
}

/// The size of a run: the suite's, or with `WEBHOOK_RUN=full` 1,000 sends in eight sessions
/// and a 30-second outage (minutes on moto's SQS: see docs/events.md).
struct Run {
    sessions: usize,
    sends: usize,
    down_for: Duration,
}

impl Run {
    fn chosen() -> Run {
        match std::env::var("WEBHOOK_RUN").as_deref() {
            Ok("full") => Run { sessions: 8, sends: 1000, down_for: Duration::from_secs(30) },
            _ => Run { sessions: 2, sends: 80, down_for: Duration::from_secs(10) },
        }
    }
}

/// The same from the embedded store's change feed, smaller.
#[tokio::test(flavor = "multi_thread")]
async fn from_the_embedded_store_too() {
    let table = e2e::stack::unique_name("embedded");
    let start = |args: &[&str]| Gateway::start_with(&[args, &["--table", &table]].concat());
    every_event_reaches_every_receiver(start, 2, 40, Duration::from_secs(5)).await;
}

async fn every_event_reaches_every_receiver(
    start: impl FnOnce(&[&str]) -> Gateway,
    sessions: usize,
    sends: usize,
    down_for: Duration,
) {
    let args = delivering();
    let gateway = start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let healthy = Receiver::start(|_| Answer::Take).await;
    let broken = Receiver::start(|n| match n {
        n if n % 40 == 0 => Answer::TooLate,
        n if n % 7 == 0 => Answer::Fail500,
        _ => Answer::Take,
    })
    .await;
    for receiver in [&healthy, &broken] {
        let (_, secret) = subscribe(&gateway, &receiver.url(), &["*"]).await;
        receiver.trust(&secret);
    }
    let stores: Vec<StoreId> = load_stores().take(sessions).collect();
    let (sarah, omar) = (token_of_admin(SARAH), token_of_admin(OMAR));
    let post = |path: &str, token: String, body: Value| {
        let url = gateway.url(path);
        async move {
            let (status, answer) = post_json(&url, Some(&token), &body).await;
            assert!(status < 300, "{url}: {status} {answer}");
            answer
        }
    };
    // Each store sends its share in turns with the others; an admin claims and answers.
    let sends_per_store = sends / stores.len();
    let send_half = |from: usize, to: usize| {
        futures::future::join_all(stores.iter().map(|store| {
            let token = token_of_store(*store);
            async move {
                let mut session = Value::Null;
                for n in from..to {
                    let sent =
                        post("/v1/chat/store/messages/", token.clone(), json!({"content": format!("#{n}")})).await;
                    session = sent["session_id"].clone();
                }
                session
            }
        }))
    };
    let sessions = send_half(0, sends_per_store / 2).await;
    for session in &sessions {
        post("/v1/chat/admin/session/claim/", sarah.clone(), json!({"session_id": session})).await;
        post("/v1/chat/admin/messages/", sarah.clone(), json!({"session_id": session, "content": "On it"})).await;
    }
    broken.go_down();
    send_half(sends_per_store / 2, sends_per_store).await;
    for (store, session) in stores.iter().zip(&sessions) {
        post("/v1/chat/admin/session/transfer/", sarah.clone(), json!({"session_id": session, "admin_id": OMAR.0}))
            .await;
        post("/v1/chat/admin/session/close/", omar.clone(), json!({"session_id": session})).await;
        post("/v1/chat/store/session/rating/", token_of_store(*store), json!({"session_id": session, "rating": 4}))
            .await;
    }
    // Per session: its messages (the store's and one answer) and five lifecycle events.
    let expected: BTreeMap<String, usize> = sessions.iter().map(|s| (s.to_string(), sends_per_store + 1)).collect();
    let events = stores.len() * (sends_per_store + 1 + 5);
    let complete = |taken: &[Taken]| deduplicated(taken).len() >= events;

    // The healthy receiver has everything while the broken one is still down.
    let limit = Duration::from_secs(180).max(Duration::from_millis(600 * sends as u64));
    let went_down = std::time::Instant::now();
    let problems = || {
        let lines = gateway.lines();
        lines.into_iter().filter(|l| l.contains("\"WARN\"") || l.contains("\"ERROR\"")).take(20).collect::<Vec<_>>()
    };
    let healthy_taken = healthy
        .taken_until(limit, complete)
        .await
        .unwrap_or_else(|took| panic!("the healthy receiver took {took} of {events} in time: {:#?}", problems()));
    let healthy_done = went_down.elapsed();
    tokio::time::sleep(down_for.saturating_sub(healthy_done)).await;
    let taken_while_down = broken.taken().len();
    broken.come_back();
    let came_back = std::time::Instant::now();
    let broken_taken = broken
        .taken_until(limit, complete)
        .await
        .unwrap_or_else(|took| panic!("the broken receiver took {took} of {events} in time: {:#?}", problems()));
    let drained = came_back.elapsed();

    assert_complete_and_in_order("healthy", &healthy_taken, &expected);
    assert_complete_and_in_order("broken", &broken_taken, &expected);
    assert_eq!(deduplicated(&healthy_taken).len(), events);
    assert_eq!((healthy.refused(), broken.refused()), (0, 0), "every signature verified");
    assert!(broken_taken.len() > taken_while_down, "the broken receiver took the rest once back");
    assert!(broken.sent() > broken_taken.len() as u64, "it was sent deliveries it failed, and they came again");
    let (healthy_p50, healthy_p95) = lag_percentiles(&deduplicated(&healthy_taken));
    let (broken_p50, broken_p95) = lag_percentiles(&deduplicated(&broken_taken));
    println!(
        "{events} events; commit to receiver, p50/p95: healthy {healthy_p50}/{healthy_p95} ms, broken \
         {broken_p50}/{broken_p95} ms; the healthy one had all {healthy_done:?} after the broken one went down, \
         the broken one {drained:?} after it came back ({} deliveries sent to it, {taken_while_down} taken \
         before it went down)",
        broken.sent()
    );

    // The broken one's log shows the attempts it needed.
    let (_, hooks) = Signed::get("/v1/platform/webhooks/").send(&gateway).await;
    let broken_id = hooks["webhooks"][1]["id"].as_str().unwrap().to_owned();
    let (status, log) = Signed::get(&format!("/v1/platform/webhooks/deliveries/?webhook_id={broken_id}&limit=100"))
        .send(&gateway)
        .await;
    assert_eq!(status, 200, "{log}");
    let entries = log["deliveries"].as_array().unwrap();
    assert_eq!(entries.len(), 100.min(events));
    assert_eq!(log["next_cursor"].is_string(), events > 100);
    assert!(entries.iter().all(|e| e["status"] == "delivered"), "{log}");
    assert!(entries.iter().any(|e| e["attempts"].as_u64() > Some(1)), "some needed more than one attempt");
    // Each attempt that failed is in the operator's figures, once: where the log holds every
    // delivery, its attempts past the first of each.
    if events <= 100 {
        let (_, healthy_log) = Signed::get(&format!(
            "/v1/platform/webhooks/deliveries/?webhook_id={}&limit=100",
            hooks["webhooks"][0]["id"].as_str().unwrap()
        ))
        .send(&gateway)
        .await;
        let failed: u64 = entries
            .iter()
            .chain(healthy_log["deliveries"].as_array().unwrap())
            .map(|e| e["attempts"].as_u64().unwrap() - 1)
            .sum();
        // The line of a delivery's last failed attempt may follow the receiver's news of it.
        let counted = gateway.wait_for_invocations(|lines| {
            let deliveries: Vec<Value> =
                lines.iter().filter(|line| line["route"] == "queue webhook-deliver").cloned().collect();
            let counted = e2e::emf::total(&deliveries, "WebhookFailures", "Count", &[&[]]);
            (counted >= failed as f64).then_some(counted)
        });
        assert_eq!(counted, failed as f64);
    }
}

/// The receiver of docs/examples, run as the guide runs it, takes a delivery signed as the
/// product signs it and refuses a forged one and a replayed one (its timestamp too old).
#[tokio::test(flavor = "multi_thread")]
async fn the_example_receiver_refuses_forged_and_stale_deliveries() {
    use shared::Timestamp;
    use shared::domain::{SIGNATURE_HEADER, WebhookSecret, sign_delivery};
    let secret = WebhookSecret::generate();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/webhook_receiver.py");
    let mut receiver = tokio::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .env("WEBHOOK_SECRET", secret.expose())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs the example");
    let body = r#"{"id":"message-1","type":"message.created","session_id":1}"#;
    let client = reqwest::Client::new();
    let deliver = |signature: String| {
        let request =
            client.post(format!("http://127.0.0.1:{port}/hook")).header(SIGNATURE_HEADER, signature).body(body);
        async move {
            // Until it listens.
            for _ in 0..100 {
                if let Ok(response) = request.try_clone().unwrap().send().await {
                    return response.status().as_u16();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("the example receiver does not listen");
        }
    };
    let now = Timestamp::now().unix_seconds();
    assert_eq!(deliver(sign_delivery(&secret, now, body)).await, 204);
    let forged = sign_delivery(&WebhookSecret::generate(), now, body);
    assert_eq!(deliver(forged).await, 400, "another secret");
    let tampered = sign_delivery(&secret, now, body).replace(&format!("t={now}"), &format!("t={}", now + 1));
    assert_eq!(deliver(tampered).await, 400, "a timestamp not signed");
    assert_eq!(deliver(sign_delivery(&secret, now - 10 * 60, body)).await, 400, "replayed ten minutes later");
    assert_eq!(deliver(String::new()).await, 400, "unsigned");
    receiver.start_kill().unwrap();
    let output = receiver.wait_with_output().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "took message-1 message.created\n");
}
