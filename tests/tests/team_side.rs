//! The team's side of a conversation, on every stack: private notes that no store route,
//! store-bound event or SuperOffice answer to a store's token ever carries; a sender's
//! edits and deletes, live on both sides, with the trail for admins only; saved replies.

use std::collections::BTreeSet;

use e2e::cast::{OMAR, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::files::{PNG, kept_files, upload_png};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::on_every_stack;
use e2e::ws::Client;
use serde_json::{Value, json};

/// What every note says, so that it is found wherever it went.
const MARK: &str = "TEAM-ONLY";

fn store() -> String {
    token_of_store(TECH_STORE)
}

async fn post(gateway: &Gateway, path: &str, token: &str, body: Value) -> (u16, Value) {
    post_json(&gateway.url(path), Some(token), &body).await
}

async fn note(gateway: &Gateway, session: &Value, what: &str) -> Value {
    let body = json!({"session_id": session, "content": format!("{MARK}: {what}")});
    let (status, note) = post(gateway, "/v1/chat/admin/notes/", &token_of_admin(SARAH), body).await;
    assert_eq!(status, 201, "{note}");
    note
}

/// Walks every store route of the template (and the SuperOffice one with the store's
/// token) after notes were written at each step of a conversation, with the store's socket
/// open, sending each of its frames and hearing every kind of event a store may hear: no
/// answer and no event holds a note. Sarah's inbox
/// hears each note, so they were there to leak.
async fn notes_never_reach_the_store(gateway: Gateway) {
    let (store, sarah) = (store(), token_of_admin(SARAH));
    let mut store_ws = Client::connect(&gateway, Some(&store)).await.unwrap();
    let mut sarah_ws = Client::connect(&gateway, Some(&sarah)).await.unwrap();
    let mut answers: Vec<Value> = Vec::new();
    let mut walked: BTreeSet<(String, String)> = BTreeSet::new();
    let mut super_office: Vec<Value> = Vec::new();
    let mut call = async |method: &str, path: &str, body: Option<Value>| {
        let route = path.split('?').next().unwrap().to_owned();
        walked.insert((method.to_owned(), route));
        let (status, answer) = match body {
            None => get_json(&gateway.url(path), Some(&store)).await,
            Some(body) => post(&gateway, path, &store, body).await,
        };
        assert!(status < 500, "{method} {path}: {status} {answer}");
        answers.push(answer.clone());
        answer
    };

    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let id = session["id"].clone();
    note(&gateway, &id, "open and empty").await;
    let first = call("POST", "/v1/chat/store/messages/", Some(json!({"content": "hello"}))).await;
    note(&gateway, &id, "waiting").await;
    post(&gateway, "/v1/chat/admin/session/claim/", &sarah, json!({"session_id": id})).await;
    note(&gateway, &id, "claimed").await;
    let body = json!({"session_id": id, "content": "How can I help?"});
    let (_, answer) = post(&gateway, "/v1/chat/admin/messages/", &sarah, body).await;
    call("GET", "/v1/chat/store/session/", None).await;
    call("GET", "/v1/chat/store/session/current/", None).await;
    call("GET", "/v1/chat/store/availability/", None).await;
    call("GET", "/v1/chat/store/messages/?after=0", None).await;
    call("POST", "/v1/chat/store/session/read/", Some(json!({"up_to_message_id": answer["id"]}))).await;
    let upload = json!({"file_name": "a.png", "content_type": "image/png", "size": PNG.len()});
    call("POST", "/v1/chat/store/uploads/", Some(upload)).await;
    let edit = json!({"session_id": id, "message_id": first["id"], "content": "hello!"});
    call("POST", "/v1/chat/store/messages/edit/", Some(edit)).await;
    let second = call("POST", "/v1/chat/store/messages/", Some(json!({"content": "oops"}))).await;
    call("POST", "/v1/chat/store/messages/delete/", Some(json!({"session_id": id, "message_id": second["id"]}))).await;
    for frame in [
        json!({"action": "send_message", "content": "by socket"}),
        json!({"action": "typing", "state": "on"}),
        json!({"action": "mark_read", "up_to_message_id": answer["id"]}),
        json!({"action": "mark_delivered", "up_to_message_id": answer["id"]}),
        json!({"action": "ping"}),
        json!({"action": "no_such_action"}),
    ] {
        store_ws.send(frame).await;
    }
    // Sarah types and reads, so that the store's socket is told of both.
    for frame in [
        json!({"action": "typing", "session_id": id, "state": "on"}),
        json!({"action": "mark_delivered", "session_id": id, "up_to_message_id": first["id"]}),
        json!({"action": "mark_read", "session_id": id, "up_to_message_id": first["id"]}),
    ] {
        sarah_ws.send(frame).await;
    }
    for token in [format!("Token {store}"), format!("Bearer {store}")] {
        let rows = reqwest::Client::new()
            .post(gateway.url("/api/v1/Agents/Chat/GetChatMessages"))
            .header("Authorization", token)
            .json(&json!({"ChatSessionId": id, "After": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(rows.status(), 200);
        super_office.push(rows.json().await.unwrap());
    }
    note(&gateway, &id, "before closing").await;
    call("POST", "/v1/chat/store/session/close/", Some(json!({}))).await;
    note(&gateway, &id, "closed").await;
    call("POST", "/v1/chat/store/session/rating/", Some(json!({"session_id": id, "rating": 5}))).await;
    // No mail is configured here: refused, in the store's shape, with no note in it.
    call("POST", "/v1/chat/store/session/transcript/", Some(json!({}))).await;
    call("GET", &format!("/v1/chat/store/messages/?session_id={id}&after=0"), None).await;
    call("GET", "/v1/chat/store/session/current/", None).await;

    let store_routes: BTreeSet<(String, String)> = sam_template::Template::embedded()
        .http_routes()
        .unwrap()
        .into_iter()
        .filter(|route| route.path.starts_with("/v1/chat/store/"))
        .map(|route| (route.method, route.path))
        .collect();
    assert_eq!(walked, store_routes, "every store route was walked");
    answers.extend(super_office);
    // The first drain ends at the pong of the store's own ping, the second at its own.
    let mut told_the_store = store_ws.drain().await;
    told_the_store.extend(store_ws.drain().await);
    let kinds: BTreeSet<&str> = told_the_store.iter().filter_map(|event| event["type"].as_str()).collect();
    let store_bound = [
        "error",
        "message.created",
        "message.status",
        "message.updated",
        "queue.position",
        "session.assigned",
        "session.updated",
        "typing",
    ];
    assert_eq!(kinds, BTreeSet::from(store_bound), "the store heard every kind of event it may hear but pong");
    answers.extend(told_the_store);
    let told_the_team = sarah_ws.drain().await;
    let notes_heard = told_the_team.iter().filter(|event| event["type"] == "note.created").count();
    assert_eq!(notes_heard, 5, "Sarah hears each note as it is written");
    let (_, notes) = get_json(&gateway.url(&format!("/v1/chat/admin/notes/?session_id={id}")), Some(&sarah)).await;
    assert_eq!(notes["notes"].as_array().unwrap().len(), 5, "{notes}");
    for answer in &answers {
        let text = answer.to_string();
        assert!(!text.contains(MARK) && !text.contains("note"), "a store saw a note: {text}");
    }
    // The store's token reads no notes.
    let (status, _) = get_json(&gateway.url(&format!("/v1/chat/admin/notes/?session_id={id}")), Some(&store)).await;
    assert_eq!(status, 403);
}

/// A sender edits and deletes its own messages: both sides hear `message.updated` at once,
/// a deleted message's file leaves the bucket, and only admins read what was said before.
async fn edits_and_deletes_show_live_on_both_sides(gateway: Gateway) {
    let (store, sarah) = (store(), token_of_admin(SARAH));
    let mut store_ws = Client::connect(&gateway, Some(&store)).await.unwrap();
    let mut sarah_ws = Client::connect(&gateway, Some(&sarah)).await.unwrap();
    let (_, typo) = post(&gateway, "/v1/chat/store/messages/", &store, json!({"content": "my ordr is late"})).await;
    let id = typo["session_id"].clone();
    post(&gateway, "/v1/chat/admin/session/claim/", &sarah, json!({"session_id": id})).await;
    let upload = upload_png(&gateway, &sarah, Some(&id), PNG).await;
    let body = json!({"session_id": id, "upload_id": upload, "content": "the wrong invoice"});
    let (_, wrong) = post(&gateway, "/v1/chat/admin/messages/", &sarah, body).await;
    assert_eq!(kept_files(&gateway).await.len(), 1);
    store_ws.drain().await;
    sarah_ws.drain().await;

    let edit = json!({"session_id": id, "message_id": typo["id"], "content": "my order is late"});
    let (status, edited) = post(&gateway, "/v1/chat/store/messages/edit/", &store, edit).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!((&edited["content"], edited["edited_at"].is_string()), (&json!("my order is late"), true));
    let delete = json!({"session_id": id, "message_id": wrong["id"]});
    let (status, deleted) = post(&gateway, "/v1/chat/admin/messages/delete/", &sarah, delete).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!((&deleted["content"], &deleted["attachment_url"]), (&json!(""), &json!("")));
    assert!(deleted["deleted_at"].is_string(), "{deleted}");
    assert_eq!(kept_files(&gateway).await, Vec::<String>::new(), "the file left the bucket");
    for client in [&mut store_ws, &mut sarah_ws] {
        let updates: Vec<Value> = client.drain().await.into_iter().filter(|e| e["type"] == "message.updated").collect();
        assert_eq!(updates.len(), 2, "{updates:?}");
        assert_eq!(updates[0]["message"]["content"], "my order is late");
        assert_eq!(updates[1]["message"]["id"], wrong["id"]);
        assert!(updates[1]["message"]["deleted_at"].is_string());
    }
    // Views show the message as it now is; one never edited keeps the seed's shape.
    let (_, page) = get_json(&gateway.url("/v1/chat/store/messages/?after=0"), Some(&store)).await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages[0]["content"], "my order is late");
    assert!(messages[1]["deleted_at"].is_string() && messages[1]["content"] == "");
    // The store withdraws a file of its own: it leaves the bucket too.
    let upload = upload_png(&gateway, &store, None, PNG).await;
    let (_, photo) = post(&gateway, "/v1/chat/store/messages/", &store, json!({"upload_id": upload})).await;
    assert_eq!(kept_files(&gateway).await.len(), 1, "{photo}");
    let delete = json!({"session_id": id, "message_id": photo["id"]});
    let (status, withdrawn) = post(&gateway, "/v1/chat/store/messages/delete/", &store, delete).await;
    assert_eq!((status, withdrawn["deleted_at"].is_string()), (200, true), "{withdrawn}");
    assert_eq!(kept_files(&gateway).await, Vec::<String>::new(), "the store's file left the bucket");
    let (_, unedited) = post(&gateway, "/v1/chat/store/messages/", &store, json!({"content": "thanks"})).await;
    let fields: BTreeSet<&str> = unedited.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(!fields.contains("edited_at") && !fields.contains("deleted_at"), "{unedited}");

    // Nobody revises another's message, or a deleted one.
    let (status, refused) = post(
        &gateway,
        "/v1/chat/store/messages/edit/",
        &store,
        json!({"session_id": id, "message_id": wrong["id"], "content": "x"}),
    )
    .await;
    assert_eq!((status, refused["success"].clone()), (403, json!(false)), "{refused}");
    let again = json!({"session_id": id, "message_id": wrong["id"], "content": "x"});
    let (status, refused) = post(&gateway, "/v1/chat/admin/messages/edit/", &sarah, again).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("deleted"), "{refused}");

    // The trail, for admins only.
    let history = |message: &Value| format!("/v1/chat/admin/messages/history/?session_id={id}&message_id={message}");
    let (status, trail) = get_json(&gateway.url(&history(&typo["id"])), Some(&sarah)).await;
    assert_eq!(status, 200, "{trail}");
    let revisions = trail["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(
        (&revisions[0]["action"], &revisions[0]["previous_content"], &revisions[0]["by_type"]),
        (&json!("edited"), &json!("my ordr is late"), &json!("store"))
    );
    // Who and when: the store, as its edit was dated.
    assert_eq!((&revisions[0]["by_id"], &revisions[0]["at"]), (&json!(TECH_STORE.0), &edited["edited_at"]));
    let (_, trail) = get_json(&gateway.url(&history(&wrong["id"])), Some(&sarah)).await;
    let deletion = &trail["revisions"][0];
    assert_eq!((&deletion["action"], &deletion["previous_content"]), (&json!("deleted"), &json!("the wrong invoice")));
    assert_eq!((&deletion["by_type"], &deletion["by_id"]), (&json!("admin"), &json!(SARAH.0)));
    assert_eq!(deletion["at"], deleted["deleted_at"]);
    assert_eq!(get_json(&gateway.url(&history(&typo["id"])), Some(&store)).await.0, 403);
    // Omar may not view Sarah's session, nor its trail.
    assert_eq!(get_json(&gateway.url(&history(&typo["id"])), Some(&token_of_admin(OMAR))).await.0, 403);
}

/// Saved replies: the team's are everyone's, an admin's own are its alone.
async fn saved_replies_are_the_teams_and_each_admins_own(gateway: Gateway) {
    let (sarah, omar) = (token_of_admin(SARAH), token_of_admin(OMAR));
    let save = async |token: &str, body: Value| post(&gateway, "/v1/chat/admin/replies/", token, body).await;
    let team = json!({"shortcut": "hello", "content": "Hi {store_name}, {admin_name} here.", "scope": "team"});
    assert_eq!(save(&sarah, team).await.0, 201);
    assert_eq!(
        save(&omar, json!({"shortcut": "hello", "content": "Hello {store_name}!", "scope": "team"})).await.0,
        200
    );
    assert_eq!(save(&sarah, json!({"shortcut": "refund", "content": "Refunds take 5 days."})).await.0, 201);
    let (status, refused) = save(&sarah, json!({"shortcut": "Bad One", "content": "x"})).await;
    assert_eq!((status, refused["error"].as_str().unwrap().contains("shortcut")), (400, true), "{refused}");
    let (status, refused) = save(&sarah, json!({"shortcut": "x", "content": "Dear {customer}"})).await;
    assert_eq!(status, 400, "{refused}");

    let shortcuts = async |token: &str| {
        let (status, listed) = get_json(&gateway.url("/v1/chat/admin/replies/"), Some(token)).await;
        assert_eq!(status, 200, "{listed}");
        let replies = listed["replies"].as_array().unwrap().clone();
        replies
            .iter()
            .map(|r| format!("{}:{}", r["scope"].as_str().unwrap(), r["shortcut"].as_str().unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(shortcuts(&sarah).await, ["team:hello", "personal:refund"]);
    assert_eq!(shortcuts(&omar).await, ["team:hello"]);
    let delete = json!({"shortcut": "refund"});
    assert_eq!(post(&gateway, "/v1/chat/admin/replies/delete/", &omar, delete.clone()).await.0, 404);
    assert_eq!(post(&gateway, "/v1/chat/admin/replies/delete/", &sarah, delete).await.0, 200);
    assert_eq!(get_json(&gateway.url("/v1/chat/admin/replies/"), Some(&store())).await.0, 403);
}

/// Before answering, an admin sees who the store is: its earlier sessions, their rating and
/// tags, and which it may open; and finds a conversation by the store's name or email,
/// whose it is and when it was last active.
async fn the_store_context_and_finding_a_conversation(gateway: Gateway) {
    let (store, sarah, omar) = (store(), token_of_admin(SARAH), token_of_admin(OMAR));
    let (_, first) = post(&gateway, "/v1/chat/store/messages/", &store, json!({"content": "first"})).await;
    let id = first["session_id"].clone();
    post(&gateway, "/v1/chat/admin/session/claim/", &sarah, json!({"session_id": id})).await;
    post(&gateway, "/v1/chat/admin/session/tags/", &sarah, json!({"session_id": id, "tags": ["billing"]})).await;
    post(&gateway, "/v1/chat/admin/session/close/", &sarah, json!({"session_id": id})).await;
    post(&gateway, "/v1/chat/store/session/rating/", &store, json!({"session_id": id, "rating": 4})).await;
    let (_, second) = post(&gateway, "/v1/chat/store/messages/", &store, json!({"content": "again"})).await;

    let context = |token: String| {
        let url = gateway.url(&format!("/v1/chat/admin/store/?store_id={TECH_STORE}"));
        async move { get_json(&url, Some(&token)).await }
    };
    let (status, told) = context(sarah.clone()).await;
    assert_eq!(status, 200, "{told}");
    assert_eq!(
        (&told["store"]["name"], &told["session_count"], &told["last_rating"]),
        (&json!("Tech Store"), &json!(2), &json!(4))
    );
    let sessions = told["sessions"].as_array().unwrap();
    assert_eq!((&sessions[0]["id"], &sessions[1]["id"]), (&second["session_id"], &id), "newest first");
    assert_eq!(
        (&sessions[1]["tags"], &sessions[1]["rating"], &sessions[1]["viewable"]),
        (&json!(["billing"]), &json!(4), &json!(true))
    );
    let (_, told) = context(omar).await;
    assert_eq!(
        (&told["sessions"][0]["viewable"], &told["sessions"][1]["viewable"]),
        (&json!(true), &json!(false)),
        "{told}"
    );

    let list = async |query: &str| {
        let (status, page) = get_json(&gateway.url(&format!("/v1/chat/admin/sessions/?{query}")), Some(&sarah)).await;
        assert_eq!(status, 200, "{query}: {page}");
        let ids: Vec<Value> = page["sessions"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
        (ids, page["total_count"].clone())
    };
    assert_eq!(list("q=TECH%20store").await, (vec![second["session_id"].clone(), id.clone()], json!(2)));
    assert_eq!(list("q=store%40example.com&holder=none").await, (vec![second["session_id"].clone()], json!(1)));
    assert_eq!(list("q=garden").await, (vec![], json!(0)));
    assert_eq!(list("holder=me&tag=billing").await, (vec![id.clone()], json!(1)));
    let today = &shared::Timestamp::now().to_string()[..10];
    assert_eq!(list(&format!("from={today}&to={today}&limit=1")).await.1, json!(2));
    assert_eq!(list("to=2020-01-01").await, (vec![], json!(0)));

    // A search pages as the list does: one at a time, by the cursor, to the end.
    let mut cursor = None::<String>;
    let mut found = Vec::new();
    loop {
        let query = match &cursor {
            Some(cursor) => format!("q=tech&from={today}&limit=1&cursor={cursor}"),
            None => format!("q=tech&from={today}&limit=1"),
        };
        let (status, page) = get_json(&gateway.url(&format!("/v1/chat/admin/sessions/?{query}")), Some(&sarah)).await;
        assert_eq!((status, &page["total_count"]), (200, &json!(2)), "{page}");
        found.extend(page["sessions"].as_array().unwrap().iter().map(|s| s["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(found, [second["session_id"].clone(), id.clone()], "each once, newest first");
}

on_every_stack!(
    notes_never_reach_the_store,
    edits_and_deletes_show_live_on_both_sides,
    saved_replies_are_the_teams_and_each_admins_own,
    the_store_context_and_finding_a_conversation,
);

/// The edit window is the deployment's (`EditWindowSeconds`, here through the template's
/// environment to each function in its own process): at 0, no message is ever revised, the
/// sender is told why in its family's shape, and the widget's and the inbox's routes say so.
#[tokio::test(flavor = "multi_thread")]
async fn the_edit_window_is_the_deployments() {
    let table = e2e::stack::fresh_table().await;
    let gateway = Gateway::start_as_lambda(&table, &["--edit-window-seconds", "0"]);
    let (status, sent) = post(&gateway, "/v1/chat/store/messages/", &store(), json!({"content": "my ordr"})).await;
    assert_eq!(status, 201, "{sent}");
    let edit = json!({"session_id": sent["session_id"], "message_id": sent["id"], "content": "my order"});
    let (status, refused) = post(&gateway, "/v1/chat/store/messages/edit/", &store(), edit).await;
    assert_eq!((status, &refused["success"]), (409, &json!(false)), "{refused}");
    assert_eq!(refused["message"], "The message can no longer be edited or deleted");
    // The clients are told, so that they offer nothing the server refuses.
    let (_, told) = get_json(&gateway.url("/v1/chat/store/availability/"), Some(&store())).await;
    assert_eq!(told["edit_window_seconds"], 0, "{told}");
    let (_, directory) = get_json(&gateway.url("/v1/chat/admin/directory/"), Some(&token_of_admin(SARAH))).await;
    assert_eq!(directory["edit_window_seconds"], 0, "{directory}");
}
