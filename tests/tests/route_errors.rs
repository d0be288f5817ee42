//! Every route's 401, 403, 400, 404 and 409 answers, status and exact body, on every stack (embedded store, DynamoDB Local, functions as Lambda runs them).

use e2e::cast::{OMAR, OTHER_STORE, QUIET_STORE, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json, post_raw};
use e2e::on_every_stack;
use e2e::platform::Signed;
use serde_json::{Value, json};

fn store_error(message: &str) -> Value {
    json!({ "success": false, "message": message })
}

fn admin_error(message: &str) -> Value {
    json!({ "error": message })
}

/// Sessions in every state the rules tell apart.
struct World {
    /// Tech Store's session, claimed by Sarah and closed.
    closed: Value,
    /// Tech Store's active session, open.
    open: Value,
    /// Other Store's active session, claimed by Omar.
    omars: Value,
}

async fn world(gateway: &Gateway) -> World {
    let session = |store| async move {
        get_json(&gateway.url("/v1/chat/store/session/"), Some(&token_of_store(store))).await.1["id"].clone()
    };
    let act = |path: &'static str, admin, body: Value| async move {
        let (status, answer) = post_json(&gateway.url(path), Some(&token_of_admin(admin)), &body).await;
        assert_eq!(status, 200, "{path}: {answer}");
    };
    let closed = session(TECH_STORE).await;
    act("/v1/chat/admin/session/claim/", SARAH, json!({"session_id": closed})).await;
    act("/v1/chat/admin/session/close/", SARAH, json!({"session_id": closed})).await;
    let open = session(TECH_STORE).await;
    let omars = session(OTHER_STORE).await;
    act("/v1/chat/admin/session/claim/", OMAR, json!({"session_id": omars})).await;
    World { closed, open, omars }
}

async fn check(
    gateway: &Gateway,
    method: &str,
    path: &str,
    token: Option<String>,
    body: Value,
    expected: (u16, Value),
) {
    let answer = match method {
        "GET" => get_json(&gateway.url(path), token.as_deref()).await,
        _ => post_json(&gateway.url(path), token.as_deref(), &body).await,
    };
    assert_eq!(answer, expected, "{method} {path} {body}");
}

async fn store_routes_refuse_clearly(gateway: Gateway) {
    let w = world(&gateway).await;
    let tech = || Some(token_of_store(TECH_STORE));
    let quiet = || Some(token_of_store(QUIET_STORE));
    let admin = || Some(token_of_admin(SARAH));
    let routes = [
        ("GET", "/v1/chat/store/messages/"),
        ("POST", "/v1/chat/store/messages/"),
        ("POST", "/v1/chat/store/session/read/"),
        ("POST", "/v1/chat/store/session/close/"),
        ("POST", "/v1/chat/store/session/rating/"),
        ("POST", "/v1/chat/store/messages/edit/"),
        ("POST", "/v1/chat/store/messages/delete/"),
    ];
    for (method, path) in routes {
        check(&gateway, method, path, None, json!({}), (401, store_error("Unauthorized"))).await;
        check(&gateway, method, path, Some("bogus".into()), json!({}), (401, store_error("Unauthorized"))).await;
        check(&gateway, method, path, admin(), json!({}), (403, store_error("Store access required"))).await;
    }

    let messages = "/v1/chat/store/messages/";
    let bad_request = |m: &str| (400, store_error(m));
    for (query, message) in [
        ("?after=-1", "after must be a non-negative integer"),
        ("?after=x", "after must be a non-negative integer"),
        ("?before=0", "before must be an integer of at least 1"),
        ("?after=1&before=9", "after and before cannot both be given"),
        ("?limit=0", "limit must be an integer from 1 to 200"),
        ("?limit=201", "limit must be an integer from 1 to 200"),
        ("?session_id=abc", "session_id must be an integer of at least 1"),
    ] {
        check(&gateway, "GET", &format!("{messages}{query}"), tech(), Value::Null, bad_request(message)).await;
    }
    check(&gateway, "GET", messages, quiet(), Value::Null, (404, store_error("Session not found"))).await;
    let others = format!("{messages}?session_id={}", w.omars);
    check(&gateway, "GET", &others, tech(), Value::Null, (404, store_error("Session not found"))).await;
    check(
        &gateway,
        "GET",
        &format!("{messages}?session_id=987654"),
        tech(),
        Value::Null,
        (404, store_error("Session not found")),
    )
    .await;

    for (body, message) in [
        (json!({}), "content must not be empty unless attachment_url or upload_id is given"),
        (json!({"content": ""}), "content must not be empty unless attachment_url or upload_id is given"),
        (json!({"content": "x".repeat(4001)}), "content must be at most 4000 characters"),
        (json!({"content": 5}), "content: invalid type: integer `5`, expected a string"),
        (
            json!({"content": "hi", "attachment_url": "http://example.com/a.png"}),
            "attachment_url must be an https:// URL of at most 2048 characters",
        ),
        (
            json!({"content": "hi", "attachment_type": "png"}),
            "attachment_type must be a MIME type (type/subtype) of at most 100 characters",
        ),
        (
            json!({"content": "hi", "client_message_id": "c".repeat(65)}),
            "client_message_id must be 1 to 64 printable characters",
        ),
        (json!("text"), "Request body must be a JSON object"),
    ] {
        check(&gateway, "POST", messages, tech(), body, bad_request(message)).await;
    }
    let raw = reqwest::Client::new()
        .post(gateway.url(messages))
        .header("Authorization", format!("Token {}", token_of_store(TECH_STORE)))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (raw.status().as_u16(), raw.json::<Value>().await.unwrap()),
        bad_request("Request body is not valid JSON")
    );
    let huge = reqwest::Client::new()
        .post(gateway.url(messages))
        .header("Authorization", format!("Token {}", token_of_store(TECH_STORE)))
        .body(format!("{{\"content\": \"{}\"}}", "x".repeat(70_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (huge.status().as_u16(), huge.json::<Value>().await.unwrap()),
        (413, store_error("Request body too large"))
    );

    let read = "/v1/chat/store/session/read/";
    check(
        &gateway,
        "POST",
        read,
        tech(),
        json!({}),
        bad_request("Invalid request body: missing field `up_to_message_id`"),
    )
    .await;
    check(
        &gateway,
        "POST",
        read,
        tech(),
        json!({"up_to_message_id": -1}),
        bad_request("up_to_message_id: invalid value: integer `-1`, expected u64"),
    )
    .await;
    check(&gateway, "POST", read, quiet(), json!({"up_to_message_id": 1}), (404, store_error("Session not found")))
        .await;
    check(
        &gateway,
        "POST",
        "/v1/chat/store/session/close/",
        quiet(),
        json!({}),
        (404, store_error("Session not found")),
    )
    .await;

    let rating = "/v1/chat/store/session/rating/";
    check(
        &gateway,
        "POST",
        rating,
        tech(),
        json!({"session_id": w.closed, "rating": 6}),
        bad_request("rating must be an integer from 1 to 5"),
    )
    .await;
    check(
        &gateway,
        "POST",
        rating,
        tech(),
        json!({"session_id": w.closed, "rating": 0}),
        bad_request("rating must be an integer from 1 to 5"),
    )
    .await;
    check(
        &gateway,
        "POST",
        rating,
        tech(),
        json!({"rating": 3}),
        bad_request("Invalid request body: missing field `session_id`"),
    )
    .await;
    check(
        &gateway,
        "POST",
        rating,
        tech(),
        json!({"session_id": 987654, "rating": 3}),
        (404, store_error("Session not found")),
    )
    .await;
    check(
        &gateway,
        "POST",
        rating,
        tech(),
        json!({"session_id": w.omars, "rating": 3}),
        (404, store_error("Session not found")),
    )
    .await;
    check(
        &gateway,
        "POST",
        rating,
        tech(),
        json!({"session_id": w.open, "rating": 3}),
        (409, store_error("Only a closed session can be rated")),
    )
    .await;
    let (status, _) =
        post_json(&gateway.url(rating), tech().as_deref(), &json!({"session_id": w.closed, "rating": 3})).await;
    assert_eq!(status, 200);
    check(
        &gateway,
        "POST",
        rating,
        tech(),
        json!({"session_id": w.closed, "rating": 4}),
        (409, store_error("Session is already rated")),
    )
    .await;

    // Edits and deletes name the message, and only its sender's own.
    let edit = "/v1/chat/store/messages/edit/";
    let missing = bad_request("Invalid request body: missing field `message_id`");
    check(&gateway, "POST", edit, tech(), json!({"session_id": w.open, "content": "x"}), missing).await;
    let unknown = (404, store_error("Message not found"));
    let absent = json!({"session_id": w.open, "message_id": 987654, "content": "x"});
    check(&gateway, "POST", edit, tech(), absent, unknown.clone()).await;
    let delete = "/v1/chat/store/messages/delete/";
    check(&gateway, "POST", delete, tech(), json!({"session_id": w.open, "message_id": 987654}), unknown).await;
    let (_, mine) = post_json(&gateway.url(messages), tech().as_deref(), &json!({"content": "mine"})).await;
    let too_long = json!({"session_id": mine["session_id"], "message_id": mine["id"], "content": "x".repeat(4001)});
    check(&gateway, "POST", edit, tech(), too_long, bad_request("content must be at most 4000 characters")).await;
    check(
        &gateway,
        "POST",
        edit,
        tech(),
        json!({"session_id": mine["session_id"], "message_id": mine["id"], "content": ""}),
        bad_request("content must not be empty"),
    )
    .await;
    let not_yours = (403, store_error("Only its sender may edit or delete a message"));
    let (_, theirs) = post_json(&gateway.url(messages), quiet().as_deref(), &json!({"content": "theirs"})).await;
    let other_session = json!({"session_id": theirs["session_id"], "message_id": theirs["id"], "content": "x"});
    check(&gateway, "POST", edit, tech(), other_session, (404, store_error("Session not found"))).await;
    let sarahs = json!({"session_id": w.open, "content": "from the team"});
    post_json(&gateway.url("/v1/chat/admin/session/claim/"), admin().as_deref(), &json!({"session_id": w.open})).await;
    let (_, answer) = post_json(&gateway.url("/v1/chat/admin/messages/"), admin().as_deref(), &sarahs).await;
    check(&gateway, "POST", delete, tech(), json!({"session_id": w.open, "message_id": answer["id"]}), not_yours).await;
}

async fn admin_routes_refuse_clearly(gateway: Gateway) {
    let w = world(&gateway).await;
    let sarah = || Some(token_of_admin(SARAH));
    let store = || Some(token_of_store(TECH_STORE));
    let routes = [
        ("GET", "/v1/chat/admin/sessions/"),
        ("GET", "/v1/chat/admin/messages/"),
        ("POST", "/v1/chat/admin/messages/"),
        ("POST", "/v1/chat/admin/session/claim/"),
        ("POST", "/v1/chat/admin/session/close/"),
        ("POST", "/v1/chat/admin/session/transfer/"),
        ("POST", "/v1/chat/admin/session/read/"),
        ("POST", "/v1/chat/admin/session/tags/"),
    ];
    for (method, path) in routes {
        check(&gateway, method, path, None, json!({}), (401, admin_error("Unauthorized"))).await;
        check(&gateway, method, path, Some("bogus".into()), json!({}), (401, admin_error("Unauthorized"))).await;
        check(&gateway, method, path, store(), json!({}), (403, admin_error("Admin access required"))).await;
        if method == "POST" {
            let missing = (400, admin_error("Invalid request body: missing field `session_id`"));
            check(&gateway, method, path, sarah(), json!({}), missing).await;
        }
    }
    // The desk's routes refuse the same way, and name what is wrong with a body.
    for (method, path) in [("GET", "/v1/chat/admin/directory/"), ("POST", "/v1/chat/admin/presence/")] {
        check(&gateway, method, path, None, json!({}), (401, admin_error("Unauthorized"))).await;
        check(&gateway, method, path, store(), json!({}), (403, admin_error("Admin access required"))).await;
    }
    let presence = "/v1/chat/admin/presence/";
    for (body, message) in [
        (json!({}), "Invalid request body: missing field `availability`"),
        (json!({"availability": "asleep"}), "availability: unknown variant `asleep`, expected `available` or `away`"),
        (json!({"availability": "away", "until": 5}), "until: unknown field `until`, expected `availability`"),
    ] {
        check(&gateway, "POST", presence, sarah(), body, (400, admin_error(message))).await;
    }
    let bad_request = |m: &str| (400, admin_error(m));
    let not_found = (404, admin_error("Session not found"));
    let others = (403, admin_error("Session belongs to another admin"));
    let closed = (409, admin_error("Session is closed"));

    let list = "/v1/chat/admin/sessions/";
    for (query, message) in [
        ("?status=pending", "status must be one of open, claimed, closed"),
        ("?limit=0", "limit must be an integer from 1 to 100"),
        ("?limit=101", "limit must be an integer from 1 to 100"),
        ("?offset=-1", "offset must be a non-negative integer"),
        ("?tag=Not%20A%20Tag", "tag must be 1 to 32 of a-z, 0-9, _ and -"),
        ("?cursor=zzz", "cursor is not valid"),
        ("?holder=omar", "holder must be me or none"),
        ("?from=yesterday", "from must be a date (YYYY-MM-DD) or an RFC 3339 time"),
        ("?from=2026-12-03&to=2026-12-01", "from must be before to"),
    ] {
        check(&gateway, "GET", &format!("{list}{query}"), sarah(), Value::Null, bad_request(message)).await;
    }

    let messages = "/v1/chat/admin/messages/";
    check(&gateway, "GET", messages, sarah(), Value::Null, bad_request("session_id is required")).await;
    check(&gateway, "GET", &format!("{messages}?session_id=987654"), sarah(), Value::Null, not_found.clone()).await;
    check(&gateway, "GET", &format!("{messages}?session_id={}", w.omars), sarah(), Value::Null, others.clone()).await;
    check(
        &gateway,
        "GET",
        &format!("{messages}?session_id={}&limit=500", w.open),
        sarah(),
        Value::Null,
        bad_request("limit must be an integer from 1 to 200"),
    )
    .await;

    let send = |session: &Value| json!({"session_id": session, "content": "hi"});
    check(
        &gateway,
        "POST",
        messages,
        sarah(),
        json!({"session_id": w.open}),
        bad_request("content must not be empty unless attachment_url or upload_id is given"),
    )
    .await;
    check(&gateway, "POST", messages, sarah(), send(&json!(987654)), not_found.clone()).await;
    check(
        &gateway,
        "POST",
        messages,
        sarah(),
        send(&w.open),
        (403, admin_error("Claim the session before sending to it")),
    )
    .await;
    check(&gateway, "POST", messages, sarah(), send(&w.omars), others.clone()).await;
    check(&gateway, "POST", messages, sarah(), send(&w.closed), closed.clone()).await;

    let id = |session: &Value| json!({"session_id": session});
    let claim = "/v1/chat/admin/session/claim/";
    check(
        &gateway,
        "POST",
        claim,
        sarah(),
        json!({"session_id": "one"}),
        bad_request("session_id: invalid type: string \"one\", expected u64"),
    )
    .await;
    check(&gateway, "POST", claim, sarah(), id(&json!(987654)), not_found.clone()).await;
    check(&gateway, "POST", claim, sarah(), id(&w.omars), (409, admin_error("Session is claimed by another admin")))
        .await;
    check(&gateway, "POST", claim, sarah(), id(&w.closed), closed.clone()).await;

    let close = "/v1/chat/admin/session/close/";
    check(&gateway, "POST", close, sarah(), id(&json!(987654)), not_found.clone()).await;
    check(&gateway, "POST", close, sarah(), id(&w.omars), others.clone()).await;
    check(&gateway, "POST", close, sarah(), id(&w.closed), closed.clone()).await;

    let transfer = "/v1/chat/admin/session/transfer/";
    check(
        &gateway,
        "POST",
        transfer,
        sarah(),
        id(&w.omars),
        bad_request("Invalid request body: missing field `admin_id`"),
    )
    .await;
    check(&gateway, "POST", transfer, sarah(), json!({"session_id": 987654, "admin_id": OMAR}), not_found.clone())
        .await;
    check(
        &gateway,
        "POST",
        transfer,
        sarah(),
        json!({"session_id": w.open, "admin_id": 999}),
        (404, admin_error("Admin not found")),
    )
    .await;
    check(&gateway, "POST", transfer, sarah(), json!({"session_id": w.omars, "admin_id": SARAH}), others.clone()).await;
    check(&gateway, "POST", transfer, sarah(), json!({"session_id": w.closed, "admin_id": OMAR}), closed.clone()).await;

    let read = "/v1/chat/admin/session/read/";
    check(
        &gateway,
        "POST",
        read,
        sarah(),
        id(&w.open),
        bad_request("Invalid request body: missing field `up_to_message_id`"),
    )
    .await;
    check(&gateway, "POST", read, sarah(), json!({"session_id": 987654, "up_to_message_id": 1}), not_found.clone())
        .await;
    check(&gateway, "POST", read, sarah(), json!({"session_id": w.omars, "up_to_message_id": 1}), others.clone()).await;

    let tags = "/v1/chat/admin/session/tags/";
    check(
        &gateway,
        "POST",
        tags,
        sarah(),
        json!({"session_id": w.open, "tags": ["Billing"]}),
        bad_request("tags: each tag must be 1 to 32 of a-z, 0-9, _ and -"),
    )
    .await;
    let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    check(
        &gateway,
        "POST",
        tags,
        sarah(),
        json!({"session_id": w.open, "tags": eleven}),
        bad_request("tags: at most 10 tags"),
    )
    .await;
    check(&gateway, "POST", tags, sarah(), json!({"session_id": 987654, "tags": []}), not_found.clone()).await;
    check(&gateway, "POST", tags, sarah(), json!({"session_id": w.omars, "tags": []}), others.clone()).await;

    // Notes, edits, the trail and saved replies refuse the same way, and say what is wrong.
    for (method, path) in [
        ("GET", "/v1/chat/admin/notes/"),
        ("POST", "/v1/chat/admin/notes/"),
        ("POST", "/v1/chat/admin/messages/edit/"),
        ("POST", "/v1/chat/admin/messages/delete/"),
        ("GET", "/v1/chat/admin/messages/history/"),
        ("GET", "/v1/chat/admin/replies/"),
        ("GET", "/v1/chat/admin/store/"),
        ("GET", "/v1/chat/admin/reports/"),
        ("POST", "/v1/chat/admin/replies/"),
        ("POST", "/v1/chat/admin/replies/delete/"),
    ] {
        check(&gateway, method, path, None, json!({}), (401, admin_error("Unauthorized"))).await;
        check(&gateway, method, path, store(), json!({}), (403, admin_error("Admin access required"))).await;
    }
    let notes = "/v1/chat/admin/notes/";
    check(
        &gateway,
        "POST",
        notes,
        sarah(),
        json!({"session_id": w.open}),
        bad_request("Invalid request body: missing field `content`"),
    )
    .await;
    check(
        &gateway,
        "POST",
        notes,
        sarah(),
        json!({"session_id": w.open, "content": "  "}),
        bad_request("content must not be empty"),
    )
    .await;
    check(&gateway, "POST", notes, sarah(), json!({"session_id": 987654, "content": "x"}), not_found.clone()).await;
    check(&gateway, "POST", notes, sarah(), json!({"session_id": w.omars, "content": "x"}), others).await;
    check(&gateway, "GET", notes, sarah(), Value::Null, bad_request("session_id is required")).await;
    let limit = format!("{notes}?session_id={}&limit=201", w.open);
    check(&gateway, "GET", &limit, sarah(), Value::Null, bad_request("limit must be an integer from 1 to 200")).await;
    let history = "/v1/chat/admin/messages/history/";
    let no_message = format!("{history}?session_id={}", w.open);
    check(&gateway, "GET", &no_message, sarah(), Value::Null, bad_request("message_id is required")).await;
    let unknown = format!("{history}?session_id={}&message_id=987654", w.open);
    check(&gateway, "GET", &unknown, sarah(), Value::Null, (404, admin_error("Message not found"))).await;
    let edit = "/v1/chat/admin/messages/edit/";
    check(
        &gateway,
        "POST",
        edit,
        sarah(),
        json!({"message_id": 1, "content": "x"}),
        bad_request("Invalid request body: missing field `session_id`"),
    )
    .await;
    let replies = "/v1/chat/admin/replies/";
    for (body, message) in [
        (json!({"shortcut": "Hi There", "content": "x"}), "shortcut must be 1 to 32 of a-z, 0-9, _ and -"),
        (json!({"shortcut": "hi", "content": ""}), "content must be 1 to 4000 characters"),
        (
            json!({"shortcut": "hi", "content": "x", "scope": "everyone"}),
            "scope: unknown variant `everyone`, expected `personal` or `team`",
        ),
    ] {
        check(&gateway, "POST", replies, sarah(), body, bad_request(message)).await;
    }
    let context = "/v1/chat/admin/store/";
    check(&gateway, "GET", context, sarah(), Value::Null, bad_request("store_id is required")).await;
    let unknown = format!("{context}?store_id=987654");
    check(&gateway, "GET", &unknown, sarah(), Value::Null, (404, admin_error("Store not found"))).await;
    // A report's range and granularity, each said plainly.
    for (query, message) in [
        ("from=2026-12-05&to=2026-12-04", "from must not be after to"),
        ("from=2025-01-01&to=2026-12-04", "a report covers at most 366 days"),
        ("from=2026-12-4", "from must be a date as 2026-12-31"),
        ("to=tomorrow", "to must be a date as 2026-12-31"),
        ("granularity=month", "granularity must be day or week"),
        ("admin_id=0", "admin_id must be an integer of at least 1"),
    ] {
        let path = format!("/v1/chat/admin/reports/?{query}");
        check(&gateway, "GET", &path, sarah(), Value::Null, bad_request(message)).await;
    }
    let absent = (404, admin_error("Saved reply not found"));
    check(&gateway, "POST", "/v1/chat/admin/replies/delete/", sarah(), json!({"shortcut": "none"}), absent).await;
}

/// A family's error body for a message.
type ErrorBody = fn(&str) -> Value;

/// Every route that reads a body takes one JSON object and nothing else, whatever the
/// fields inside would have been.
async fn every_body_is_one_json_object(gateway: Gateway) {
    let w = world(&gateway).await;
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    let super_office = |m: &str| json!({"Error": m, "ErrorType": "BadRequest"});
    let upload = json!({"file_name": "a.png", "content_type": "image/png", "size": 10});
    let mut admin_upload = upload.clone();
    admin_upload["session_id"] = w.open.clone();
    let revision = json!({"session_id": w.open, "message_id": 1, "content": "x"});
    let reply = json!({"shortcut": "hi", "content": "Hello"});
    let routes: [(&str, &str, ErrorBody, String); 22] = [
        ("/v1/chat/store/messages/edit/", &store, store_error, revision.to_string()),
        ("/v1/chat/store/messages/delete/", &store, store_error, revision.to_string()),
        ("/v1/chat/admin/notes/", &sarah, admin_error, json!({"session_id": w.open, "content": "x"}).to_string()),
        ("/v1/chat/admin/messages/edit/", &sarah, admin_error, revision.to_string()),
        ("/v1/chat/admin/messages/delete/", &sarah, admin_error, revision.to_string()),
        ("/v1/chat/admin/replies/", &sarah, admin_error, reply.to_string()),
        ("/v1/chat/admin/replies/delete/", &sarah, admin_error, reply.to_string()),
        ("/v1/chat/store/messages/", &store, store_error, json!({"content": "x"}).to_string()),
        ("/v1/chat/store/session/transcript/", &store, store_error, "{}".to_owned()),
        ("/v1/chat/store/session/close/", &store, store_error, "{}".to_owned()),
        ("/v1/chat/store/uploads/", &store, store_error, upload.to_string()),
        ("/v1/chat/admin/uploads/", &sarah, admin_error, admin_upload.to_string()),
        ("/v1/chat/store/session/read/", &store, store_error, json!({"up_to_message_id": 1}).to_string()),
        (
            "/v1/chat/store/session/rating/",
            &store,
            store_error,
            json!({"session_id": w.closed, "rating": 5}).to_string(),
        ),
        ("/v1/chat/admin/messages/", &sarah, admin_error, json!({"session_id": w.open, "content": "x"}).to_string()),
        ("/v1/chat/admin/session/claim/", &sarah, admin_error, json!({"session_id": w.open}).to_string()),
        ("/v1/chat/admin/session/close/", &sarah, admin_error, json!({"session_id": w.open}).to_string()),
        (
            "/v1/chat/admin/session/transfer/",
            &sarah,
            admin_error,
            json!({"session_id": w.open, "admin_id": null}).to_string(),
        ),
        (
            "/v1/chat/admin/session/read/",
            &sarah,
            admin_error,
            json!({"session_id": w.open, "up_to_message_id": 1}).to_string(),
        ),
        ("/v1/chat/admin/session/tags/", &sarah, admin_error, json!({"session_id": w.open, "tags": []}).to_string()),
        ("/v1/chat/admin/presence/", &sarah, admin_error, json!({"availability": "away"}).to_string()),
        ("/api/v1/Agents/Chat/GetChatMessages", &sarah, super_office, json!({"ChatSessionId": w.open}).to_string()),
    ];
    let mut checked: Vec<&str> = routes.iter().map(|(path, ..)| *path).collect();
    // The platform's, signed as they must be: the function itself refuses the body.
    let platform = [
        ("/v1/platform/stores/", json!({"stores": [{"id": 1, "name": "x"}]})),
        ("/v1/platform/admins/", json!({"admins": [{"id": 1, "name": "x"}]})),
        ("/v1/platform/deactivate/", json!({"stores": [1]})),
        ("/v1/platform/stores/erase/", json!({"store_id": 1})),
        ("/v1/platform/stores/export/", json!({"store_id": 1})),
        ("/v1/platform/tokens/", json!({"store_id": 1})),
        ("/v1/platform/tokens/revoke/", json!({"token_id": "0"})),
        ("/v1/platform/webhooks/", json!({"url": "https://example.com/hook", "event_types": ["message.created"]})),
        ("/v1/platform/webhooks/delete/", json!({"webhook_id": "wh_0"})),
        ("/v1/platform/webhooks/replay/", json!({"webhook_id": "wh_0"})),
        ("/v1/platform/hours/", json!({"hours": null})),
    ];
    for (path, valid) in platform {
        let method = if path == "/v1/platform/hours/" { "PUT" } else { "POST" };
        for (body, says) in [
            (format!("{valid} 1"), "Request body must be one JSON object with nothing after it"),
            ("[661]".to_owned(), "Request body must be a JSON object"),
            ("{]".to_owned(), "Request body is not valid JSON"),
        ] {
            let answer = Signed { method, ..Signed::post(path, Value::Null) }.send_raw(&gateway, &body).await;
            assert_eq!(answer, (400, json!({"error": says})), "{path} {body}");
        }
        checked.push(path);
    }
    for (path, token, error, valid) in routes {
        let url = gateway.url(path);
        for body in [format!("{valid} GARBAGE"), format!("{valid}{valid}"), format!("{valid} 1")] {
            let expected = (400, error("Request body must be one JSON object with nothing after it"));
            assert_eq!(post_raw(&url, Some(token), &body).await, expected, "{path} {body}");
        }
        for body in [r#"["hello"]"#, "[661]", r#""x""#, "42", "null"] {
            let expected = (400, error("Request body must be a JSON object"));
            assert_eq!(post_raw(&url, Some(token), body).await, expected, "{path} {body}");
        }
        for body in ["{", "{]", "{,}"] {
            let expected = (400, error("Request body is not valid JSON"));
            assert_eq!(post_raw(&url, Some(token), body).await, expected, "{path} {body}");
        }
    }
    // Every route of the template that takes a body is among them, and the seed route that
    // answers in its own shape refuses a broken body in it. A mail client's one-click
    // unsubscribe posts a form, which its route does not read: its link is all it takes.
    let posts = sam_template::Template::embedded().http_routes().unwrap();
    let with_body = |method: &str| method == "POST" || method == "PUT";
    let own_shape = ["/conversation/sessions", "/v1/email/unsubscribe/"];
    for route in posts.iter().filter(|route| with_body(&route.method) && !own_shape.contains(&route.path.as_str())) {
        assert!(checked.contains(&route.path.as_str()), "{} is not checked", route.path);
    }
    let (status, answer) = post_raw(&gateway.url("/conversation/sessions"), Some(&sarah), "{").await;
    assert_eq!((status, &answer["detail"][0]["loc"]), (422, &json!(["body", "body"])), "{answer}");
}

on_every_stack!(store_routes_refuse_clearly, admin_routes_refuse_clearly, every_body_is_one_json_object);
