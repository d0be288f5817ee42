//! What each route costs in DynamoDB requests on a warm instance (tokens cached), read from
//! the per-invocation log line. The access-pattern table of docs/architecture.md states the
//! same numbers, with the requests that run in parallel; every route is at most two round trips.

use e2e::cast::{OMAR, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::stack::{fresh_table, message_ids_taken};
use serde_json::{Value, json};

struct Meter {
    gateway: Gateway,
    requests: usize,
}

impl Meter {
    /// Sends one request and returns its status, body and DynamoDB request counts: the
    /// route's own, and those of live delivery (one index read per audience).
    async fn call(&mut self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value, (u64, u64)) {
        let url = self.gateway.url(path);
        let (status, answer) = match method {
            "GET" => get_json(&url, Some(token)).await,
            _ => post_json(&url, Some(token), &body).await,
        };
        self.requests += 1;
        let line = self.gateway.invocation(self.requests);
        assert_eq!(line["status"], status, "{method} {path}");
        let (all, live) = (line["dynamodb_calls"].as_u64().unwrap(), line["live_dynamodb_calls"].as_u64().unwrap());
        (status, answer, (all - live, live))
    }

    async fn cost(&mut self, method: &str, path: &str, token: &str, body: Value) -> (u64, u64) {
        let (status, answer, calls) = self.call(method, path, token, body).await;
        assert!(status < 300, "{method} {path}: {status} {answer}");
        calls
    }
}

/// The template's default limit of sends per sender and minute: counted in the send's own
/// write, it costs no request.
const DEPLOYED_SEND_LIMIT: &[&str] = &["--messages-per-minute", "30"];

#[tokio::test]
async fn every_route_stays_within_two_round_trips() {
    let table = fresh_table().await;
    let mut meter = Meter { gateway: Gateway::start_on_dynamodb_with(&table, DEPLOYED_SEND_LIMIT), requests: 0 };
    let (store, sarah, omar) = (token_of_store(TECH_STORE), token_of_admin(SARAH), token_of_admin(OMAR));

    // Cold: each token is looked up once, and the store's session is created.
    let (_, session, _) = meter.call("GET", "/v1/chat/store/session/", &store, Value::Null).await;
    let id = session["id"].clone();
    meter.call("GET", "/v1/chat/admin/sessions/", &sarah, Value::Null).await;
    meter.call("GET", "/v1/chat/admin/sessions/", &omar, Value::Null).await;

    let mut costs = Vec::new();
    let mut measure = |route: &'static str, (own, live): (u64, u64)| costs.push((route, own, live));
    measure("GET store/session", meter.cost("GET", "/v1/chat/store/session/", &store, Value::Null).await);
    let (_, hello, calls) = meter.call("POST", "/v1/chat/store/messages/", &store, json!({"content": "hello"})).await;
    measure("POST store/messages", calls);
    let upload = json!({"file_name": "order.png", "content_type": "image/png", "size": 2048});
    measure("POST store/uploads", meter.cost("POST", "/v1/chat/store/uploads/", &store, upload.clone()).await);
    measure("GET admin/sessions", meter.cost("GET", "/v1/chat/admin/sessions/", &sarah, Value::Null).await);
    measure(
        "GET admin/sessions?status=open",
        meter.cost("GET", "/v1/chat/admin/sessions/?status=open", &sarah, Value::Null).await,
    );
    measure(
        "GET store/session/current",
        meter.cost("GET", "/v1/chat/store/session/current/", &store, Value::Null).await,
    );
    measure("GET admin/directory", meter.cost("GET", "/v1/chat/admin/directory/", &sarah, Value::Null).await);
    measure(
        "POST admin/session/claim",
        meter.cost("POST", "/v1/chat/admin/session/claim/", &sarah, json!({"session_id": id})).await,
    );
    measure(
        "GET admin/session",
        meter.cost("GET", &format!("/v1/chat/admin/session/?session_id={id}"), &sarah, Value::Null).await,
    );
    let mut admin_upload = upload;
    admin_upload["session_id"] = id.clone();
    measure("POST admin/uploads", meter.cost("POST", "/v1/chat/admin/uploads/", &sarah, admin_upload).await);
    let (_, reply, calls) =
        meter.call("POST", "/v1/chat/admin/messages/", &sarah, json!({"session_id": id, "content": "hi"})).await;
    measure("POST admin/messages", calls);
    measure("GET store/messages", meter.cost("GET", "/v1/chat/store/messages/?after=0", &store, Value::Null).await);
    measure(
        "GET store/messages?session_id",
        meter.cost("GET", &format!("/v1/chat/store/messages/?session_id={id}"), &store, Value::Null).await,
    );
    measure(
        "GET admin/messages",
        meter.cost("GET", &format!("/v1/chat/admin/messages/?session_id={id}"), &sarah, Value::Null).await,
    );
    measure(
        "POST store/session/read",
        meter.cost("POST", "/v1/chat/store/session/read/", &store, json!({"up_to_message_id": reply["id"]})).await,
    );
    measure(
        "POST admin/session/read",
        meter
            .cost(
                "POST",
                "/v1/chat/admin/session/read/",
                &sarah,
                json!({"session_id": id, "up_to_message_id": hello["id"]}),
            )
            .await,
    );
    measure(
        "POST admin/session/tags",
        meter.cost("POST", "/v1/chat/admin/session/tags/", &sarah, json!({"session_id": id, "tags": ["vip"]})).await,
    );
    measure(
        "POST admin/session/transfer",
        meter
            .cost("POST", "/v1/chat/admin/session/transfer/", &sarah, json!({"session_id": id, "admin_id": OMAR}))
            .await,
    );
    measure(
        "POST admin/session/close",
        meter.cost("POST", "/v1/chat/admin/session/close/", &omar, json!({"session_id": id})).await,
    );
    measure(
        "POST store/session/rating",
        meter.cost("POST", "/v1/chat/store/session/rating/", &store, json!({"session_id": id, "rating": 5})).await,
    );
    meter.cost("GET", "/v1/chat/store/session/", &store, Value::Null).await;
    measure("POST store/session/close", meter.cost("POST", "/v1/chat/store/session/close/", &store, json!({})).await);

    // (route, its own requests, live delivery's). Nobody is connected here, so live
    // delivery is the index reads that find that out: one per audience, and for a send one
    // more per audience once its message is stored.
    assert_eq!(
        costs,
        [
            ("GET store/session", 2, 0),
            // With the team's hours, read beside the posts for an away reply.
            ("POST store/messages", 5, 4),
            ("POST store/uploads", 2, 0),
            ("GET admin/sessions", 3, 0),
            ("GET admin/sessions?status=open", 2, 0),
            // Waiting, with its place in line (a count of the queue ahead of it).
            ("GET store/session/current", 3, 0),
            // Desks, loads and connections: three Queries side by side.
            ("GET admin/directory", 3, 0),
            // Live: the session's audiences (2); the queue's head, who now waits in it and
            // the store told who joined (profile and connections): 3 more.
            ("POST admin/session/claim", 2, 5),
            ("GET admin/session", 1, 0),
            ("POST admin/uploads", 1, 0),
            ("POST admin/messages", 3, 4),
            ("GET store/messages", 3, 0),
            ("GET store/messages?session_id", 2, 0),
            ("GET admin/messages", 2, 0),
            ("POST store/session/read", 2, 1),
            ("POST admin/session/read", 2, 1),
            ("POST admin/session/tags", 2, 1),
            // Live: the audiences (3), and the store told who joined (2).
            ("POST admin/session/transfer", 3, 5),
            ("POST admin/session/close", 2, 2),
            ("POST store/session/rating", 2, 1),
            ("POST store/session/close", 2, 3),
        ]
    );
}

/// The team's side: notes, edits and deletes with their trail, saved replies, a store's
/// context and a search.
#[tokio::test]
async fn the_desks_routes_stay_within_two_round_trips() {
    let table = fresh_table().await;
    let mut meter = Meter { gateway: Gateway::start_on_dynamodb_with(&table, DEPLOYED_SEND_LIMIT), requests: 0 };
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    // Cold: each token looked up once; the session opened and claimed; a note id block taken.
    let (_, hello, _) = meter.call("POST", "/v1/chat/store/messages/", &store, json!({"content": "helo"})).await;
    let id = hello["session_id"].clone();
    meter.call("POST", "/v1/chat/admin/session/claim/", &sarah, json!({"session_id": id})).await;
    meter.call("POST", "/v1/chat/admin/notes/", &sarah, json!({"session_id": id, "content": "first"})).await;
    let (_, answer, _) =
        meter.call("POST", "/v1/chat/admin/messages/", &sarah, json!({"session_id": id, "content": "hi"})).await;

    let mut costs = Vec::new();
    let mut measure = |route: &'static str, (own, live): (u64, u64)| costs.push((route, own, live));
    let note = json!({"session_id": id, "content": "a note"});
    measure("POST admin/notes", meter.cost("POST", "/v1/chat/admin/notes/", &sarah, note).await);
    let notes = format!("/v1/chat/admin/notes/?session_id={id}");
    measure("GET admin/notes", meter.cost("GET", &notes, &sarah, Value::Null).await);
    let edit = json!({"session_id": id, "message_id": hello["id"], "content": "hello"});
    measure("POST store/messages/edit", meter.cost("POST", "/v1/chat/store/messages/edit/", &store, edit).await);
    let delete = json!({"session_id": id, "message_id": answer["id"]});
    measure("POST admin/messages/delete", meter.cost("POST", "/v1/chat/admin/messages/delete/", &sarah, delete).await);
    let trail = format!("/v1/chat/admin/messages/history/?session_id={id}&message_id={}", hello["id"]);
    measure("GET admin/messages/history", meter.cost("GET", &trail, &sarah, Value::Null).await);
    let reply = json!({"shortcut": "hi", "content": "Hi {store_name}"});
    measure("POST admin/replies (new)", meter.cost("POST", "/v1/chat/admin/replies/", &sarah, reply.clone()).await);
    measure("POST admin/replies (again)", meter.cost("POST", "/v1/chat/admin/replies/", &sarah, reply).await);
    measure("GET admin/replies", meter.cost("GET", "/v1/chat/admin/replies/", &sarah, Value::Null).await);
    let gone = json!({"shortcut": "hi"});
    measure("POST admin/replies/delete", meter.cost("POST", "/v1/chat/admin/replies/delete/", &sarah, gone).await);
    let context = format!("/v1/chat/admin/store/?store_id={TECH_STORE}");
    measure("GET admin/store", meter.cost("GET", &context, &sarah, Value::Null).await);
    let search = "/v1/chat/admin/sessions/?q=tech&from=2020-01-01";
    measure("GET admin/sessions?q&from", meter.cost("GET", search, &sarah, Value::Null).await);
    let ninety_days = "/v1/chat/admin/reports/?from=2026-09-06&to=2026-12-04&granularity=week";
    measure("GET admin/reports (90 days)", meter.cost("GET", ninety_days, &sarah, Value::Null).await);

    // (route, its own requests, live delivery's), with the round trips they take.
    assert_eq!(
        costs,
        [
            // The session read, then the note put (its id from a block taken earlier).
            ("POST admin/notes", 2, 1),
            // The session and the notes side by side.
            ("GET admin/notes", 2, 0),
            // The session and the message side by side, then one transaction (the message,
            // its record in the trail, the session's copy of its last message); live: the
            // two parties' connections.
            ("POST store/messages/edit", 3, 2),
            ("POST admin/messages/delete", 3, 2),
            // The session, the message and its trail side by side.
            ("GET admin/messages/history", 3, 0),
            // A replace that finds none, then the create counted in one transaction.
            ("POST admin/replies (new)", 2, 0),
            ("POST admin/replies (again)", 1, 0),
            // The team's and the admin's own side by side.
            ("GET admin/replies", 2, 0),
            ("POST admin/replies/delete", 1, 0),
            // The profile, the store's sessions' keys and their count side by side; then
            // the sessions in one BatchGetItem.
            ("GET admin/store", 4, 0),
            // The open queue and the admin's own, each read and counted: four side by side.
            ("GET admin/sessions?q&from", 4, 0),
            // The team's days, the admins' days and the count waiting, side by side.
            ("GET admin/reports (90 days)", 3, 0),
        ]
    );
}

/// `senders` store sends at once into one session, `each` one after the other: the requests
/// they made beyond the five each must (the pointer read, beside it the session's place and
/// the session read, then one transaction, and the team's hours beside the posts), and the ids they took from the counter. `sent`
/// is how many the gateway served before.
async fn sends_beyond_their_share(
    gateway: &Gateway,
    table: &str,
    sent: usize,
    senders: usize,
    each: usize,
) -> (u64, u64) {
    let ids_before = message_ids_taken(table).await;
    let url = gateway.url("/v1/chat/store/messages/");
    let sends = (0..senders).map(|sender| {
        let url = url.clone();
        async move {
            for i in 0..each {
                let body = json!({"content": format!("{sender}-{i}")});
                let (status, answer) = post_json(&url, Some(&token_of_store(TECH_STORE)), &body).await;
                assert_eq!(status, 201, "{answer}");
            }
        }
    });
    futures::future::join_all(sends).await;
    let extra = (sent + 1..=sent + senders * each)
        .map(|n| gateway.invocation_of("POST /v1/chat/store/messages/", n))
        .map(|line| {
            let own = line["dynamodb_calls"].as_u64().unwrap() - line["live_dynamodb_calls"].as_u64().unwrap();
            assert_eq!(line["dynamodb_attempts"], line["dynamodb_calls"], "no retries by the SDK: {line}");
            assert_eq!(line["transaction_attempts"], 1, "committed at the first try: {line}");
            own - 5
        })
        .sum();
    (extra, message_ids_taken(table).await - ids_before)
}

#[tokio::test]
async fn sends_into_one_session_take_a_block_per_sixteen_and_no_second_try() {
    let table = fresh_table().await;
    let gateway = Gateway::start_on_dynamodb(&table);
    // The first send opens the session with its first block.
    let (status, _) = post_json(
        &gateway.url("/v1/chat/store/messages/"),
        Some(&token_of_store(TECH_STORE)),
        &json!({"content": "hi"}),
    )
    .await;
    assert_eq!(status, 201);

    // 64 sends one after the other: the senders of every sixteenth take the session's next
    // block, a counter write and the block's record, and no block more is taken.
    assert_eq!(sends_beyond_their_share(&gateway, &table, 1, 1, 64).await, (4 * 2, 4 * 16));
    // 64 sends by 16 senders at once: they commit in the order of their places, so no
    // transaction is tried twice, and still one block is taken per 16 sends.
    assert_eq!(sends_beyond_their_share(&gateway, &table, 65, 16, 4).await, (4 * 2, 4 * 16));
}
