//! Whole conversations over HTTP through the local gateway, on every stack (embedded store, DynamoDB Local, functions as Lambda runs them).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use e2e::cast::{SARAH, TECH_STORE, claimers, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::on_every_stack;
use futures::StreamExt;
use futures::future::join_all;
use serde_json::{Value, json};
use shared::domain::AdminId;

const STORE_SESSION: &str = "/v1/chat/store/session/";
const STORE_MESSAGES: &str = "/v1/chat/store/messages/";
const ADMIN_MESSAGES: &str = "/v1/chat/admin/messages/";

fn store_token() -> String {
    token_of_store(TECH_STORE)
}

fn sarah() -> String {
    token_of_admin(SARAH)
}

async fn open_session(gateway: &Gateway) -> Value {
    let (status, session) = get_json(&gateway.url(STORE_SESSION), Some(&store_token())).await;
    assert_eq!(status, 200);
    session
}

async fn claim(gateway: &Gateway, token: &str, session_id: &Value) -> (u16, Value) {
    post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(token), &json!({ "session_id": session_id })).await
}

fn find<'a>(list: &'a Value, session_id: &Value) -> &'a Value {
    list["sessions"].as_array().unwrap().iter().find(|s| &s["id"] == session_id).expect("the session is listed")
}

async fn scripted_conversation(gateway: Gateway) {
    let (store, admin) = (store_token(), sarah());
    let session = open_session(&gateway).await;
    let id = session["id"].clone();

    // The admin sees it in the open queue.
    let (status, queue) = get_json(&gateway.url("/v1/chat/admin/sessions/?status=open"), Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(queue["total_count"], 1);
    assert_eq!(find(&queue, &id)["unread_count"], 0);
    assert_eq!(queue["next_cursor"], Value::Null);

    let (status, hello) =
        post_json(&gateway.url(STORE_MESSAGES), Some(&store), &json!({"content": "Hello, I need help"})).await;
    assert_eq!(status, 201);
    assert_eq!((&hello["sender_type"], &hello["status"], &hello["session_id"]), (&json!("store"), &json!("sent"), &id));
    let (_, queue) = get_json(&gateway.url("/v1/chat/admin/sessions/"), Some(&admin)).await;
    assert_eq!(find(&queue, &id)["unread_count"], 1);
    assert_eq!(find(&queue, &id)["last_message"]["content"], "Hello, I need help");

    let (status, claimed) = claim(&gateway, &admin, &id).await;
    assert_eq!((status, &claimed["status"], &claimed["admin_id"]), (200, &json!("claimed"), &json!(SARAH)));
    let (status, reply) = post_json(
        &gateway.url(ADMIN_MESSAGES),
        Some(&admin),
        &json!({"session_id": id, "content": "How can I help you?"}),
    )
    .await;
    assert_eq!((status, &reply["sender_type"], &reply["sender_id"]), (201, &json!("admin"), &json!(SARAH)));

    let (status, page) = get_json(&gateway.url(&format!("{STORE_MESSAGES}?after=0")), Some(&store)).await;
    assert_eq!(status, 200);
    assert_eq!((&page["session_id"], &page["has_more"]), (&id, &json!(false)));
    let statuses =
        |page: &Value| page["messages"].as_array().unwrap().iter().map(|m| m["status"].clone()).collect::<Vec<_>>();
    assert_eq!(statuses(&page), [json!("sent"), json!("sent")]);
    // A client that shows the newest message loads the history before it, page by page.
    let history = format!("/v1/chat/admin/messages/?session_id={id}&before={}&limit=1", reply["id"]);
    let (status, older) = get_json(&gateway.url(&history), Some(&admin)).await;
    assert_eq!((status, &older["messages"][0]["id"], &older["has_more"]), (200, &hello["id"], &json!(false)));
    assert_eq!(older["messages"].as_array().unwrap().len(), 1);

    // Both read: one mark each, and the statuses follow.
    let (status, mark) = post_json(
        &gateway.url("/v1/chat/store/session/read/"),
        Some(&store),
        &json!({"up_to_message_id": reply["id"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        mark,
        json!({"session_id": id, "reader_type": "store", "status": "read", "up_to_message_id": reply["id"]})
    );
    let (status, _) = post_json(
        &gateway.url("/v1/chat/admin/session/read/"),
        Some(&admin),
        &json!({"session_id": id, "up_to_message_id": hello["id"]}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, view) = get_json(&gateway.url(&format!("/v1/chat/admin/session/?session_id={id}")), Some(&admin)).await;
    assert_eq!(statuses(&view), [json!("read"), json!("read")]);
    let (_, mine) = get_json(&gateway.url("/v1/chat/admin/sessions/?status=claimed"), Some(&admin)).await;
    assert_eq!((&find(&mine, &id)["unread_count"], &find(&mine, &id)["message_count"]), (&json!(0), &json!(2)));

    let (status, closed) =
        post_json(&gateway.url("/v1/chat/admin/session/close/"), Some(&admin), &json!({"session_id": id})).await;
    assert_eq!((status, &closed["status"]), (200, &json!("closed")));
    assert!(closed["closed_at"].is_string());

    let rating = json!({"session_id": id, "rating": 5, "feedback": "Great service!"});
    let (status, rated) = post_json(&gateway.url("/v1/chat/store/session/rating/"), Some(&store), &rating).await;
    assert_eq!((status, &rated["rating"], &rated["feedback"]), (200, &json!(5), &json!("Great service!")));
    let (status, again) = post_json(&gateway.url("/v1/chat/store/session/rating/"), Some(&store), &rating).await;
    assert_eq!((status, again), (409, json!({"success": false, "message": "Session is already rated"})));

    // The store's next visit opens a new session; the old one stays readable.
    let next = open_session(&gateway).await;
    assert_ne!(next["id"], id);
    assert_eq!((&next["status"], &next["messages"]), (&json!("open"), &json!([])));
    let (status, old) = get_json(&gateway.url(&format!("{STORE_MESSAGES}?session_id={id}")), Some(&store)).await;
    assert_eq!((status, old["messages"].as_array().unwrap().len()), (200, 2));
}

async fn twenty_admins_claim_one_session(gateway: Gateway) {
    let session = open_session(&gateway).await;
    let tokens: Vec<String> = claimers().map(token_of_admin).collect();
    let outcomes = join_all(tokens.iter().map(|token| claim(&gateway, token, &session["id"]))).await;
    let winners: Vec<&Value> = outcomes.iter().filter(|(status, _)| *status == 200).map(|(_, body)| body).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let losers = outcomes.iter().filter(|(status, _)| *status == 409);
    for (_, body) in losers.clone() {
        assert_eq!(body, &json!({"error": "Session is claimed by another admin"}));
    }
    assert_eq!(losers.count(), 19);
    // The winner's repeat is a 200 that changes nothing.
    let winner = AdminId(winners[0]["admin_id"].as_u64().unwrap());
    let (status, again) = claim(&gateway, &token_of_admin(winner), &session["id"]).await;
    assert_eq!((status, &again["admin_id"], &again["updated"]), (200, &json!(winner), &winners[0]["updated"]));
}

async fn concurrent_senders_and_a_reader_agree(gateway: Gateway) {
    const PER_SENDER: usize = 200;
    const IN_FLIGHT: usize = 4;
    const RETRIES: usize = 5;
    let session = open_session(&gateway).await;
    let id = session["id"].clone();
    assert_eq!(claim(&gateway, &sarah(), &id).await.0, 200);

    // Each party keeps a few sends in flight, as a client with several tabs does; in
    // `--lambda` mode they land in different instances of the send functions. A send answered
    // 503 (the table too busy to answer within the deadline) is sent again with the same
    // `client_message_id`, as the API asks of clients.
    let sender = |token: String, url: String, bodies: Vec<Value>| {
        futures::stream::iter(bodies)
            .map(move |body| {
                let (token, url) = (token.clone(), url.clone());
                async move {
                    for _ in 1..RETRIES {
                        let answer = post_json(&url, Some(&token), &body).await;
                        if answer.0 != 503 {
                            return answer;
                        }
                    }
                    post_json(&url, Some(&token), &body).await
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect::<Vec<_>>()
    };
    let (mut store_bodies, mut admin_bodies) = (Vec::new(), Vec::new());
    for i in 0..PER_SENDER {
        let store_body = json!({"content": format!("store {i}"), "client_message_id": format!("s-{i}")});
        let admin_body =
            json!({"session_id": id, "content": format!("admin {i}"), "client_message_id": format!("a-{i}")});
        // Every tenth send is retried at once, as a client on a flaky network would.
        let copies = if i % 10 == 0 { 2 } else { 1 };
        for _ in 0..copies {
            store_bodies.push(store_body.clone());
            admin_bodies.push(admin_body.clone());
        }
    }
    let store_sends = sender(store_token(), gateway.url(STORE_MESSAGES), store_bodies);
    let admin_sends = sender(sarah(), gateway.url(ADMIN_MESSAGES), admin_bodies);
    let senders = tokio::spawn(async move {
        let (mut store, admin) = tokio::join!(store_sends, admin_sends);
        store.extend(admin);
        store
    });

    // The reader follows along with after=, as a client would.
    let mut seen: Vec<Value> = Vec::new();
    let mut after = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while seen.len() < 2 * PER_SENDER {
        assert!(Instant::now() < deadline, "the reader saw {} messages", seen.len());
        let (status, page) =
            get_json(&gateway.url(&format!("{ADMIN_MESSAGES}?session_id={id}&after={after}&limit=50")), Some(&sarah()))
                .await;
        assert_eq!(status, 200);
        for message in page["messages"].as_array().unwrap() {
            let message_id = message["id"].as_u64().unwrap();
            assert!(message_id > after, "ids strictly increase: {message_id} after {after}");
            after = message_id;
            seen.push(message.clone());
        }
        if page["messages"].as_array().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
    }
    let outcomes = senders.await.unwrap();
    let created = outcomes.iter().filter(|(status, _)| *status == 201).count();
    let repeated = outcomes.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(created + repeated, outcomes.len(), "every send answered as stored: {outcomes:?}");
    // A send answered 503 after it committed is stored already: its retry is a repeat.
    assert!(created <= 2 * PER_SENDER && repeated >= 2 * PER_SENDER / 10, "({created}, {repeated})");

    let contents: HashSet<&str> = seen.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!((seen.len(), contents.len()), (2 * PER_SENDER, 2 * PER_SENDER), "each message seen exactly once");
    let (_, rest) =
        get_json(&gateway.url(&format!("{ADMIN_MESSAGES}?session_id={id}&after={after}")), Some(&sarah())).await;
    assert_eq!(rest["messages"], json!([]), "nothing beyond what the reader saw");
}

async fn sessions_are_handed_on_tagged_and_closed_by_the_store(gateway: Gateway) {
    let (sarah, omar) = (sarah(), token_of_admin(e2e::cast::OMAR));
    let session = open_session(&gateway).await;
    let id = session["id"].clone();
    assert_eq!(claim(&gateway, &sarah, &id).await.0, 200);

    let transfer = |token: String, to: Value| {
        let url = gateway.url("/v1/chat/admin/session/transfer/");
        let body = json!({"session_id": id, "admin_id": to});
        async move { post_json(&url, Some(&token), &body).await }
    };
    let (status, handed) = transfer(sarah.clone(), json!(e2e::cast::OMAR)).await;
    assert_eq!((status, &handed["status"], &handed["admin_id"]), (200, &json!("claimed"), &json!(e2e::cast::OMAR)));
    let view = format!("/v1/chat/admin/session/?session_id={id}");
    assert_eq!(get_json(&gateway.url(&view), Some(&sarah)).await.0, 403, "no longer Sarah's");
    let (_, omars) = get_json(&gateway.url("/v1/chat/admin/sessions/?status=claimed"), Some(&omar)).await;
    assert_eq!((&omars["total_count"], &omars["sessions"][0]["id"]), (&json!(1), &id));

    let (status, tagged) = post_json(
        &gateway.url("/v1/chat/admin/session/tags/"),
        Some(&omar),
        &json!({"session_id": id, "tags": ["billing", "vip"]}),
    )
    .await;
    assert_eq!((status, &tagged["tags"]), (200, &json!(["billing", "vip"])));

    // Back to the queue: open again, visible to every admin, tags and all.
    let (status, queued) = transfer(omar.clone(), Value::Null).await;
    assert_eq!((status, &queued["status"], &queued["admin_id"]), (200, &json!("open"), &Value::Null));
    let (_, vip) = get_json(&gateway.url("/v1/chat/admin/sessions/?status=open&tag=vip"), Some(&sarah)).await;
    assert_eq!((&vip["total_count"], &vip["sessions"][0]["id"]), (&json!(1), &id));
    let (_, none) = get_json(&gateway.url("/v1/chat/admin/sessions/?tag=refund"), Some(&sarah)).await;
    assert_eq!((&none["total_count"], &none["sessions"]), (&json!(0), &json!([])));

    let (status, closed) =
        post_json(&gateway.url("/v1/chat/store/session/close/"), Some(&store_token()), &json!({})).await;
    assert_eq!(
        (status, &closed["id"], &closed["status"], &closed["admin_id"]),
        (200, &id, &json!("closed"), &Value::Null)
    );
    let (_, queue) = get_json(&gateway.url("/v1/chat/admin/sessions/?status=open"), Some(&sarah)).await;
    assert_eq!(queue["total_count"], 0, "closed before anyone claimed it: in no list");
    assert_eq!(get_json(&gateway.url(&view), Some(&sarah)).await.0, 200, "but any admin may still look");
    assert_ne!(open_session(&gateway).await["id"], id);
}

async fn the_session_list_pages_by_cursor_and_offset(gateway: Gateway) {
    // Three stores' sessions in the open queue, one message each, so activity orders them.
    let stores = [TECH_STORE, e2e::cast::OTHER_STORE, e2e::cast::QUIET_STORE];
    let mut ids = Vec::new();
    for store in stores {
        let token = token_of_store(store);
        let (status, message) = post_json(&gateway.url(STORE_MESSAGES), Some(&token), &json!({"content": "hi"})).await;
        assert_eq!(status, 201, "the first message opens the session: {message}");
        ids.push(message["session_id"].clone());
    }
    ids.reverse();
    let list = |query: String| {
        let url = gateway.url(&format!("/v1/chat/admin/sessions/{query}"));
        async move { get_json(&url, Some(&sarah())).await.1 }
    };
    let all = list(String::new()).await;
    let listed: Vec<Value> = all["sessions"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
    assert_eq!((listed, &all["total_count"]), (ids.clone(), &json!(3)));

    let mut walked = Vec::new();
    let mut page = list("?limit=1".into()).await;
    loop {
        assert_eq!(page["total_count"], 3);
        walked.extend(page["sessions"].as_array().unwrap().iter().map(|s| s["id"].clone()));
        let Some(cursor) = page["next_cursor"].as_str() else { break };
        page = list(format!("?limit=1&cursor={cursor}")).await;
    }
    assert_eq!(walked, ids);
    let skipped = list("?offset=1&limit=1".into()).await;
    assert_eq!((&skipped["sessions"][0]["id"], skipped["next_cursor"].is_string()), (&ids[1], true));
}

on_every_stack!(
    scripted_conversation,
    twenty_admins_claim_one_session,
    concurrent_senders_and_a_reader_agree,
    sessions_are_handed_on_tagged_and_closed_by_the_store,
    the_session_list_pages_by_cursor_and_offset,
);
