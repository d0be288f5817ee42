//! A stalled dependency: DynamoDB Local frozen (`SIGSTOP`) under a send load, then thawed.
//! Every answer is a 201 or the family's 503 within the invocation deadline, and after the
//! thaw nothing is lost, doubled or miscounted; with the functions linked in, and with each
//! its own processes. This binary owns its DynamoDB Local, so freezing it stalls no test of
//! another binary; its two tests take turns on it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::{Duration, Instant};

use e2e::cast::{SARAH, load_stores, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::stack::{dynamodb, fresh_table};
use serde_json::{Value, json};
use shared::deadline::INVOCATION_DEADLINE;
use shared::domain::StoreId;
use tokio::sync::watch;

const STORE_MESSAGES: &str = "/v1/chat/store/messages/";
/// What the gateway and the test client may add to a function's own deadline. The senders
/// (eight) are no more than the invocations the gateway runs of one function at once, so
/// none waits for a turn before its deadline starts.
const SLACK: Duration = Duration::from_secs(1);

/// One send as its client saw it.
#[derive(Debug)]
struct Answer {
    store: StoreId,
    client_message_id: String,
    status: u16,
    body: Value,
    took: Duration,
}

#[derive(Clone, Copy, Default)]
struct Tally {
    created: usize,
    unavailable: usize,
}

/// Sends numbered messages from `store`, one after another, until `stop` says so.
async fn sender(
    gateway_url: String,
    store: StoreId,
    tally: watch::Sender<Tally>,
    mut stop: watch::Receiver<bool>,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    for i in 0.. {
        if *stop.borrow_and_update() {
            break;
        }
        let client_message_id = format!("{store}-{i}");
        let body = json!({"content": format!("message {i}"), "client_message_id": client_message_id});
        let started = Instant::now();
        let (status, body) = post_json(&gateway_url, Some(&token_of_store(store)), &body).await;
        let took = started.elapsed();
        tally.send_modify(|t| match status {
            201 => t.created += 1,
            _ => t.unavailable += 1,
        });
        answers.push(Answer { store, client_message_id, status, body, took });
    }
    answers
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_dynamodb_answers_503_within_the_deadline_and_loses_nothing() {
    frozen_dynamodb(Gateway::start_on_dynamodb).await;
}

/// The same through instances of the send function in processes of their own: each has its
/// own clients, retries and deadline.
#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_dynamodb_answers_503_within_the_deadline_and_loses_nothing_across_instances() {
    frozen_dynamodb(|table| Gateway::start_as_lambda(table, &[])).await;
}

async fn frozen_dynamodb(start: fn(&str) -> Gateway) {
    // One freeze at a time: the tests share this binary's DynamoDB Local.
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = TURN.lock().await;
    let table = fresh_table().await;
    let gateway = start(&table);
    let url = gateway.url(STORE_MESSAGES);
    let (tally, mut counts) = watch::channel(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let senders: Vec<_> =
        load_stores().map(|store| tokio::spawn(sender(url.clone(), store, tally.clone(), stopped.clone()))).collect();

    // A guard against a hang, which is the failure this test is about; not a pace.
    let phases = tokio::time::timeout(Duration::from_secs(240), async {
        let running = counts.wait_for(|t| t.created >= 40).await.unwrap().created;
        let frozen = dynamodb().freeze().expect("DynamoDB Local freezes");
        let senders = load_stores().count();
        counts.wait_for(|t| t.unavailable >= 2 * senders).await.unwrap();
        drop(frozen);
        counts.wait_for(|t| t.created >= running + 40).await.unwrap();
    });
    phases.await.expect("the senders saw 503s while DynamoDB was frozen, then 201s again");
    stop.send(true).unwrap();
    let mut answers = Vec::new();
    for sender in senders {
        answers.extend(sender.await.unwrap());
    }

    // Only 201s and the store family's 503, each within the deadline.
    let unavailable = json!({"success": false, "message": "Service temporarily unavailable"});
    for answer in &answers {
        match answer.status {
            201 => assert!(answer.body["id"].is_u64(), "{answer:?}"),
            503 => assert_eq!(answer.body, unavailable, "{answer:?}"),
            _ => panic!("neither stored nor unavailable: {answer:?}"),
        }
        assert!(answer.took <= INVOCATION_DEADLINE + SLACK, "answered after {:?}: {answer:?}", answer.took);
    }
    let slowest = answers.iter().map(|a| a.took).max().unwrap();
    let failed = answers.iter().filter(|a| a.status == 503).count();
    let report = format!(
        "frozen DynamoDB: {} sends, {failed} answered 503; slowest answer {slowest:.2?} (deadline {INVOCATION_DEADLINE:?})\n",
        answers.len()
    );
    std::io::stderr().write_all(report.as_bytes()).unwrap();
    // A stalled call was tried again by the SDK, and still counts as one request.
    let retried = gateway
        .invocations()
        .into_iter()
        .any(|line| line["dynamodb_attempts"].as_u64() > line["dynamodb_calls"].as_u64());
    assert!(retried, "no invocation shows a call tried again");

    // Every send that got a 503 is retried as a client would: stored once, whether or not
    // the first attempt had committed.
    let mut stored: BTreeMap<(StoreId, String), Value> = BTreeMap::new();
    for answer in &answers {
        let message = if answer.status == 201 {
            answer.body.clone()
        } else {
            let i = answer.client_message_id.split_once('-').unwrap().1;
            let body = json!({"content": format!("message {i}"), "client_message_id": answer.client_message_id});
            let (status, message) = post_json(&url, Some(&token_of_store(answer.store)), &body).await;
            assert!(status == 200 || status == 201, "retry after the thaw: {status} {message}");
            message
        };
        assert!(stored.insert((answer.store, answer.client_message_id.clone()), message).is_none());
    }

    // Each session holds exactly those messages, ascending, and its count agrees.
    let (status, list) =
        get_json(&gateway.url("/v1/chat/admin/sessions/?status=open&limit=100"), Some(&token_of_admin(SARAH))).await;
    assert_eq!(status, 200);
    for store in load_stores() {
        let (status, page) =
            get_json(&gateway.url(&format!("{STORE_MESSAGES}?limit=200")), Some(&token_of_store(store))).await;
        assert_eq!((status, &page["has_more"]), (200, &json!(false)), "{page}");
        let fetched = page["messages"].as_array().unwrap();
        let ids: Vec<u64> = fetched.iter().map(|m| m["id"].as_u64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ascending ids: {ids:?}");
        let expected: BTreeSet<u64> =
            stored.iter().filter(|((s, _), _)| *s == store).map(|(_, m)| m["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), expected, "store {store}");
        assert_eq!(ids.len(), expected.len(), "store {store}: nothing doubled");
        let listed = list["sessions"].as_array().unwrap().iter().find(|s| s["store_id"] == store.0).unwrap();
        assert_eq!(listed["message_count"], json!(expected.len()), "store {store}: counts agree");
    }
}
