//! A store erased when it asks, through the platform route on the embedded store and on
//! DynamoDB Local: its open connection closed, cut short after one session and run again, it
//! finishes; then nothing of the store is left (on DynamoDB, in a full scan of the table; on
//! both, in the bucket and through every route), the audit log holds its id and counts alone,
//! and the other store's conversations and the lists' counts are as they were. In process,
//! the embedded store's whole state after an erase is checked as DynamoDB's full scan is.

use std::sync::Arc;

use e2e::cast::{OTHER_STORE, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::files::{BUCKET, PNG, s3, upload_png};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::platform::Signed;
use serde_json::{Value, json};
use shared::auth::TokenHash;
use shared::chat::{self, RevisionRequest, Target};
use shared::config::Config;
use shared::domain::input::MessageInput;
use shared::domain::{Connection, LifecycleAction, Principal, SessionId, StoreId};
use shared::storage::{ChatStore, DynamoStore, MemoryStore};
use shared::{App, Timestamp};

/// What only the erased store's conversations hold.
const SECRET: &str = "my card ends in 4242";

async fn post(gateway: &Gateway, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = post_json(&gateway.url(path), Some(token), &body).await;
    assert!(status < 300, "{path}: {status} {answer}");
    answer
}

/// A conversation of `store`: a message, a file, Sarah's claim, answer, note and tags, a
/// close and a rating. Its session id.
async fn conversation(gateway: &Gateway, store: &str, text: &str) -> Value {
    let sarah = token_of_admin(SARAH);
    let first = post(gateway, "/v1/chat/store/messages/", store, json!({ "content": text })).await;
    let session = first["session_id"].clone();
    let upload = upload_png(gateway, store, None, PNG).await;
    post(gateway, "/v1/chat/store/messages/", store, json!({ "content": "a photo", "upload_id": upload })).await;
    post(gateway, "/v1/chat/admin/session/claim/", &sarah, json!({ "session_id": session })).await;
    post(gateway, "/v1/chat/admin/messages/", &sarah, json!({ "session_id": session, "content": "On it" })).await;
    post(gateway, "/v1/chat/admin/notes/", &sarah, json!({ "session_id": session, "content": "VIP" })).await;
    post(gateway, "/v1/chat/admin/session/tags/", &sarah, json!({ "session_id": session, "tags": ["billing"] })).await;
    post(gateway, "/v1/chat/admin/session/close/", &sarah, json!({ "session_id": session })).await;
    post(gateway, "/v1/chat/store/session/rating/", store, json!({ "session_id": session, "rating": 4 })).await;
    session
}

/// The lists Sarah sees and their counts.
async fn lists(gateway: &Gateway) -> Vec<Value> {
    let sarah = token_of_admin(SARAH);
    let mut lists = Vec::new();
    for query in ["", "?status=closed", "?status=closed&tag=billing", "?status=open"] {
        let (status, list) = get_json(&gateway.url(&format!("/v1/chat/admin/sessions/{query}")), Some(&sarah)).await;
        assert_eq!(status, 200, "{list}");
        let ids: Vec<Value> = list["sessions"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
        lists.push(json!({ "ids": ids, "total_count": list["total_count"] }));
    }
    lists
}

async fn erase(gateway: &Gateway, body: Value) -> (u16, Value) {
    Signed::post("/v1/platform/stores/erase/", body).send(gateway).await
}

async fn bucket_keys(gateway: &Gateway) -> Vec<String> {
    let listed = s3(gateway).list_objects_v2().bucket(BUCKET).send().await.unwrap();
    listed.contents().iter().filter_map(|object| object.key().map(str::to_owned)).collect()
}

/// Erases the tech store on `gateway`; `table`, when on DynamoDB Local, is scanned after.
async fn a_store_erased_leaves_nothing_of_it(gateway: Gateway, table: Option<String>) {
    let (tech, other) = (token_of_store(TECH_STORE), token_of_store(OTHER_STORE));
    let kept = conversation(&gateway, &other, "Where is my parcel?").await;
    let before = lists(&gateway).await;
    let mut erased = Vec::new();
    for _ in 0..2 {
        erased.push(conversation(&gateway, &tech, SECRET).await);
    }
    // The third still open, with its file waiting to be attached.
    erased.push(
        post(&gateway, "/v1/chat/store/messages/", &tech, json!({ "content": SECRET })).await["session_id"].clone(),
    );
    upload_png(&gateway, &tech, None, PNG).await;
    let tech_files =
        |keys: &[String]| keys.iter().filter(|key| erased.iter().any(|id| key.contains(&format!("/{id}/")))).count();
    // Each attached file is kept twice until the bucket's rule drops the upload a day on.
    assert_eq!(tech_files(&bucket_keys(&gateway).await), 5);

    // First the store's data handed over: one archive behind a short-lived link.
    let (status, export) =
        Signed::post("/v1/platform/stores/export/", json!({ "store_id": TECH_STORE })).send(&gateway).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(
        (&export["sessions"], &export["messages"], &export["files"]),
        (&json!(3), &json!(7), &json!(2)),
        "{export}"
    );
    let archive = reqwest::get(export["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(archive.status(), 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(archive.bytes().await.unwrap().to_vec())).unwrap();
    let mut read = |path: &str| {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name(path).unwrap(), &mut bytes).unwrap();
        bytes
    };
    let profile: Value = serde_json::from_slice(&read("store.json")).unwrap();
    assert_eq!((&profile["name"], &profile["email"]), (&json!("Tech Store"), &json!("store@example.com")));
    let closed: Value = serde_json::from_slice(&read(&format!("sessions/{}.json", erased[0]))).unwrap();
    assert_eq!(
        (&closed["status"], &closed["rating"], &closed["tags"]),
        (&json!("closed"), &json!(4), &json!(["billing"]))
    );
    let contents: Vec<&str> =
        closed["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, [SECRET, "a photo", "On it"], "notes stay the team's");
    assert_eq!(read(closed["messages"][1]["file"].as_str().unwrap()), PNG);

    // The store's widget is open as it goes.
    let socket = e2e::ws::Client::connect(&gateway, Some(&tech)).await.unwrap();
    // Cut short after one session, then finished; a repeat does nothing more.
    let (status, first) = erase(&gateway, json!({ "store_id": TECH_STORE, "limit": 1 })).await;
    assert_eq!(socket.closed_by_server().await, 1000, "its connection closed");
    assert_eq!((status, &first["sessions"], &first["finished_at"]), (202, &json!(1), &Value::Null), "{first}");
    let (status, done) = erase(&gateway, json!({ "store_id": TECH_STORE })).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!((&done["sessions"], &done["messages"], &done["files"]), (&json!(3), &json!(7), &json!(6)), "{done}");
    assert_eq!(done["started_at"], first["started_at"]);
    assert_eq!(erase(&gateway, json!({ "store_id": TECH_STORE })).await, (200, done.clone()));
    assert_eq!(erase(&gateway, json!({ "store_id": 424242 })).await.0, 404);

    // Nothing of it through the routes or in the bucket (its export gone too); the other
    // store's as it was.
    let keys = bucket_keys(&gateway).await;
    assert_eq!(tech_files(&keys), 0);
    assert!(!keys.iter().any(|key| key.contains(&format!("store-{TECH_STORE}/"))), "{keys:?}");
    // Its tokens are gone (an instance that checked one in the last minute may still take
    // it, and finds nothing of the store's).
    let (status, tokens) = Signed::get(&format!("/v1/platform/tokens/?store_id={TECH_STORE}")).send(&gateway).await;
    assert_eq!((status, &tokens["tokens"]), (200, &json!([])), "{tokens}");
    let (status, current) = get_json(&gateway.url("/v1/chat/store/session/current/"), Some(&tech)).await;
    assert!(status == 401 || current == json!({ "session": null }), "{status} {current}");
    let sarah = token_of_admin(SARAH);
    for id in &erased {
        let url = gateway.url(&format!("/v1/chat/admin/session/?session_id={id}"));
        assert_eq!(get_json(&url, Some(&sarah)).await.0, 404, "session {id}");
    }
    let (status, context) =
        get_json(&gateway.url(&format!("/v1/chat/admin/store/?store_id={TECH_STORE}")), Some(&sarah)).await;
    assert_eq!(status, 404, "{context}");
    assert_eq!(lists(&gateway).await, before);
    let url = gateway.url(&format!("/v1/chat/admin/session/?session_id={kept}"));
    assert_eq!(get_json(&url, Some(&sarah)).await.1["messages"][0]["content"], "Where is my parcel?");

    // On DynamoDB, a full scan finds the audit record alone, with the store's id and counts.
    if let Some(table) = table {
        let items = e2e::stack::scan_table(&table).await;
        let of_the_store: Vec<&Value> = items
            .iter()
            .filter(|item| {
                let text = item.to_string();
                text.contains(SECRET)
                    || text.contains("Tech Store")
                    || text.contains("store@example.com")
                    || text.contains(&format!("STORE#{TECH_STORE}"))
                    || text.contains(&format!("store-{TECH_STORE}"))
                    || erased
                        .iter()
                        .any(|id| item["PK"].as_str().is_some_and(|pk| pk.ends_with(&format!("SESSION#{id}"))))
            })
            .collect();
        let audit = json!({"PK": "ERASURES", "SK": format!("store-{TECH_STORE}")});
        assert_eq!(of_the_store.len(), 1, "{of_the_store:#?}");
        let record = of_the_store[0].as_object().unwrap();
        assert_eq!((&record["PK"], &record["SK"]), (&audit["PK"], &audit["SK"]));
        let mut fields: Vec<&str> = record.keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(fields, ["PK", "SK", "files", "finished_at", "messages", "sessions", "started_at", "store_id"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_erased_leaves_nothing_of_it_on_the_embedded_store() {
    a_store_erased_leaves_nothing_of_it(Gateway::start(), None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_erased_leaves_nothing_of_it_on_dynamodb() {
    let table = e2e::stack::fresh_table().await;
    a_store_erased_leaves_nothing_of_it(Gateway::start_on_dynamodb(&table), Some(table)).await;
}

/// Closed conversations past the deployment's retention go with the sweep, their files with
/// them, and every list and its count stays right; the conversations within it stay.
#[tokio::test(flavor = "multi_thread")]
async fn closed_sessions_past_their_retention_go_with_their_files_and_counts() {
    use shared::Timestamp;
    use shared::domain::{SendLimit, SenderType, SessionStatus};
    use shared::storage::{DynamoStore, IdsFor, Opening, SessionStore};
    let table = e2e::stack::fresh_table().await;
    let gateway = Gateway::start_on_dynamodb_with(&table, &["--retention-days", "2"]);
    let kept = conversation(&gateway, &token_of_store(OTHER_STORE), "Where is my parcel?").await;

    // Three days ago: the tech store wrote, Sarah took it, tagged it and closed it.
    let store = DynamoStore::new(DynamoStore::local_client(&e2e::stack::dynamodb().endpoint()), &table);
    let then = Timestamp::now().plus_seconds(-3 * 86_400);
    let ids = store.reserve_message_ids(IdsFor::ActiveSessionOf(TECH_STORE)).await.unwrap();
    let message = e2e::cast::plain_message(SenderType::Store, TECH_STORE.0, SECRET);
    let opened = store.open_with_message(TECH_STORE, ids, message, then, SendLimit::NONE).await.unwrap();
    let Opening::Opened { session: old, .. } = opened else { panic!("{opened:?}") };
    let claimed = store.change_lifecycle(&old, SessionStatus::Claimed, Some(SARAH), then).await.unwrap();
    let shared::storage::WriteOutcome::Written(claimed) = claimed else { panic!("{claimed:?}") };
    let tagged = store.set_tags(&claimed, vec!["billing".into()], then).await.unwrap();
    let shared::storage::WriteOutcome::Written(tagged) = tagged else { panic!("{tagged:?}") };
    store.change_lifecycle(&tagged, SessionStatus::Closed, Some(SARAH), then).await.unwrap();
    let key = format!("sessions/{}/store-5/upload/copy", old.id);
    s3(&gateway).put_object().bucket(BUCKET).key(&key).body(PNG.to_vec().into()).send().await.unwrap();
    let before = lists(&gateway).await;
    assert_eq!(before[2]["total_count"], 2, "both closed and tagged: {before:?}");

    let swept = gateway.run_scheduled("AssignmentSweepFunction").await;
    assert_eq!(swept["expired"], 1, "{swept}");
    assert_eq!(gateway.run_scheduled("AssignmentSweepFunction").await["expired"], 0, "once");
    let after = lists(&gateway).await;
    for (list, was) in after.iter().zip(&before) {
        let ids: Vec<&Value> = list["ids"].as_array().unwrap().iter().collect();
        assert!(!ids.contains(&&json!(old.id)), "{list}");
        // Each count is what the list holds.
        assert_eq!(list["total_count"], json!(ids.len()), "{list}");
        let removed = was["ids"].as_array().unwrap().iter().filter(|id| **id == json!(old.id)).count();
        assert_eq!(list["total_count"].as_u64().unwrap() + removed as u64, was["total_count"].as_u64().unwrap());
    }
    assert!(!bucket_keys(&gateway).await.iter().any(|k| k.contains(&format!("/{}/", old.id))));
    let items = e2e::stack::scan_table(&table).await;
    assert!(!items.iter().any(|item| item.to_string().contains(SECRET)), "its messages went");
    let url = gateway.url(&format!("/v1/chat/admin/session/?session_id={kept}"));
    assert_eq!(get_json(&url, Some(&token_of_admin(SARAH))).await.0, 200, "the recent one stays");
}

/// In process, on each store: everything it holds after an erase cut short and run again
/// (the embedded store's whole state; on DynamoDB, a full scan) has nothing of the erased
/// store but its audit record, where each mark of it was there before; the other store's
/// conversation reads as it did.
async fn everything_the_store_holds_is_free_of_the_erased_store(
    store: Arc<dyn ChatStore>,
    contents: impl AsyncFn() -> String,
    marks_of_session: fn(SessionId) -> String,
    marks_of_store: fn(StoreId) -> String,
) {
    e2e::cast::seed().load_into(store.as_ref()).await.unwrap();
    let app = App::new(store.clone(), Config::local("erasure", None, None));
    let (tech, other) = (Principal::Store(TECH_STORE), Principal::Store(OTHER_STORE));
    let say = async |who: Principal, session: Option<SessionId>, text: &str| {
        let input = MessageInput { content: text.into(), ..MessageInput::default() };
        Box::pin(chat::send_message(&app, who, session, input)).await.unwrap().message
    };
    let mut erased = Vec::new();
    for close in [true, false] {
        let first = say(tech, None, SECRET).await;
        let session = first.session_id;
        chat::change_lifecycle(&app, Principal::Admin(SARAH), Target::Session(session), LifecycleAction::Claim)
            .await
            .unwrap();
        say(Principal::Admin(SARAH), Some(session), "On it").await;
        chat::write_note(&app, SARAH, session, "VIP".into()).await.unwrap();
        chat::set_tags(&app, SARAH, session, vec!["billing".into()]).await.unwrap();
        let edit = RevisionRequest::Edit { content: format!("{SECRET}, sorry") };
        chat::revise_message(&app, tech, session, first.id, edit).await.unwrap();
        if close {
            chat::close_active_session(&app, TECH_STORE).await.unwrap();
            chat::rate_session(&app, TECH_STORE, session, 4, Some("quick".into())).await.unwrap();
        }
        erased.push(session);
    }
    let token = TokenHash::of(&token_of_store(TECH_STORE));
    let connection = Connection::new("tech-store-socket".into(), tech, token.clone(), Timestamp::now());
    e2e::stack::record_connection(store.as_ref(), &connection).await;
    // The other store's last, so that no counter holds an erased session's id.
    let kept = say(other, None, "Where is my parcel?").await.session_id;
    let kept_before = chat::session_page(&app, Principal::Admin(SARAH), kept, 50).await.unwrap();

    let marks: Vec<String> = [SECRET, "Tech Store", "store@example.com", "tech-store-socket"]
        .map(str::to_owned)
        .into_iter()
        // As much of its token's hash as the embedded store's debug form shows.
        .chain([token.as_hex()[..8].to_owned(), marks_of_store(TECH_STORE)])
        .chain(erased.iter().map(|id| marks_of_session(*id)))
        .collect();
    let before = contents().await;
    for mark in &marks {
        assert!(before.contains(mark.as_str()), "{mark} is not in what the store holds to begin with");
    }

    let cut_short = chat::erase_store(&app, TECH_STORE, 1).await.unwrap();
    assert_eq!((cut_short.sessions, cut_short.finished_at), (1, None));
    let done = chat::erase_store(&app, TECH_STORE, 100).await.unwrap();
    assert_eq!((done.sessions, done.messages), (2, 4));
    assert!(done.finished_at.is_some());
    assert_eq!(chat::erase_store(&app, TECH_STORE, 100).await.unwrap(), done, "a repeat does nothing more");

    let after = contents().await;
    let left: Vec<&String> = marks.iter().filter(|mark| after.contains(mark.as_str())).collect();
    assert!(left.is_empty(), "left of the erased store: {left:?}");
    assert_eq!(store.erasure(TECH_STORE).await.unwrap(), Some(done));
    assert_eq!(chat::session_page(&app, Principal::Admin(SARAH), kept, 50).await.unwrap(), kept_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_the_embedded_store_holds_is_free_of_an_erased_store() {
    let store = Arc::new(MemoryStore::new());
    let held = store.clone();
    everything_the_store_holds_is_free_of_the_erased_store(
        store,
        async || held.contents(),
        |session| format!("{session:?}"),
        |store| format!("{:?}", Principal::Store(store)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_scan_of_dynamodb_is_free_of_an_erased_store() {
    let table = e2e::stack::fresh_table().await;
    let store = Arc::new(DynamoStore::new(DynamoStore::local_client(&e2e::stack::dynamodb().endpoint()), &table));
    everything_the_store_holds_is_free_of_the_erased_store(
        store,
        async || serde_json::to_string(&e2e::stack::scan_table(&table).await).unwrap(),
        |session| format!("SESSION#{session}\""),
        |store| format!("STORE#{store}\""),
    )
    .await;
}
