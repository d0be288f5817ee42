//! The Selise and SuperOffice seed routes through the local gateway, on every stack: each
//! seed's own example request replayed (with this deployment's ids and key), and the answer
//! compared field by field with the seed's example.

use std::collections::BTreeSet;

use e2e::cast::{OMAR, OTHER_STORE, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, PROJECT_KEY, get_json, post_json};
use e2e::on_every_stack;
use serde_json::{Value, json};

/// A conversation to list and read: Tech Store's session, claimed by Sarah, with messages
/// both ways (one with an attachment), read by the store, and tagged.
async fn conversation(gateway: &Gateway) -> Value {
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    let send_store = |body: Value| {
        let (url, token) = (gateway.url("/v1/chat/store/messages/"), store.clone());
        async move { post_json(&url, Some(&token), &body).await.1 }
    };
    let first = send_store(json!({"content": "Hi, I need help with my recent order"})).await;
    let id = first["session_id"].clone();
    let admin = |path: &'static str, body: Value| {
        let (url, token) = (gateway.url(path), sarah.clone());
        async move { post_json(&url, Some(&token), &body).await }
    };
    assert_eq!(admin("/v1/chat/admin/session/claim/", json!({"session_id": id})).await.0, 200);
    let (_, reply) = admin(
        "/v1/chat/admin/messages/",
        json!({"session_id": id, "content": "Of course! Can you provide your order number?"}),
    )
    .await;
    send_store(json!({"content": "Here it is", "attachment_url": "https://cdn.example.com/order.png", "attachment_type": "image/png"}))
        .await;
    let (status, _) = post_json(
        &gateway.url("/v1/chat/store/session/read/"),
        Some(&store),
        &json!({"up_to_message_id": reply["id"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        admin("/v1/chat/admin/session/tags/", json!({"session_id": id, "tags": ["support", "billing"]})).await.0,
        200
    );
    id
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().expect("an object").keys().map(String::as_str).collect()
}

async fn selise_list_matches_the_seed(gateway: Gateway) {
    let id = conversation(&gateway).await;
    // The seed's request example: its headers, its body, this deployment's agent and key.
    let response = reqwest::Client::new()
        .post(gateway.url("/conversation/sessions"))
        .header("accept", "application/json")
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Token {}", token_of_admin(SARAH)))
        .body(json!({"agent_id": SARAH.to_string(), "project_key": PROJECT_KEY, "limit": 50, "offset": 0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(keys(&body), BTreeSet::from(["sessions", "total_count"]));
    assert_eq!(body["total_count"], 1);
    let session = &body["sessions"][0];
    // The seed's session fields, as API.md maps them.
    assert_eq!(
        keys(session),
        BTreeSet::from([
            "session_id",
            "agent_id",
            "user_id",
            "status",
            "created_at",
            "updated_at",
            "last_message_at",
            "closed_at",
            "message_count",
            "user_messages",
            "agent_messages",
            "duration_seconds",
            "response_time_avg",
            "user_info",
            "tags",
            "rating",
            "feedback",
            "resolved",
        ])
    );
    assert_eq!(session["session_id"], json!(id.to_string()));
    assert_eq!(
        (&session["agent_id"], &session["user_id"]),
        (&json!(SARAH.to_string()), &json!(TECH_STORE.to_string()))
    );
    assert_eq!(session["status"], "active");
    for field in ["created_at", "updated_at", "last_message_at"] {
        assert!(session[field].as_str().is_some_and(|t| t.ends_with('Z')), "{field}");
    }
    assert_eq!(session["closed_at"], Value::Null);
    assert_eq!(
        (&session["message_count"], &session["user_messages"], &session["agent_messages"]),
        (&json!(3), &json!(2), &json!(1))
    );
    assert!(session["duration_seconds"].as_i64().is_some_and(|d| d >= 0));
    assert!(session["response_time_avg"].as_f64().is_some_and(|t| t >= 0.0), "one answer was timed");
    assert_eq!(session["user_info"], json!({"name": "Tech Store", "email": "store@example.com"}));
    assert_eq!(session["tags"], json!(["support", "billing"]));
    assert_eq!(
        (&session["rating"], &session["feedback"], &session["resolved"]),
        (&Value::Null, &Value::Null, &json!(false))
    );

    // Closed and rated: the seed's second example.
    let (status, _) =
        post_json(&gateway.url("/v1/chat/store/session/close/"), Some(&token_of_store(TECH_STORE)), &json!({})).await;
    assert_eq!(status, 200);
    let rating = json!({"session_id": id, "rating": 4, "feedback": "Great service!"});
    assert_eq!(
        post_json(&gateway.url("/v1/chat/store/session/rating/"), Some(&token_of_store(TECH_STORE)), &rating).await.0,
        200
    );
    let list = |body: Value| {
        let url = gateway.url("/conversation/sessions");
        async move { post_json(&url, Some(&token_of_admin(SARAH)), &body).await }
    };
    let (_, closed) =
        list(json!({"agent_id": SARAH.to_string(), "project_key": PROJECT_KEY, "status": "closed"})).await;
    let session = &closed["sessions"][0];
    assert_eq!(
        (&session["status"], &session["rating"], &session["feedback"]),
        (&json!("closed"), &json!(4), &json!("Great service!"))
    );
    assert_eq!(session["resolved"], true);
    assert!(session["closed_at"].is_string());
    let (_, active) =
        list(json!({"agent_id": SARAH.to_string(), "project_key": PROJECT_KEY, "status": "active"})).await;
    assert_eq!(active["total_count"], 0);
}

async fn selise_validation_errors_are_fastapi_422s(gateway: Gateway) {
    let list = |body: Value| {
        let url = gateway.url("/conversation/sessions");
        async move { post_json(&url, Some(&token_of_admin(SARAH)), &body).await }
    };
    let one = |field: &str, msg: &str, kind: &str| json!({"loc": ["body", field], "msg": msg, "type": kind});
    let agent = SARAH.to_string();
    let cases = [
        (json!({"project_key": PROJECT_KEY}), vec![one("agent_id", "field required", "value_error.missing")]),
        (json!({"agent_id": agent}), vec![one("project_key", "field required", "value_error.missing")]),
        (
            json!({"agent_id": 2, "project_key": PROJECT_KEY}),
            vec![one("agent_id", "str type expected", "type_error.str")],
        ),
        (
            json!({"agent_id": agent, "project_key": PROJECT_KEY, "limit": "many"}),
            vec![one("limit", "value is not a valid integer", "type_error.integer")],
        ),
        (
            json!({"agent_id": agent, "project_key": PROJECT_KEY, "limit": 0}),
            vec![one("limit", "ensure this value is greater than or equal to 1", "value_error.number.not_ge")],
        ),
        (
            json!({"agent_id": agent, "project_key": PROJECT_KEY, "limit": 101}),
            vec![one("limit", "ensure this value is less than or equal to 100", "value_error.number.not_le")],
        ),
        (
            json!({"agent_id": agent, "project_key": PROJECT_KEY, "offset": -1}),
            vec![one("offset", "ensure this value is greater than or equal to 0", "value_error.number.not_ge")],
        ),
        (
            json!({"agent_id": agent, "project_key": "wrong-key"}),
            vec![one("project_key", "Invalid project key", "value_error.invalid")],
        ),
        (
            json!({"agent_id": OMAR.to_string(), "project_key": PROJECT_KEY}),
            vec![one("agent_id", "Agent not found or access denied", "value_error.notfound")],
        ),
        (
            json!({"agent_id": agent, "project_key": PROJECT_KEY, "status": "idle"}),
            vec![one(
                "status",
                "value is not a valid enumeration member; permitted: 'active', 'closed'",
                "type_error.enum",
            )],
        ),
        (
            json!({"agent_id": "x", "project_key": "y", "limit": 500, "offset": -5}),
            vec![
                one("agent_id", "Agent not found or access denied", "value_error.notfound"),
                one("project_key", "Invalid project key", "value_error.invalid"),
                one("limit", "ensure this value is less than or equal to 100", "value_error.number.not_le"),
                one("offset", "ensure this value is greater than or equal to 0", "value_error.number.not_ge"),
            ],
        ),
    ];
    for (body, detail) in cases {
        assert_eq!(list(body.clone()).await, (422, json!({ "detail": detail })), "{body}");
    }
    let url = gateway.url("/conversation/sessions");
    // Without a token the project key is the credential, and it is missing here.
    let missing = json!({"detail": [
        {"loc": ["body", "agent_id"], "msg": "field required", "type": "value_error.missing"},
        {"loc": ["body", "project_key"], "msg": "field required", "type": "value_error.missing"},
    ]});
    assert_eq!(post_json(&url, None, &json!({})).await, (422, missing));
    assert_eq!(post_json(&url, Some("not-a-token"), &json!({})).await, (401, json!({"detail": "Unauthorized"})));
    assert_eq!(
        post_json(&url, Some(&token_of_store(TECH_STORE)), &json!({})).await,
        (403, json!({"detail": "Admin access required"}))
    );
}

async fn superoffice_messages_match_the_seed(gateway: Gateway) {
    let id = conversation(&gateway).await;
    let url = |query: &str| gateway.url(&format!("/api/v1/Agents/Chat/GetChatMessages{query}"));
    // The seed's request: Bearer scheme, JSON body {ChatSessionId, After}.
    let request = |query: &str, token: String, body: Value| {
        reqwest::Client::new()
            .post(url(query))
            .header("Authorization", format!("Bearer {token}"))
            .header("Accept", "application/json; charset=utf-8")
            .header("Content-Type", "application/json; charset=utf-8")
            .body(body.to_string())
            .send()
    };
    let answer = |response: reqwest::Response| async move {
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    };
    let (status, messages) =
        answer(request("", token_of_admin(SARAH), json!({"ChatSessionId": id, "After": 0})).await.unwrap()).await;
    assert_eq!(status, 200);
    let messages = messages.as_array().unwrap().clone();
    assert_eq!(messages.len(), 3);
    for message in &messages {
        assert_eq!(
            keys(message),
            BTreeSet::from([
                "ChatMessageId",
                "ChatSessionId",
                "Type",
                "Message",
                "Author",
                "ReadByCustomer",
                "SpecialType",
                "SpecialParam",
                "WhenPosted",
            ])
        );
        assert_eq!(message["ChatSessionId"], id);
        assert!(message["WhenPosted"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    let ids: Vec<u64> = messages.iter().map(|m| m["ChatMessageId"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ascending");
    assert_eq!(
        (&messages[0]["Type"], &messages[0]["Author"], &messages[0]["Message"], &messages[0]["ReadByCustomer"]),
        (&json!("ToUser"), &json!("Tech Store"), &json!("Hi, I need help with my recent order"), &json!(0))
    );
    assert_eq!((&messages[0]["SpecialType"], &messages[0]["SpecialParam"]), (&json!("None"), &json!("")));
    assert_eq!(
        (&messages[1]["Type"], &messages[1]["Author"], &messages[1]["ReadByCustomer"]),
        (&json!("ToCustomer"), &json!("Sarah"), &json!(1))
    );
    assert_eq!(
        (&messages[2]["SpecialType"], &messages[2]["SpecialParam"]),
        (&json!("Attachment"), &json!("https://cdn.example.com/order.png"))
    );

    // After, $select in mixed case, an unknown field, and the other schemes and viewers.
    let after = json!({"ChatSessionId": id, "After": ids[0]});
    let (_, later) = answer(request("", token_of_admin(SARAH), after.clone()).await.unwrap()).await;
    assert_eq!(later.as_array().unwrap().len(), 2);
    let (status, selected) =
        answer(request("?$select=message,AUTHOR", token_of_admin(SARAH), after.clone()).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(selected[0]["Author"], "Sarah");
    assert_eq!(selected[0]["Message"], "Of course! Can you provide your order number?");
    for nulled in
        ["ChatMessageId", "ChatSessionId", "Type", "ReadByCustomer", "SpecialType", "SpecialParam", "WhenPosted"]
    {
        assert_eq!(selected[0][nulled], Value::Null, "{nulled}");
    }
    let (status, unknown) =
        answer(request("?$select=Message,Mood", token_of_admin(SARAH), after.clone()).await.unwrap()).await;
    assert_eq!((status, unknown), (400, json!({"Error": "Unknown field in $select: Mood", "ErrorType": "BadRequest"})));
    let (status, own) = post_json(&url(""), Some(&token_of_store(TECH_STORE)), &after).await;
    assert_eq!((status, own.as_array().map(Vec::len)), (200, Some(2)), "the store reads its own, with Token");
    let (status, _) = answer(request("", token_of_store(OTHER_STORE), after.clone()).await.unwrap()).await;
    assert_eq!(status, 404, "another store's session is not found");
    let (status, body) = answer(request("", token_of_admin(OMAR), after).await.unwrap()).await;
    assert_eq!((status, body), (403, json!({"Error": "Session belongs to another admin", "ErrorType": "Forbidden"})));
    let (status, body) = post_json(&url(""), None, &json!({"ChatSessionId": id})).await;
    assert_eq!((status, body), (401, json!({"Error": "Unauthorized", "ErrorType": "Unauthorized"})));
    let (status, _) = post_json(&url(""), Some(&token_of_admin(SARAH)), &json!({"After": 0})).await;
    assert_eq!(status, 400, "ChatSessionId is required");
    let (status, _) = get_json(&url(""), Some(&token_of_admin(SARAH))).await;
    assert_eq!(status, 405);
}

/// The credentials the seeds' own examples use: Selise's request carries no `Authorization`
/// (its project key is the credential, and `agent_id` names any admin); SuperOffice's uses
/// `Basic` (here the user name is the caller's id and the password its token). `SoTicket`
/// is refused, saying what to use instead.
async fn the_seeds_own_credentials_work(gateway: Gateway) {
    let id = conversation(&gateway).await;
    let selise = |body: String| {
        let request = reqwest::Client::new()
            .post(gateway.url("/conversation/sessions"))
            .header("accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    // The seed's curl as it is written, with this deployment's agent and key for its placeholders.
    let seed_body = |agent: &str, key: &str| {
        format!("{{\n\"agent_id\": \"{agent}\",\n\"project_key\": \"{key}\",\n\"limit\": 50,\n\"offset\": 0\n}}")
    };
    let (status, listed) = selise(seed_body(&SARAH.to_string(), PROJECT_KEY)).await;
    assert_eq!((status, &listed["total_count"]), (200, &json!(1)), "{listed}");
    assert_eq!(
        (&listed["sessions"][0]["session_id"], &listed["sessions"][0]["agent_id"]),
        (&json!(id.to_string()), &json!(SARAH.to_string()))
    );
    let (status, omars) = selise(seed_body(&OMAR.to_string(), PROJECT_KEY)).await;
    assert_eq!((status, &omars["total_count"]), (200, &json!(0)), "any admin, its own view");
    let invalid =
        |field: &str, msg: &str, kind: &str| json!({"detail": [{"loc": ["body", field], "msg": msg, "type": kind}]});
    assert_eq!(
        selise(seed_body(&SARAH.to_string(), "YOUR_PROJECT_KEY")).await,
        (422, invalid("project_key", "Invalid project key", "value_error.invalid"))
    );
    for unknown in ["agent_123", "999"] {
        assert_eq!(
            selise(seed_body(unknown, PROJECT_KEY)).await,
            (422, invalid("agent_id", "Agent not found or access denied", "value_error.notfound")),
            "{unknown}"
        );
    }

    let superoffice = |authorization: String| {
        let request = reqwest::Client::new()
            .post(gateway.url("/api/v1/Agents/Chat/GetChatMessages"))
            .header("Authorization", authorization)
            .header("Content-Type", "application/json; charset=utf-8")
            .body(json!({"ChatSessionId": id, "After": 0}).to_string());
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    use base64::Engine;
    let basic = |user: &str, token: &str| {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}")))
    };
    let bearer = superoffice(format!("Bearer {}", token_of_admin(SARAH))).await;
    assert_eq!(bearer.0, 200);
    assert_eq!(superoffice(basic(&SARAH.to_string(), &token_of_admin(SARAH))).await, bearer, "Basic as Bearer");
    let unauthorized = (401, json!({"Error": "Unauthorized", "ErrorType": "Unauthorized"}));
    assert_eq!(superoffice(basic(&OMAR.to_string(), &token_of_admin(SARAH))).await, unauthorized, "another's name");
    assert_eq!(superoffice(basic(&SARAH.to_string(), "not-a-token")).await, unauthorized);
    let (status, refused) = superoffice("SoTicket 7T:dGhpcyBpcyBub3QgYSB0aWNrZXQ=".into()).await;
    assert_eq!((status, &refused["ErrorType"]), (401, &json!("Unauthorized")));
    assert!(refused["Error"].as_str().unwrap().contains("use Basic"), "{refused}");
}

on_every_stack!(
    the_seeds_own_credentials_work,
    selise_list_matches_the_seed,
    selise_validation_errors_are_fastapi_422s,
    superoffice_messages_match_the_seed
);
