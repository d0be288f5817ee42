//! The operator CLI against DynamoDB Local: table, identities, tokens.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use e2e::cast::{OTHER_STORE, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json};
use e2e::stack::{binary, dynamodb, fresh_table, unique_name};
use e2e::ws::Client;
use serde_json::json;
use shared::auth::TokenHash;
use shared::domain::{AdminId, Principal, StoreId};
use shared::storage::{DynamoStore, IdentityStore};

fn chatctl(table: &str, args: &[&str], stdin: &str) -> Output {
    chatctl_with(table, &[], args, stdin)
}

/// `chatctl` with `options` before the subcommand and its `args`.
fn chatctl_with(table: &str, options: &[&str], args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binary("chatctl"))
        .env_clear()
        .args(["--endpoint", &dynamodb().endpoint(), "--table", table])
        .args(options)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chatctl starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(output.status.success(), "chatctl failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap().trim().to_owned()
}

#[tokio::test]
async fn creates_the_table_identities_and_tokens() {
    let table = unique_name("cli");
    assert_eq!(stdout_of(&chatctl(&table, &["create-table"], "")), format!("table {table}: created"));
    assert_eq!(stdout_of(&chatctl(&table, &["create-table"], "")), format!("table {table}: already exists"));

    stdout_of(&chatctl(&table, &["create-store", "--id", "5", "--name", "Tech Store", "--email", "s@example.com"], ""));
    stdout_of(&chatctl(&table, &["create-admin", "--id", "2", "--name", "Sarah"], ""));
    let store_token = stdout_of(&chatctl(&table, &["issue-token", "--store", "5"], ""));
    let admin_token = stdout_of(&chatctl(&table, &["issue-token", "--admin", "2"], ""));
    assert_eq!(store_token.len(), 64);
    assert!(!chatctl(&table, &["issue-token", "--store", "99"], "").status.success(), "no token for a missing store");

    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    assert_eq!(store.store_profile(StoreId(5)).await.unwrap().unwrap().email, "s@example.com");
    assert_eq!(store.principal_for(&TokenHash::of(&store_token)).await.unwrap(), Some(Principal::Store(StoreId(5))));
    assert_eq!(store.principal_for(&TokenHash::of(&admin_token)).await.unwrap(), Some(Principal::Admin(AdminId(2))));

    assert_eq!(stdout_of(&chatctl(&table, &["revoke-token"], &format!("{store_token}\n"))), "revoked");
    assert_eq!(store.principal_for(&TokenHash::of(&store_token)).await.unwrap(), None);
    let again = chatctl(&table, &["revoke-token"], &store_token);
    assert!(!again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "no such token");

    // A short-lived token, the tokens of each, and a deactivation that takes them all.
    let short = stdout_of(&chatctl(&table, &["issue-token", "--store", "5", "--lifetime-seconds", "600"], ""));
    assert_eq!(short.len(), 64);
    assert!(!chatctl(&table, &["issue-token", "--store", "5", "--lifetime-seconds", "5"], "").status.success());
    let listed = stdout_of(&chatctl(&table, &["tokens", "--store", "5"], ""));
    let fields: Vec<&str> = listed.split_whitespace().collect();
    assert_eq!((fields.len(), fields[0]), (3, TokenHash::of(&short).as_hex()), "only the short-lived one: {listed}");
    let expires = shared::Timestamp::parse(fields[2]).unwrap();
    assert!((595..=600).contains(&expires.seconds_since(shared::Timestamp::now())), "{listed}");
    let listed = stdout_of(&chatctl(&table, &["tokens", "--admin", "2"], ""));
    assert_eq!(listed.split_whitespace().nth(2), Some("never"), "{listed}");
    assert_eq!(stdout_of(&chatctl(&table, &["deactivate", "--admin", "2"], "")), "admin 2: deactivated");
    assert_eq!(store.principal_for(&TokenHash::of(&admin_token)).await.unwrap(), None);
    assert_eq!(stdout_of(&chatctl(&table, &["tokens", "--admin", "2"], "")), "");
    assert!(!chatctl(&table, &["issue-token", "--admin", "2"], "").status.success(), "none for a deactivated admin");
    assert!(!chatctl(&table, &["deactivate", "--store", "99"], "").status.success());

    let seed_path = std::env::temp_dir().join(format!("{}.json", unique_name("cli-seed")));
    std::fs::write(&seed_path, serde_json::to_string(&e2e::cast::seed()).unwrap()).unwrap();
    let loaded = stdout_of(&chatctl(&table, &["load-seed", seed_path.to_str().unwrap()], ""));
    assert_eq!(loaded, "loaded 61 stores and 22 admins");
    let token = e2e::cast::token_of_admin(e2e::cast::OMAR);
    assert_eq!(store.principal_for(&TokenHash::of(&token)).await.unwrap(), Some(Principal::Admin(e2e::cast::OMAR)));

    // An admin's capacity, and the directory that shows it.
    let set = chatctl(&table, &["set-capacity", "--admin", "3", "--capacity", "8"], "");
    assert_eq!(stdout_of(&set), "admin 3: capacity 8");
    let directory = stdout_of(&chatctl(&table, &["directory"], ""));
    let omar = directory.lines().find(|line| line.contains("Omar")).expect("Omar is listed");
    assert_eq!(omar.split_whitespace().collect::<Vec<_>>(), ["3", "Omar", "offline", "0", "8"]);
    let nobody = chatctl(&table, &["set-capacity", "--admin", "999", "--capacity", "8"], "");
    assert!(!nobody.status.success());
    assert!(!chatctl(&table, &["set-capacity", "--admin", "3", "--capacity", "1000"], "").status.success());

    // The team's business hours: set from standard input, shown, refused with the reason, cleared.
    let hours = json!({
        "time_zone": "Europe/Berlin",
        "week": {"mon": [{"opens": "09:00", "closes": "17:00"}]},
        "holidays": ["2026-12-25"],
    });
    let read = |output: &Output| serde_json::from_str::<serde_json::Value>(&stdout_of(output)).unwrap();
    assert_eq!(read(&chatctl(&table, &["hours", "set", "-"], &hours.to_string())), hours);
    assert_eq!(read(&chatctl(&table, &["hours", "show"], "")), hours);
    let refused = chatctl(&table, &["hours", "set", "-"], r#"{"time_zone": "Nowhere/Else", "week": {}}"#);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not a time zone"), "{refused:?}");
    assert_eq!(read(&chatctl(&table, &["hours", "show"], "")), hours, "a refusal changes nothing");
    assert_eq!(stdout_of(&chatctl(&table, &["hours", "clear"], "")), "null");
    assert_eq!(stdout_of(&chatctl(&table, &["hours", "show"], "")), "null");
}

async fn connect(gateway: &Gateway, token: &str) -> Client {
    Client::connect(gateway, Some(token)).await.expect("the connection is accepted")
}

/// A gateway on `table` with the functions linked in, or as their own processes.
type Start = fn(&str) -> Gateway;
const LINKED: Start = Gateway::start_on_dynamodb;
const AS_LAMBDA: Start = |table| Gateway::start_as_lambda(table, &[]);

#[tokio::test(flavor = "multi_thread")]
async fn revoking_a_token_closes_the_connections_opened_with_it() {
    revoking_closes_connections(LINKED).await;
}

/// The connections were opened and are closed by instances that share nothing but the table.
#[tokio::test(flavor = "multi_thread")]
async fn revoking_a_token_closes_the_connections_opened_with_it_across_instances() {
    revoking_closes_connections(AS_LAMBDA).await;
}

async fn revoking_closes_connections(start: Start) {
    let table = fresh_table().await;
    let gateway = start(&table);
    let token = token_of_store(TECH_STORE);
    let (revoked, mut other_store, mut admin) = (
        connect(&gateway, &token).await,
        connect(&gateway, &token_of_store(OTHER_STORE)).await,
        connect(&gateway, &token_of_admin(SARAH)).await,
    );
    let endpoint = gateway.management_endpoint();
    let output = chatctl_with(&table, &["--websocket-endpoint", &endpoint], &["revoke-token"], &format!("{token}\n"));
    assert_eq!(stdout_of(&output), "revoked\nlive connections closed: 1");
    assert_eq!(revoked.closed_by_server().await, 1000);
    // A socket opened right after, by the instance that trusted the token a moment ago,
    // never listens.
    assert_eq!(Client::connect(&gateway, Some(&token)).await.err(), Some(401));
    // Nobody else's connection noticed.
    assert_eq!(other_store.drain().await, Vec::<serde_json::Value>::new());
    assert_eq!(admin.drain().await, Vec::<serde_json::Value>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_whose_token_was_revoked_is_refused_at_its_next_frame() {
    revoked_connection_refused_at_next_frame(LINKED).await;
}

/// No instance trusts the connection for a token it saw before: each reads the connection.
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_whose_token_was_revoked_is_refused_at_its_next_frame_by_any_instance() {
    revoked_connection_refused_at_next_frame(AS_LAMBDA).await;
}

async fn revoked_connection_refused_at_next_frame(start: Start) {
    let table = fresh_table().await;
    let gateway = start(&table);
    let token = token_of_store(TECH_STORE);
    let mut revoked = connect(&gateway, &token).await;
    // Without the @connections endpoint the connection cannot be closed at once.
    let output = chatctl(&table, &["revoke-token"], &format!("{token}\n"));
    assert_eq!(stdout_of(&output), "revoked");
    assert!(String::from_utf8_lossy(&output.stderr).contains("live connections forgotten: 1"));

    revoked.send(json!({"action": "send_message", "content": "still here?"})).await;
    assert_eq!(revoked.next_event().await, json!({"type": "error", "error": "Unauthorized"}));
    assert_eq!(revoked.closed_by_server().await, 1000);
    // Nothing was sent: the store's first message would have opened its session.
    let (status, list) = get_json(&gateway.url("/v1/chat/admin/sessions/"), Some(&token_of_admin(SARAH))).await;
    assert_eq!((status, &list["total_count"]), (200, &json!(0)), "{list}");
}

/// Sessions earlier versions wrote lack their store's index keys and their search text, and
/// each party's newest message id: `chatctl migrate` completes them from what they hold,
/// once, however often it runs; then they read and count as new ones do.
#[tokio::test]
async fn migrate_completes_sessions_an_earlier_version_wrote() {
    use shared::domain::{ReceiptKind, SendLimit, SenderType, SessionFilter, SessionStatus};
    use shared::storage::{AppendGuard, AppendOutcome, ErasureStore, IdsFor, SessionQuery, SessionStore};
    let table = fresh_table().await;
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    store.put_store(&e2e::cast::tech_store()).await.unwrap();
    let now = shared::Timestamp::now();
    let first = store.get_or_create_active_session(TECH_STORE, 0, now).await.unwrap().unwrap().session;
    store.close_active_session(TECH_STORE, now).await.unwrap();
    let second = store.get_or_create_active_session(TECH_STORE, 0, now).await.unwrap().unwrap().session;
    let mut sent = Vec::new();
    for (party, sender_id) in
        [(SenderType::Store, TECH_STORE.0), (SenderType::Store, TECH_STORE.0), (SenderType::Admin, SARAH.0)]
    {
        let message = e2e::cast::plain_message(party, sender_id, "m");
        let ids = store.reserve_message_ids(IdsFor::Session(second.id)).await.unwrap();
        let appended =
            store.append_message(second.id, AppendGuard::NotClosed, ids, message, now, SendLimit::NONE).await.unwrap();
        let AppendOutcome::Appended(message) = appended else { panic!("{appended:?}") };
        sent.push(message.id);
    }
    // And one held by Sarah.
    store.put_store(&shared::domain::StoreProfile { id: OTHER_STORE, ..e2e::cast::tech_store() }).await.unwrap();
    let third = store.get_or_create_active_session(OTHER_STORE, 0, now).await.unwrap().unwrap().session;
    let held = store.change_lifecycle(&third, SessionStatus::Claimed, Some(SARAH), now).await.unwrap();
    assert!(matches!(held, shared::storage::WriteOutcome::Written(_)), "{held:?}");
    // As the earlier versions wrote them.
    for session in [first.id, second.id, third.id] {
        store
            .sdk_client()
            .update_item()
            .table_name(&table)
            .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(format!("SESSION#{session}")))
            .key("SK", aws_sdk_dynamodb::types::AttributeValue::S("SESSION".into()))
            .update_expression(
                "REMOVE PrincipalPK, PrincipalSK, search_text, last_store_message_id, last_admin_message_id, ClosedPK, \
                 picked_up_by, picked_up_at",
            )
            .send()
            .await
            .unwrap();
    }
    let search = SessionQuery {
        admin: SARAH,
        statuses: vec![SessionStatus::Open],
        tag: None,
        limit: 10,
        offset: 0,
        after: None,
        filter: SessionFilter::default().with_search("tech").unwrap(),
    };
    assert_eq!(store.sessions_of_store(TECH_STORE, 20).await.unwrap().1, 0);
    assert_eq!(store.list_sessions(&search).await.unwrap().total_count, 0);
    let in_a_year = now.plus_seconds(365 * 86_400);
    assert_eq!(store.expired_sessions(in_a_year, 10).await.unwrap(), [], "the closed one would never expire");

    let migrate = || stdout_of(&chatctl(&table, &["migrate"], ""));
    assert_eq!(migrate(), "sessions: 3 needed completing, 3 completed by this run");
    assert_eq!(migrate(), "sessions: 0 needed completing, 0 completed by this run");
    let picked = store.session(third.id).await.unwrap().unwrap();
    assert_eq!(picked.picked_up(), Some((SARAH, picked.updated)), "its holder picked it up");
    let (sessions, count) = store.sessions_of_store(TECH_STORE, 20).await.unwrap();
    assert_eq!((sessions.iter().map(|s| s.id).collect::<Vec<_>>(), count), (vec![second.id, first.id], 2));
    let found = store.list_sessions(&search).await.unwrap();
    assert_eq!((found.sessions.len(), found.total_count), (1, 1));
    assert_eq!(store.expired_sessions(in_a_year, 10).await.unwrap(), [first.id], "closed, it expires; open, not");
    let completed = store.session(second.id).await.unwrap().unwrap();
    assert_eq!((completed.last_store_message_id, completed.last_admin_message_id), (sent[1], sent[2]));
    // The admin's read mark up to the newest covers the store's every message, counted in the
    // mark's own update.
    let marked = store.mark_receipt(second.id, SenderType::Admin, ReceiptKind::Read, sent[2], now).await.unwrap();
    assert_eq!(marked.unwrap().admin_receipts.read_count, 2);
}

/// `chatctl export-store` hands a store's data over as one archive behind a link;
/// `chatctl erase-store` erases the store to the end, its files and export in the bucket with
/// it, and says so; run again, it finds it erased.
#[tokio::test]
async fn erase_store_erases_a_store_and_its_files() {
    use e2e::files::{BUCKET, PNG, kept_files, upload_png};
    use e2e::gateway::post_json;
    let table = fresh_table().await;
    let gateway = Gateway::start_on_dynamodb(&table);
    let store = token_of_store(TECH_STORE);
    let hello = json!({ "content": "hello" });
    assert_eq!(post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &hello).await.0, 201);
    let upload = upload_png(&gateway, &store, None, PNG).await;
    let body = json!({ "content": "the receipt", "upload_id": upload });
    let (status, sent) = post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &body).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(kept_files(&gateway).await.len(), 1);

    let options = ["--bucket", BUCKET, "--s3-endpoint", gateway.s3_endpoint()];
    // First its data handed over: one archive, the link on standard output.
    let exported = chatctl_with(&table, &options, &["export-store", "--id", "5"], "");
    let link = stdout_of(&exported);
    let said = String::from_utf8_lossy(&exported.stderr);
    assert!(said.starts_with("store 5: 1 sessions, 2 messages, 1 files; the link works until "), "{said}");
    let archive = reqwest::get(&link).await.unwrap();
    assert_eq!(archive.status(), 200);
    let archive = zip::ZipArchive::new(std::io::Cursor::new(archive.bytes().await.unwrap().to_vec())).unwrap();
    let mut names: Vec<String> = archive.file_names().map(|name| name.unwrap().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[1..], ["sessions/1.json", "store.json"], "{names:?}");
    assert!(names[0].starts_with("files/1/"), "{names:?}");
    let without_bucket = chatctl(&table, &["export-store", "--id", "5"], "");
    assert_eq!(without_bucket.status.code(), Some(2), "an export is kept in the bucket");
    let erase = || stdout_of(&chatctl_with(&table, &options, &["erase-store", "--id", "5"], ""));
    let said = erase();
    // The file, kept twice until the upload expires, and the export.
    assert!(said.starts_with("store 5: 1 sessions, 2 messages, 3 files erased; finished "), "{said}");
    assert_eq!(erase(), said, "a repeat finds it erased");
    assert!(kept_files(&gateway).await.is_empty());
    let without_bucket = chatctl(&table, &["erase-store", "--id", "5"], "");
    assert_eq!(without_bucket.status.code(), Some(2), "files are never left behind silently");
}

/// `report` prints what the reports route answers, as tables: the weeks and their total,
/// each admin by name, and what waits now.
#[tokio::test]
async fn report_prints_the_team_s_figures_as_tables() {
    use shared::domain::{Durations, FigureChange, Tally, TallyKey};
    use shared::storage::ReportStore;
    let table = fresh_table().await;
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    e2e::cast::seed().load_into(&store).await.unwrap();
    let day = |text: &str| text.parse::<jiff::civil::Date>().unwrap();
    let handled = Tally {
        assigned: 1,
        closed: 1,
        team_messages: 2,
        first_response: Durations::of(45_000),
        resolution: Durations::of(600_000),
        ratings: [0, 0, 0, 1, 0],
        ..Tally::default()
    };
    let opened = Tally { opened: 1, store_messages: 3, ..handled.clone() };
    let changes: Vec<FigureChange> = ["2026-11-30", "2026-12-01", "2026-12-07"]
        .into_iter()
        .enumerate()
        .map(|(n, date)| FigureChange {
            id: format!("session-{n}-r2-closed"),
            tallies: vec![
                (TallyKey::Team(day(date)), opened.clone()),
                (TallyKey::Admin(day(date), SARAH), handled.clone()),
            ],
        })
        .collect();
    store.record_figures(&changes).await.unwrap();

    let args = ["report", "--from", "2026-11-30", "--to", "2026-12-07", "--granularity", "week"];
    let printed = stdout_of(&chatctl(&table, &args, ""));
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines[0], "2026-11-30 to 2026-12-07, per week, the whole team; days in UTC");
    let cells = |line: &str| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let week = cells(lines.iter().find(|l| l.starts_with("2026-11-30 to 2026-12-06")).unwrap());
    // Medians and 90th percentiles from the buckets: two waits of 45 s in 45-60 s.
    assert_eq!(week[3..], ["2", "2", "2", "6", "4", "49", "s", "56", "s", "11", "min", "2", "4.00"]);
    let total = cells(lines.iter().find(|l| l.starts_with("total")).unwrap());
    assert_eq!(total[1..5], ["3", "3", "3", "9"]);
    let sarah = cells(lines.iter().find(|l| l.trim_start().starts_with(&format!("{SARAH} "))).unwrap());
    assert_eq!(sarah, ["2", "Sarah", "3", "3", "6", "53", "s", "3", "4.00"]);
    assert_eq!(lines.last(), Some(&"waiting now: 0"));

    let refused = chatctl(&table, &["report", "--granularity", "month"], "");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("granularity must be day or week"));
}

/// Items as each listed release wrote them read and count right once `chatctl migrate` has
/// completed what that release did not write, which it does once. The fixtures
/// (`tests/fixtures/releases/`) are what each release's own gateway wrote on DynamoDB Local:
/// Tech Store's conversation Sarah answered, tagged, noted and closed, and the store rated;
/// its next, which she holds with two of the store's messages after her answer; and Other
/// Store's, waiting.
#[tokio::test]
async fn items_each_release_wrote_read_and_count_right_after_migrate() {
    let releases = e2e::stack::releases();
    assert!(releases.len() >= 2, "{releases:?}");
    for (release, _) in &releases {
        let path = format!("{}/fixtures/releases/{release}.json", env!("CARGO_MANIFEST_DIR"));
        let fixture = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("each release has a fixture: {path}"));
        let table = fresh_table().await;
        e2e::stack::load_items(&table, &serde_json::from_str(&fixture).unwrap()).await;
        let migrate = || stdout_of(&chatctl(&table, &["migrate"], ""));
        let first = migrate();
        let needed = first.strip_prefix("sessions: ").and_then(|rest| rest.split_once(" needed completing, "));
        let (needed, completed) = needed.unwrap_or_else(|| panic!("{release}: {first}"));
        assert_eq!(completed, format!("{needed} completed by this run"), "{release}: all it found");
        assert_eq!(migrate(), "sessions: 0 needed completing, 0 completed by this run", "{release}: once");
        reads_and_counts_as_written(&table, release).await;
    }
}

async fn reads_and_counts_as_written(table: &str, release: &str) {
    use shared::domain::{ReceiptKind, SenderType, SessionId};
    use shared::storage::{ErasureStore, SessionStore};
    let gateway = Gateway::start_on_dynamodb(table);
    let (sarah, tech) = (token_of_admin(SARAH), token_of_store(TECH_STORE));
    let list = async |query: &str| {
        let (status, list) = get_json(&gateway.url(&format!("/v1/chat/admin/sessions/{query}")), Some(&sarah)).await;
        assert_eq!(status, 200, "{release}: {list}");
        let rows = list["sessions"].as_array().unwrap().clone();
        (list["total_count"].as_u64().unwrap(), rows)
    };
    let (count, closed) = list("?status=closed").await;
    assert_eq!((count, closed.len(), &closed[0]["id"]), (1, 1, &json!(1)), "{release}");
    assert_eq!((&closed[0]["rating"], &closed[0]["tags"]), (&json!(4), &json!(["billing"])), "{release}");
    let (count, held) = list("?status=claimed").await;
    assert_eq!((count, &held[0]["id"], &held[0]["message_count"]), (1, &json!(2), &json!(4)), "{release}");
    assert_eq!(held[0]["unread_count"], 3, "{release}: the store's three messages, none read by Sarah");
    let (count, waiting) = list("?status=open").await;
    assert_eq!((count, &waiting[0]["id"]), (1, &json!(3)), "{release}");
    assert_eq!(list("?q=tech").await.0, 2, "{release}: found by the store's name");
    let (status, context) =
        get_json(&gateway.url(&format!("/v1/chat/admin/store/?store_id={TECH_STORE}")), Some(&sarah)).await;
    assert_eq!((status, &context["session_count"], &context["last_rating"]), (200, &json!(2), &json!(4)), "{release}");
    let (status, current) = get_json(&gateway.url("/v1/chat/store/session/current/"), Some(&tech)).await;
    assert_eq!((status, &current["session"]["id"]), (200, &json!(2)), "{release}: {current}");
    assert_eq!(current["session"]["messages"].as_array().unwrap().len(), 4, "{release}");
    let (status, notes) = get_json(&gateway.url("/v1/chat/admin/notes/?session_id=1"), Some(&sarah)).await;
    assert_eq!((status, notes["notes"].as_array().unwrap().len()), (200, 1), "{release}: {notes}");

    // What the newer code reads of them: the closed one expires in its time; the held one
    // was picked up by its holder; a mark up to the newest counts each of the store's messages.
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), table);
    let in_a_year = shared::Timestamp::now().plus_seconds(365 * 86_400);
    assert_eq!(store.expired_sessions(in_a_year, 10).await.unwrap(), [SessionId(1)], "{release}");
    assert_eq!(store.session(SessionId(2)).await.unwrap().unwrap().picked_up_by, Some(SARAH), "{release}");
    let newest = current["session"]["messages"][3]["id"].as_u64().map(shared::domain::MessageId).unwrap();
    let now = shared::Timestamp::now();
    let marked = store.mark_receipt(SessionId(2), SenderType::Admin, ReceiptKind::Read, newest, now).await.unwrap();
    assert_eq!(marked.unwrap().admin_receipts.read_count, 3, "{release}");
    assert_eq!(list("?status=claimed").await.1[0]["unread_count"], 0, "{release}");
    // And it goes on: the store writes into its conversation.
    let (status, sent) = e2e::gateway::post_json(
        &gateway.url("/v1/chat/store/messages/"),
        Some(&tech),
        &json!({"content": "Still there?"}),
    )
    .await;
    assert_eq!((status, &sent["session_id"]), (201, &json!(2)), "{release}: {sent}");
}
