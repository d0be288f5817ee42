//! Live delivery through the local gateway's WebSocket API with real clients, on every stack
//! (and, where a test reaches into the table, on DynamoDB Local).

use std::collections::BTreeSet;

use e2e::cast::{OMAR, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::on_every_stack;
use e2e::stack::{dynamodb, fresh_table};
use e2e::ws::Client;
use serde_json::{Value, json};
use shared::Timestamp;
use shared::domain::{AdminId, Connection, Principal, StoreId, TokenHash};
use shared::storage::{ConnectionStore, DynamoStore};

fn store_token() -> String {
    token_of_store(TECH_STORE)
}

fn sarah() -> String {
    token_of_admin(SARAH)
}

/// The store's session, claimed by Sarah; its id. A 503 (DynamoDB Local still warming up
/// while every test of the binary starts at once) is tried again, as a client would.
async fn claimed_session(gateway: &Gateway) -> Value {
    let mut tries = 0..3;
    let session = loop {
        let (status, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store_token())).await;
        match status {
            200 => break session,
            503 if tries.next().is_some() => continue,
            _ => panic!("the store's session: {status} {session}"),
        }
    };
    let claim = json!({"session_id": session["id"]});
    let (status, answer) = post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(&sarah()), &claim).await;
    assert_eq!(status, 200, "{answer}");
    session["id"].clone()
}

async fn connect(gateway: &Gateway, token: &str) -> Client {
    Client::connect(gateway, Some(token)).await.expect("the connection is accepted")
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

async fn every_message_reaches_all_four_connections_once_in_order(gateway: Gateway) {
    let id = claimed_session(&gateway).await;
    let mut clients = [
        connect(&gateway, &store_token()).await,
        connect(&gateway, &store_token()).await,
        connect(&gateway, &sarah()).await,
        connect(&gateway, &sarah()).await,
    ];
    // Over the WebSocket from each side, and over HTTP, one after another: a send is done
    // (its pushes posted) when its HTTP answer, or the sender's next pong, arrives.
    let mut received: [Vec<Value>; 4] = Default::default();
    let mut sent = Vec::new();
    for i in 0..3 {
        clients[0].send(json!({"action": "send_message", "content": format!("store ws {i}")})).await;
        received[0].extend(clients[0].drain().await);
        clients[2].send(json!({"action": "send_message", "session_id": id, "content": format!("admin ws {i}")})).await;
        received[2].extend(clients[2].drain().await);
        let body = json!({"content": format!("store http {i}")});
        let (_, message) = post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store_token()), &body).await;
        sent.push(message["id"].as_u64().unwrap());
    }
    let mut seen = Vec::new();
    for (client, events) in clients.iter_mut().zip(received.iter_mut()) {
        events.extend(client.drain().await);
        let created: Vec<u64> =
            of_type(events, "message.created").iter().map(|e| e["message"]["id"].as_u64().unwrap()).collect();
        assert!(created.windows(2).all(|w| w[0] < w[1]), "in id order: {created:?}");
        seen.push(created);
    }
    // Every connection saw the same nine messages, once each; HTTP sends among them.
    assert_eq!(seen[0].len(), 9, "{seen:?}");
    for other in &seen[1..] {
        assert_eq!(other, &seen[0]);
    }
    assert!(sent.iter().all(|id| seen[0].contains(id)));
    let contents: BTreeSet<String> = {
        let (_, page) = get_json(&gateway.url("/v1/chat/store/messages/?after=0"), Some(&store_token())).await;
        page["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(contents.len(), 9);
}

async fn typing_and_receipts_reach_only_the_other_party(gateway: Gateway) {
    let id = claimed_session(&gateway).await;
    let (mut store_a, mut store_b) = (connect(&gateway, &store_token()).await, connect(&gateway, &store_token()).await);
    let (mut admin_a, mut admin_b) = (connect(&gateway, &sarah()).await, connect(&gateway, &sarah()).await);

    store_a.send(json!({"action": "typing", "state": "on"})).await;
    assert!(of_type(&store_a.drain().await, "typing").is_empty(), "not to the typist");
    assert!(of_type(&store_b.drain().await, "typing").is_empty(), "not to the typist's side");
    for admin in [&mut admin_a, &mut admin_b] {
        let events = admin.drain().await;
        let typing = of_type(&events, "typing");
        assert_eq!(typing.len(), 1, "{events:?}");
        assert_eq!(typing[0], &json!({"type": "typing", "session_id": id, "sender_type": "store", "state": "on"}));
    }

    let (_, message) = post_json(
        &gateway.url("/v1/chat/store/messages/"),
        Some(&store_token()),
        &json!({"content": "are you there?"}),
    )
    .await;
    admin_a.send(json!({"action": "mark_read", "session_id": id, "up_to_message_id": message["id"]})).await;
    assert!(of_type(&admin_a.drain().await, "message.status").iter().all(|e| e["reader_type"] != "admin"));
    assert!(of_type(&admin_b.drain().await, "message.status").iter().all(|e| e["reader_type"] != "admin"));
    for store in [&mut store_a, &mut store_b] {
        let events = store.drain().await;
        let statuses = of_type(&events, "message.status");
        // Delivered when it reached the admins' connections, then read.
        assert_eq!(
            statuses.last().unwrap(),
            &&json!({"type": "message.status", "session_id": id, "reader_type": "admin", "status": "read", "up_to_message_id": message["id"]})
        );
        assert!(statuses.iter().any(|e| e["status"] == "delivered"), "{events:?}");
    }
    let (_, page) = get_json(&gateway.url("/v1/chat/store/messages/?after=0"), Some(&store_token())).await;
    assert_eq!(page["messages"][0]["status"], "read");
}

async fn a_bad_or_missing_token_cannot_connect(gateway: Gateway) {
    assert_eq!(Client::connect(&gateway, None).await.err(), Some(401));
    assert_eq!(Client::connect(&gateway, Some("not-a-token")).await.err(), Some(401));
    assert!(Client::connect(&gateway, Some(&store_token())).await.is_ok());
}

async fn bad_frames_get_an_error_and_the_connection_stays_usable(gateway: Gateway) {
    claimed_session(&gateway).await;
    let mut client = connect(&gateway, &store_token()).await;
    for (frame, error) in [
        ("hello", "Frame is not valid JSON"),
        (r#"{"content": "no action"}"#, "Frame has no action"),
        (r#"{"action": "dance"}"#, "Unknown action: dance"),
        (
            r#"{"action": "send_message", "content": ""}"#,
            "content must not be empty unless attachment_url or upload_id is given",
        ),
        (r#"{"action": "typing", "state": "maybe"}"#, "state: unknown variant `maybe`, expected `on` or `off`"),
    ] {
        client.send_text(frame).await;
        assert_eq!(client.next_event().await, json!({"type": "error", "error": error}), "{frame}");
    }
    client.send(json!({"action": "ping"})).await;
    assert_eq!(client.next_event().await, json!({"type": "pong"}));
    // An admin's frame for a session it does not hold is refused the same way.
    let mut omar = connect(&gateway, &token_of_admin(OMAR)).await;
    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store_token())).await;
    omar.send(json!({"action": "send_message", "session_id": session["id"], "content": "hi"})).await;
    assert_eq!(omar.next_event().await, json!({"type": "error", "error": "Session belongs to another admin"}));
}

async fn a_client_that_reconnects_fetches_exactly_what_it_missed(gateway: Gateway) {
    let id = claimed_session(&gateway).await;
    let mut store = connect(&gateway, &store_token()).await;
    let send = |content: &str| {
        let (url, body) = (gateway.url("/v1/chat/admin/messages/"), json!({"session_id": id, "content": content}));
        async move { post_json(&url, Some(&sarah()), &body).await.1["id"].clone() }
    };
    send("one").await;
    let last_seen = store.next_of("message.created").await["message"]["id"].clone();
    store.vanish();
    let missed = vec![send("two").await, send("three").await, send("four").await];
    let mut store = connect(&gateway, &store_token()).await;
    let (_, page) =
        get_json(&gateway.url(&format!("/v1/chat/store/messages/?after={last_seen}")), Some(&store_token())).await;
    let fetched: Vec<Value> = page["messages"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(fetched, missed);
    // And it is live again.
    let five = send("five").await;
    assert_eq!(store.next_of("message.created").await["message"]["id"], five);
}

on_every_stack!(
    every_message_reaches_all_four_connections_once_in_order,
    typing_and_receipts_reach_only_the_other_party,
    a_bad_or_missing_token_cannot_connect,
    bad_frames_get_an_error_and_the_connection_stays_usable,
    a_client_that_reconnects_fetches_exactly_what_it_missed,
);

/// A store on the gateway's table, to plant connections the gateway has never seen.
async fn on_table() -> (Gateway, DynamoStore) {
    let table = fresh_table().await;
    let gateway = Gateway::start_on_dynamodb(&table);
    (gateway, DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vanished_connection_is_forgotten_on_the_next_push_to_it() {
    let (gateway, table) = on_table().await;
    let id = claimed_session(&gateway).await;
    let mut store = connect(&gateway, &store_token()).await;
    // A connection that went away without API Gateway telling anyone.
    let ghost = Connection::new(
        "ghost-connection".into(),
        Principal::Store(TECH_STORE),
        TokenHash::of(&store_token()),
        Timestamp::now(),
    );
    e2e::stack::record_connection(&table, &ghost).await;

    let (status, _) = post_json(
        &gateway.url("/v1/chat/admin/messages/"),
        Some(&sarah()),
        &json!({"session_id": id, "content": "hello"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(table.connection("ghost-connection").await.unwrap(), None, "the 410 removed it");
    let line = gateway.invocation_of("POST /v1/chat/admin/messages/", 1);
    assert_eq!(e2e::emf::value(&line, "GoneConnections", "Count", &[&[]]), 1.0, "the operator's figure: {line}");
    assert_eq!(store.next_of("message.created").await["message"]["content"], "hello", "the live one still hears");
    let mut admin = connect(&gateway, &sarah()).await;
    admin.send(json!({"action": "send_message", "session_id": id, "content": "still here?"})).await;
    assert_eq!(admin.next_of("message.created").await["message"]["content"], "still here?", "the sender is untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_idle_connections_cost_a_send_nothing() {
    let (gateway, table) = on_table().await;
    let id = claimed_session(&gateway).await;
    let _store = connect(&gateway, &store_token()).await;
    let _admin = connect(&gateway, &sarah()).await;
    let send = |content: &'static str| {
        let (url, body) = (gateway.url("/v1/chat/admin/messages/"), json!({"session_id": id, "content": content}));
        async move { assert_eq!(post_json(&url, Some(&sarah()), &body).await.0, 201) }
    };
    let cost =
        |line: Value| (line["dynamodb_calls"].clone(), line["live_dynamodb_calls"].clone(), line["pushes"].clone());

    send("first").await;
    send("before").await;
    let before = cost(gateway.invocation_of("POST /v1/chat/admin/messages/", 2));
    // 500 other stores' and 500 other admins' connections.
    let now = Timestamp::now();
    let others = (0..1000u64).map(|i| {
        let principal =
            if i % 2 == 0 { Principal::Store(StoreId(1000 + i)) } else { Principal::Admin(AdminId(1000 + i)) };
        Connection::new(format!("idle-{i}"), principal, TokenHash::of(&format!("idle-{i}")), now)
    });
    for connection in others {
        e2e::stack::record_connection(&table, &connection).await;
    }
    send("after").await;
    let after = cost(gateway.invocation_of("POST /v1/chat/admin/messages/", 3));
    assert_eq!(before, after);
    assert_eq!(after.2, json!(3), "message.created to each party, message.status to the sender's side");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_to_a_connected_recipient_takes_three_round_trips() {
    let (gateway, _table) = on_table().await;
    let id = claimed_session(&gateway).await;
    let send = |content: &'static str| {
        let (url, body) = (gateway.url("/v1/chat/admin/messages/"), json!({"session_id": id, "content": content}));
        async move { assert_eq!(post_json(&url, Some(&sarah()), &body).await.0, 201) }
    };
    let line = |nth| gateway.invocation_of("POST /v1/chat/admin/messages/", nth);

    // Nobody connected: the session read (beside the message's place in the session's
    // order), the write beside the lookups that find nobody, then the lookups again.
    send("to nobody").await;
    assert_eq!(line(1)["round_trips"], json!(3));

    // The store connected: the posts, the delivered mark and its news to the sender's side
    // go out together, beside the second lookups.
    let mut store = connect(&gateway, &store_token()).await;
    let mut admin = connect(&gateway, &sarah()).await;
    send("to the store").await;
    assert_eq!(store.next_of("message.created").await["message"]["content"], "to the store");
    assert_eq!(admin.next_of("message.status").await["status"], "delivered");
    let line = line(2);
    assert_eq!((&line["round_trips"], &line["pushes"]), (&json!(3), &json!(3)), "{line}");
    // The read, the place and the transaction; four index reads, and the mark.
    assert_eq!((&line["dynamodb_calls"], &line["live_dynamodb_calls"]), (&json!(8), &json!(5)), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_found_gone_is_forgotten_once_by_a_send() {
    let (gateway, table) = on_table().await;
    let id = claimed_session(&gateway).await;
    let mut store = connect(&gateway, &store_token()).await;
    // Sarah's only connection went away without API Gateway telling anyone.
    let ghost =
        Connection::new("ghost-admin".into(), Principal::Admin(SARAH), TokenHash::of(&sarah()), Timestamp::now());
    e2e::stack::record_connection(&table, &ghost).await;

    let body = json!({"session_id": id, "content": "anyone there?"});
    assert_eq!(post_json(&gateway.url("/v1/chat/admin/messages/"), Some(&sarah()), &body).await.0, 201);
    assert_eq!(store.next_of("message.created").await["message"]["content"], "anyone there?");
    // message.created to the store and to the ghost, and the delivery's news to the ghost,
    // side by side; both posts to the ghost find it gone, and it is deleted once.
    let line = gateway.invocation_of("POST /v1/chat/admin/messages/", 1);
    assert_eq!(line["pushes"], json!(3), "{line}");
    assert_eq!(
        line["live_dynamodb_calls"],
        json!(7),
        "four index reads, the mark, one delete of the connection and of its copy under its token: {line}"
    );
    assert_eq!(table.connection("ghost-admin").await.unwrap(), None);
    assert_eq!(e2e::emf::value(&line, "GoneConnections", "Count", &[&[]]), 1.0, "counted once: {line}");
}
