//! Events out, from the table's change stream: a session through its whole lifecycle, as a
//! store and two admins live it through the routes, reaches the event bus as the domain
//! events it means, each once (by id, as a consumer deduplicates), in the session's order,
//! shaped as admins see it. Read back as a consumer does, through a rule sending the bus's
//! events to an SQS queue (moto): from the embedded store's change feed, from DynamoDB
//! Local's stream, and with the functions run as Lambda runs them; and a batch tried again
//! after the events function died in the middle of it.

use e2e::bus::BusQueue;
use e2e::cast::{OMAR, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::crash::CrashAfter;
use e2e::gateway::{Gateway, post_json};
use e2e::stack::{fresh_table, moto};
use e2e::ws::Client as WebSocket;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

/// The events of one session, in the order of the table's stream.
fn in_stream_order(mut events: Vec<Value>) -> Vec<Value> {
    let position = |event: &Value| {
        let sequence = event["sequence"].as_str().expect("a position in the stream").to_owned();
        (sequence.len(), sequence)
    };
    events.sort_by_key(position);
    events
}

/// One POST that must succeed: its answer.
async fn post(gateway: &Gateway, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = post_json(&gateway.url(path), Some(token), &body).await;
    assert!(status < 300, "{path}: {status} {answer}");
    answer
}

async fn a_session_s_lifecycle_goes_out_once_in_order(start: impl FnOnce(&[&str]) -> Gateway) {
    let bus = BusQueue::new().await;
    let args = bus.gateway_args();
    let gateway = start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (store, sarah, omar) = (token_of_store(TECH_STORE), token_of_admin(SARAH), token_of_admin(OMAR));
    let sent = post(&gateway, "/v1/chat/store/messages/", &store, json!({"content": "My order is late"})).await;
    let id = sent["session_id"].clone();
    post(&gateway, "/v1/chat/admin/session/claim/", &sarah, json!({"session_id": id})).await;
    let answer =
        post(&gateway, "/v1/chat/admin/messages/", &sarah, json!({"session_id": id, "content": "Let me lok"})).await;
    let fixed = json!({"session_id": id, "message_id": answer["id"], "content": "Let me look"});
    post(&gateway, "/v1/chat/admin/messages/edit/", &sarah, fixed).await;
    post(&gateway, "/v1/chat/admin/notes/", &sarah, json!({"session_id": id, "content": "Courier lost it"})).await;
    post(&gateway, "/v1/chat/admin/session/tags/", &sarah, json!({"session_id": id, "tags": ["shipping"]})).await;
    post(&gateway, "/v1/chat/admin/session/transfer/", &sarah, json!({"session_id": id, "admin_id": OMAR.0})).await;
    post(&gateway, "/v1/chat/admin/session/close/", &omar, json!({"session_id": id})).await;
    post(&gateway, "/v1/chat/store/session/rating/", &store, json!({"session_id": id, "rating": 5})).await;

    let expected = [
        "session.created",
        "message.created",
        "session.claimed",
        "message.created",
        "message.updated",
        "session.tagged",
        "session.transferred",
        "session.closed",
        "session.rated",
    ];
    // As a consumer does: by id, keeping one of each. A batch tried again puts its events on
    // the bus again, with the same ids and the same content.
    let distinct = |events: &[Value]| events.iter().map(|e| e["id"].as_str().unwrap()).collect::<BTreeSet<_>>().len();
    // And the note, kept in a partition of its own: in no order with the session's changes.
    let received = bus.received_until(|events| distinct(events) > expected.len()).await;
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    for event in received {
        let id = event["id"].as_str().unwrap().to_owned();
        if let Some(seen) = by_id.insert(id, event.clone()) {
            assert_eq!(seen, event, "the same id, the same event");
        }
    }
    let (notes, events): (Vec<Value>, Vec<Value>) = by_id.into_values().partition(|e| e["type"] == "note.created");
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(
        (&notes[0]["note"]["content"], &notes[0]["note"]["admin_id"]),
        (&json!("Courier lost it"), &json!(SARAH.0))
    );
    let events = in_stream_order(events);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, expected, "each change once, in order: {events:#?}");
    assert!(events.iter().all(|e| e["session_id"] == id));
    // As admins see them: the message, and the session with its tags and holder.
    assert_eq!(events[1]["message"]["content"], "My order is late");
    assert_eq!(events[1]["message"]["sender_type"], "store");
    assert_eq!(events[2]["session"]["admin_id"], SARAH.0);
    assert_eq!(
        (&events[3]["message"]["content"], &events[4]["message"]["content"]),
        (&json!("Let me lok"), &json!("Let me look"))
    );
    assert!(events[4]["message"]["edited_at"].is_string(), "{:#?}", events[4]);
    assert_eq!(events[5]["session"]["tags"], json!(["shipping"]));
    assert_eq!((&events[6]["previous_admin_id"], &events[6]["session"]["admin_id"]), (&json!(SARAH.0), &json!(OMAR.0)));
    assert_eq!(events[8]["session"]["rating"], 5);
}

/// With automatic assignment, the session given to the admin online is told as assigned, not
/// as claimed.
#[tokio::test(flavor = "multi_thread")]
async fn an_assignment_is_told_apart_from_a_claim() {
    let table = fresh_table().await;
    let bus = BusQueue::new().await;
    let mut args = bus.gateway_args();
    args.extend(["--assignment".to_owned(), "auto".to_owned()]);
    let gateway = Gateway::start_on_dynamodb_with(&table, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let inbox = WebSocket::connect(&gateway, Some(&token_of_admin(SARAH))).await.unwrap();
    post(&gateway, "/v1/chat/store/messages/", &token_of_store(TECH_STORE), json!({"content": "Hi"})).await;
    let expected = ["session.created", "message.created", "session.assigned"];
    let received = bus.received_until(|events| events.iter().any(|e| e["type"] == "session.assigned")).await;
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    for event in received {
        by_id.insert(event["id"].as_str().unwrap().to_owned(), event);
    }
    let events = in_stream_order(by_id.into_values().collect());
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, expected, "{events:#?}");
    assert_eq!(events[2]["session"]["admin_id"], SARAH.0);
    inbox.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_embedded_store() {
    a_session_s_lifecycle_goes_out_once_in_order(Gateway::start_with).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_dynamodb_local() {
    let table = fresh_table().await;
    a_session_s_lifecycle_goes_out_once_in_order(|args| Gateway::start_on_dynamodb_with(&table, args)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_functions_run_as_lambda_runs_them() {
    let table = fresh_table().await;
    a_session_s_lifecycle_goes_out_once_in_order(|args| Gateway::start_as_lambda(&table, args)).await;
}

/// The events function killed mid-batch, right after its first put of events reached the
/// bus: Lambda tries the batch again in a new instance, which puts those events again with
/// the ids and content they had, so a consumer deduplicating by id sees each change once.
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_tried_again_after_its_function_died_puts_no_new_ids() {
    let table = fresh_table().await;
    // A session's whole life, written while nothing reads the stream: the batch read then
    // holds all of it, more events than one put takes.
    let store_sends = 12;
    {
        let gateway = Gateway::start_on_dynamodb(&table);
        let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
        let mut session = Value::Null;
        for n in 0..store_sends {
            session = post(&gateway, "/v1/chat/store/messages/", &store, json!({"content": format!("#{n}")})).await["session_id"]
                .clone();
        }
        post(&gateway, "/v1/chat/admin/session/claim/", &sarah, json!({"session_id": session})).await;
        post(&gateway, "/v1/chat/admin/messages/", &sarah, json!({"session_id": session, "content": "On it"})).await;
        post(&gateway, "/v1/chat/admin/session/close/", &sarah, json!({"session_id": session})).await;
    }
    let mut expected = vec!["session.created"];
    expected.extend(std::iter::repeat_n("message.created", store_sends));
    expected.extend(["session.claimed", "message.created", "session.closed"]);
    assert!(expected.len() > shared::bus::PUT_BATCH, "the batch takes more than one put");

    let bus = BusQueue::new().await;
    let crash = CrashAfter::start(moto().endpoint(), "AWSEvents.PutEvents", "table-events").await;
    let args = ["--event-bus-endpoint", crash.endpoint(), "--event-bus", &bus.bus];
    let gateway = Gateway::start_as_lambda(&table, &args);
    crash.watch(gateway.pid());

    let distinct = |events: &[Value]| events.iter().map(|e| e["id"].as_str().unwrap()).collect::<BTreeSet<_>>().len();
    // Every change, and some of them again.
    let received =
        bus.received_until(|events| distinct(events) >= expected.len() && events.len() > expected.len()).await;
    assert_eq!(crash.killed(), 1, "one instance was killed");
    let mut by_id: BTreeMap<String, (Value, usize)> = BTreeMap::new();
    for event in &received {
        let (seen, times) = by_id.entry(event["id"].as_str().unwrap().to_owned()).or_insert((event.clone(), 0));
        assert_eq!(&*seen, event, "the same id, the same event");
        *times += 1;
    }
    let events = in_stream_order(by_id.values().map(|(event, _)| event.clone()).collect());
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, expected, "each change once, under one id");
    // What came twice is what the killed instance put: its batch's first put.
    let first_put: BTreeSet<&str> =
        events.iter().take(shared::bus::PUT_BATCH).map(|e| e["id"].as_str().unwrap()).collect();
    for (id, (_, times)) in &by_id {
        assert!(*times == 1 || first_put.contains(id.as_str()), "{id} came {times} times");
    }
}
