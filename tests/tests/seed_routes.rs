//! The two LuxMart session routes through the local gateway, exactly as their seeds say.

use std::collections::BTreeSet;

use e2e::cast::{OMAR, OTHER_STORE, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json};
use e2e::stack::{dynamodb, fresh_table};
use serde_json::{Value, json};
use shared::Timestamp;
use shared::domain::{NewMessage, SendLimit, SenderType, SessionId, SessionStatus};
use shared::storage::{AppendGuard, AppendOutcome, DynamoStore, IdsFor, SessionStore, WriteOutcome};

const STORE_SESSION: &str = "/v1/chat/store/session/";

fn admin_session(query: &str) -> String {
    format!("/v1/chat/admin/session/{query}")
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().expect("an object").keys().map(String::as_str).collect()
}

/// The seed's session fields (field table of `luxmart-store-get-or-create-session.txt`).
const SESSION_FIELDS: [&str; 10] =
    ["id", "store_id", "admin_id", "status", "last_message_at", "created", "updated", "closed_at", "store", "messages"];
const MESSAGE_FIELDS: [&str; 10] = [
    "id",
    "session_id",
    "sender_type",
    "sender_id",
    "content",
    "attachment_url",
    "attachment_type",
    "status",
    "created",
    "updated",
];

fn assert_timestamp(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("{value} is not a timestamp"));
    assert!(text.ends_with('Z'), "{text} is UTC with a trailing Z");
    Timestamp::parse(text).unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"));
}

async fn store_on(table: &str) -> DynamoStore {
    DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), table)
}

#[tokio::test]
async fn store_session_is_created_once_in_the_seeds_shape() {
    let gateway = Gateway::start();
    let url = gateway.url(STORE_SESSION);
    let unauthorized = json!({"success": false, "message": "Unauthorized"});
    assert_eq!(get_json(&url, None).await, (401, unauthorized.clone()));
    assert_eq!(get_json(&url, Some("not-a-token")).await, (401, unauthorized.clone()));
    let bearer = reqwest::Client::new()
        .get(&url)
        .header("Authorization", format!("Bearer {}", token_of_store(TECH_STORE)))
        .send()
        .await
        .unwrap();
    assert_eq!((bearer.status().as_u16(), bearer.json::<Value>().await.unwrap()), (401, unauthorized));
    assert_eq!(
        get_json(&url, Some(&token_of_admin(SARAH))).await,
        (403, json!({"success": false, "message": "Store access required"}))
    );

    let (status, session) = get_json(&url, Some(&token_of_store(TECH_STORE))).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&session), BTreeSet::from(SESSION_FIELDS));
    assert!(session["id"].as_u64().is_some_and(|id| id > 0));
    assert_eq!(session["store_id"], json!(TECH_STORE));
    assert_eq!(session["admin_id"], Value::Null);
    assert_eq!(session["status"], "open");
    assert_eq!(session["closed_at"], Value::Null);
    assert_eq!(session["messages"], json!([]));
    assert_eq!(
        session["store"],
        json!({"id": 5, "name": "Tech Store", "logo_url": "https://example.com/logo.jpg", "email": "store@example.com"})
    );
    for field in ["last_message_at", "created", "updated"] {
        assert_timestamp(&session[field]);
    }
    // A new session's last_message_at is its creation time, as in the seed's example.
    assert_eq!(session["last_message_at"], session["created"]);

    let (_, again) = get_json(&url, Some(&token_of_store(TECH_STORE))).await;
    assert_eq!(again, session);
    let (_, other) = get_json(&url, Some(&token_of_store(OTHER_STORE))).await;
    assert_ne!(other["id"], session["id"]);
}

#[tokio::test]
async fn admin_session_errors_come_in_the_seeds_order() {
    let table = fresh_table().await;
    let gateway = Gateway::start_on_dynamodb(&table);
    let (sarah, omar) = (token_of_admin(SARAH), token_of_admin(OMAR));
    let error = |message: &str| json!({ "error": message });

    // 401 before anything else, even with no session_id.
    assert_eq!(get_json(&gateway.url(&admin_session("")), None).await, (401, error("Unauthorized")));
    assert_eq!(
        get_json(&gateway.url(&admin_session("?session_id=1")), Some("nope")).await,
        (401, error("Unauthorized"))
    );
    assert_eq!(
        get_json(&gateway.url(&admin_session("?session_id=1")), Some(&token_of_store(TECH_STORE))).await,
        (403, error("Admin access required"))
    );
    // 400 missing, then 400 not an integer.
    for query in ["", "?session_id=", "?other=1"] {
        assert_eq!(
            get_json(&gateway.url(&admin_session(query)), Some(&sarah)).await,
            (400, error("session_id is required")),
            "{query}"
        );
    }
    for query in ["?session_id=abc", "?session_id=1.5", "?session_id=1e3"] {
        assert_eq!(
            get_json(&gateway.url(&admin_session(query)), Some(&sarah)).await,
            (400, error("session_id must be integer")),
            "{query}"
        );
    }
    // 404 for an integer no session has.
    assert_eq!(
        get_json(&gateway.url(&admin_session("?session_id=987654")), Some(&sarah)).await,
        (404, error("Session not found"))
    );

    // An open session: any admin may look.
    let (_, opened) = get_json(&gateway.url(STORE_SESSION), Some(&token_of_store(TECH_STORE))).await;
    let url = gateway.url(&admin_session(&format!("?session_id={}", opened["id"])));
    assert_eq!(get_json(&url, Some(&omar)).await, (200, opened.clone()));
    assert_eq!(get_json(&url, Some(&sarah)).await, (200, opened.clone()));

    // Claimed by Sarah: hers alone.
    let store = store_on(&table).await;
    let seen = store.session_page(SessionId(opened["id"].as_u64().unwrap()), 0).await.unwrap().unwrap().session;
    let WriteOutcome::Written(claimed) =
        store.change_lifecycle(&seen, SessionStatus::Claimed, Some(SARAH), Timestamp::now()).await.unwrap()
    else {
        panic!("claim failed")
    };
    assert_eq!(get_json(&url, Some(&omar)).await, (403, error("Session belongs to another admin")));
    let (status, view) = get_json(&url, Some(&sarah)).await;
    assert_eq!((status, &view["status"], &view["admin_id"]), (200, &json!("claimed"), &json!(SARAH)));

    // Closed: still Sarah's to view, still not Omar's.
    store.change_lifecycle(&claimed, SessionStatus::Closed, Some(SARAH), Timestamp::now()).await.unwrap();
    let (status, view) = get_json(&url, Some(&sarah)).await;
    assert_eq!((status, &view["status"]), (200, &json!("closed")));
    assert_timestamp(&view["closed_at"]);
    assert_eq!(get_json(&url, Some(&omar)).await, (403, error("Session belongs to another admin")));
}

#[tokio::test]
async fn a_session_view_has_the_200_newest_messages_ascending() {
    let table = fresh_table().await;
    let gateway = Gateway::start_on_dynamodb(&table);
    let (_, opened) = get_json(&gateway.url(STORE_SESSION), Some(&token_of_store(TECH_STORE))).await;
    let store = store_on(&table).await;
    let session = store.session_page(SessionId(opened["id"].as_u64().unwrap()), 0).await.unwrap().unwrap().session;
    let mut ids = Vec::new();
    for i in 0..205u64 {
        let (sender_type, sender_id) =
            if i % 2 == 0 { (SenderType::Store, TECH_STORE.0) } else { (SenderType::Admin, SARAH.0) };
        let message = NewMessage {
            sender_type,
            sender_id,
            content: format!("message {i}"),
            attachment_url: String::new(),
            attachment_type: String::new(),
            upload_id: None,
            attachment_key: None,
            client_message_id: None,
            automatic: false,
        };
        let id = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
        let AppendOutcome::Appended(stored) = store
            .append_message(session.id, AppendGuard::NotClosed, id, message, Timestamp::now(), SendLimit::NONE)
            .await
            .unwrap()
        else {
            panic!("append failed")
        };
        ids.push(json!(stored.id));
    }

    for (url, token) in [
        (gateway.url(&admin_session(&format!("?session_id={}", session.id))), token_of_admin(OMAR)),
        (gateway.url(STORE_SESSION), token_of_store(TECH_STORE)),
    ] {
        let (status, view) = get_json(&url, Some(&token)).await;
        assert_eq!(status, 200);
        let messages = view["messages"].as_array().unwrap();
        assert_eq!(messages.iter().map(|m| m["id"].clone()).collect::<Vec<_>>(), ids[5..]);
        assert_eq!(keys(&messages[0]), BTreeSet::from(MESSAGE_FIELDS));
        assert_eq!(messages[0]["content"], "message 5");
        assert_eq!(messages[0]["sender_type"], "admin");
        assert_eq!(messages[0]["sender_id"], json!(SARAH));
        assert_eq!(messages[0]["status"], "sent");
        assert_eq!(messages[0]["session_id"], json!(session.id));
        assert_eq!(messages[199]["content"], "message 204");
        assert_eq!(view["last_message_at"], messages[199]["created"]);
    }
}

#[tokio::test]
async fn a_warm_session_view_is_one_dynamodb_query() {
    let table = fresh_table().await;
    let gateway = Gateway::start_on_dynamodb(&table);
    let store_token = token_of_store(TECH_STORE);
    let (_, opened) = get_json(&gateway.url(STORE_SESSION), Some(&store_token)).await;
    let url = gateway.url(&admin_session(&format!("?session_id={}", opened["id"])));
    get_json(&url, Some(&token_of_admin(SARAH))).await;
    get_json(&url, Some(&token_of_admin(SARAH))).await;
    get_json(&gateway.url(STORE_SESSION), Some(&store_token)).await;

    let calls = |n: usize| {
        let line = gateway.invocation(n);
        assert_eq!(line["status"], 200);
        assert!(line["latency_ms"].as_f64().is_some());
        let (all, live) = (line["dynamodb_calls"].as_u64().unwrap(), line["live_dynamodb_calls"].as_u64().unwrap());
        (line["route"].as_str().unwrap().to_owned(), all - live, live)
    };
    // Store, first call: token, the store's partition, then create the session (the session
    // id's and the first message ids' counters, then the transaction); live delivery looks
    // for admins to tell about the new session.
    assert_eq!(calls(1), ("GET /v1/chat/store/session/".into(), 5, 1));
    // Admin, cold: token lookup + one Query; warm: the Query alone.
    assert_eq!(calls(2), ("GET /v1/chat/admin/session/".into(), 2, 0));
    assert_eq!(calls(3), ("GET /v1/chat/admin/session/".into(), 1, 0));
    // Store, warm: its partition (active pointer) + the session Query.
    assert_eq!(calls(4), ("GET /v1/chat/store/session/".into(), 2, 0));
    // No log line carries a token.
    let lines = gateway.lines().join("\n");
    assert!(!lines.contains(&store_token) && !lines.contains(&token_of_admin(SARAH)));
}

#[tokio::test]
async fn a_storage_outage_is_a_503_in_the_familys_shape() {
    let outage = dynamodb_local::DynamoDbLocal::start().expect("a second DynamoDB Local starts");
    let gateway = Gateway::start_with_args(&["--dynamodb-endpoint", &outage.endpoint()]);
    let token = gateway.wait_for_line(|l| l.starts_with("demo admin")).rsplit(' ').next().unwrap().to_owned();
    drop(outage);
    assert_eq!(
        get_json(&gateway.url(&admin_session("?session_id=1")), Some(&token)).await,
        (503, json!({"error": "Service temporarily unavailable"}))
    );
}

#[tokio::test]
async fn unknown_routes_get_api_gateways_json_answers() {
    let gateway = Gateway::start();
    assert_eq!(get_json(&gateway.url("/v1/chat/nothing/"), None).await, (404, json!({"message": "Not Found"})));
    let response = reqwest::Client::new().delete(gateway.url(STORE_SESSION)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"message": "Method Not Allowed"}));
    // Past API Gateway's limits on the URL (8 KB) and the headers (10 KB), and just within them.
    let answer = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        assert_eq!(response.headers()["content-type"], "application/json");
        (status, response.json::<Value>().await.unwrap())
    };
    let client = reqwest::Client::new();
    let long_url = |total: usize| {
        let base = gateway.url("/v1/chat/nothing/?q=");
        let path_and_query_start = base.find("/v1/").unwrap();
        format!("{base}{}", "x".repeat(total - (base.len() - path_and_query_start)))
    };
    assert_eq!(answer(client.get(long_url(8 * 1024 + 1))).await, (414, json!({"message": "Request-URI Too Long"})));
    assert_eq!(answer(client.get(long_url(8 * 1024))).await, (404, json!({"message": "Not Found"})));
    let big = |bytes| client.get(gateway.url("/v1/chat/nothing/")).header("x-big", "x".repeat(bytes));
    let too_large = json!({"message": "Request Header Fields Too Large"});
    assert_eq!(answer(big(10 * 1024)).await, (431, too_large));
    assert_eq!(answer(big(8 * 1024)).await, (404, json!({"message": "Not Found"})));
    // A Host no URL can be made of is refused before any function runs, as API Gateway does.
    let response = reqwest::Client::new()
        .get(gateway.url(STORE_SESSION))
        .header("x-forwarded-proto", "not a scheme")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"message": "Bad Request"}));
}

#[tokio::test]
async fn without_a_seed_file_a_demo_store_and_admin_are_printed() {
    let gateway = Gateway::start_with_args(&[]);
    let token_of = |who: &str| {
        let line = gateway.wait_for_line(|l| l.starts_with(who));
        line.rsplit(' ').next().unwrap().to_owned()
    };
    let (store_token, admin_token) = (token_of("demo store"), token_of("demo admin"));
    let (status, session) = get_json(&gateway.url(STORE_SESSION), Some(&store_token)).await;
    assert_eq!((status, &session["store"]["name"]), (200, &json!("Demo Store")));
    let url = gateway.url(&admin_session(&format!("?session_id={}", session["id"])));
    assert_eq!(get_json(&url, Some(&admin_token)).await, (200, session));
}
