//! The function binaries run as Lambdas: each is started with `AWS_LAMBDA_RUNTIME_API`
//! pointing at a Runtime API in this test, gets recorded API Gateway events from `events/`,
//! and must post back the API Gateway responses, talking to DynamoDB Local.

use std::process::Stdio;
use std::time::Duration;

use e2e::cast::{SARAH, TECH_STORE, seed, token_of_admin, token_of_store};
use e2e::runtime_api::{Outcome, RuntimeApi, function_command};
use e2e::stack::{dynamodb, fresh_table, recorded_event};
use serde_json::{Value, json};
use shared::storage::{ConnectionStore, DynamoStore, SessionStore};
use tokio::io::AsyncReadExt;

fn with_token(mut event: Value, token: Option<&str>) -> Value {
    let headers = event["headers"].as_object_mut().unwrap();
    match token {
        Some(token) => headers.insert("authorization".into(), json!(format!("Token {token}"))),
        None => headers.remove("authorization"),
    };
    event
}

fn with_session_id(mut event: Value, session_id: &str) -> Value {
    event["queryStringParameters"]["session_id"] = json!(session_id);
    event["rawQueryString"] = json!(format!("session_id={session_id}"));
    event
}

/// Runs the function binary on `events` and returns what it posted back for each, decoded
/// as API Gateway responses (status, JSON body or an HTML page's text), and the log lines
/// it printed.
async fn invoke(function: &str, table: &str, events: Vec<Value>) -> (Vec<(u64, Value)>, Vec<Value>) {
    let api = RuntimeApi::start(function).await.expect("a Runtime API");
    let mut child =
        function_command(function, &api, table).stdout(Stdio::piped()).spawn().expect("the function binary starts");
    let mut responses = Vec::new();
    for event in events {
        let outcome = api.invoke(event, Duration::from_secs(30)).await;
        match tokio::time::timeout(Duration::from_secs(60), outcome).await {
            Ok(Ok(Outcome::Response(response))) => {
                let text = response["body"].as_str().expect("a text body");
                // API Gateway v2 answers carry `headers`; WebSocket (v1-style) answers may
                // carry `multiValueHeaders` instead.
                let content_type = match &response["headers"]["content-type"] {
                    Value::Null => response["multiValueHeaders"]["content-type"][0].clone(),
                    single => single.clone(),
                };
                // JSON, but for the page a mail's unsubscribe link opens.
                let body = match content_type.as_str() {
                    Some("text/html; charset=utf-8") => Value::String(text.to_owned()),
                    _ => {
                        assert_eq!(content_type, "application/json", "{response}");
                        serde_json::from_str(text).unwrap()
                    }
                };
                responses.push((response["statusCode"].as_u64().unwrap(), body));
            }
            Ok(Ok(Outcome::Error(error))) => panic!("{function} reported an error: {error}"),
            Ok(Err(_)) => panic!("{function}'s Runtime API stopped"),
            Err(_) => panic!("{function} did not answer within a minute"),
        }
    }
    // Every event is answered; the function now waits for the next one, as in AWS.
    child.start_kill().unwrap();
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).await.unwrap();
    child.wait().await.unwrap();
    let logs = stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    (responses, logs)
}

/// Each function in the order a conversation uses them, with whose token, and the status
/// its recorded event must get.
const SCRIPT: [(&str, Party, u64); 53] = [
    ("store-current-session", Party::Store, 200),
    ("store-availability", Party::Store, 200),
    ("store-get-session", Party::Store, 200),
    ("store-send-message", Party::Store, 201),
    ("store-create-upload", Party::Store, 201),
    ("store-list-messages", Party::Store, 200),
    ("admin-list-sessions", Party::Admin, 200),
    ("admin-claim-session", Party::Admin, 200),
    ("admin-create-upload", Party::Admin, 201),
    ("admin-get-session", Party::Admin, 200),
    ("admin-send-message", Party::Admin, 201),
    ("admin-list-messages", Party::Admin, 200),
    ("admin-store-context", Party::Admin, 200),
    ("admin-reports", Party::Admin, 200),
    ("admin-write-note", Party::Admin, 201),
    ("admin-list-notes", Party::Admin, 200),
    ("store-edit-message", Party::Store, 200),
    // The store's message: not the admin's to edit.
    ("admin-edit-message", Party::Admin, 403),
    ("admin-message-history", Party::Admin, 200),
    ("store-delete-message", Party::Store, 200),
    // No such message.
    ("admin-delete-message", Party::Admin, 404),
    ("admin-save-reply", Party::Admin, 201),
    ("admin-list-replies", Party::Admin, 200),
    ("admin-delete-reply", Party::Admin, 200),
    ("conversation-list-sessions", Party::Admin, 200),
    ("agents-get-chat-messages", Party::Admin, 200),
    ("store-mark-read", Party::Store, 200),
    ("admin-mark-read", Party::Admin, 200),
    ("admin-set-tags", Party::Admin, 200),
    ("admin-transfer-session", Party::Admin, 200),
    ("admin-close-session", Party::Admin, 200),
    ("store-rate-session", Party::Store, 200),
    ("admin-directory", Party::Admin, 200),
    ("admin-set-availability", Party::Admin, 200),
    // A new session to close.
    ("store-get-session", Party::Store, 200),
    ("store-close-session", Party::Store, 200),
    // Email is not configured here.
    ("store-request-transcript", Party::Store, 409),
    // A link whose signature is not the deployment's.
    ("email-unsubscribe", Party::Platform, 400),
    // The platform's, signed rather than with a token.
    ("platform-upsert-stores", Party::Platform, 200),
    ("platform-upsert-admins", Party::Platform, 200),
    ("platform-mint-token", Party::Platform, 201),
    ("platform-list-tokens", Party::Platform, 200),
    // No such token.
    ("platform-revoke-token", Party::Platform, 404),
    ("platform-deactivate", Party::Platform, 200),
    // Both reach the bucket, which this harness has none of: storage unavailable.
    ("platform-erase-store", Party::Platform, 503),
    ("platform-export-store", Party::Platform, 503),
    ("platform-set-hours", Party::Platform, 200),
    ("platform-get-hours", Party::Platform, 200),
    ("platform-create-webhook", Party::Platform, 201),
    ("platform-list-webhooks", Party::Platform, 200),
    ("platform-list-webhook-deliveries", Party::Platform, 404),
    ("platform-replay-webhook", Party::Platform, 404),
    ("platform-delete-webhook", Party::Platform, 404),
];

#[derive(Clone, Copy)]
enum Party {
    Store,
    Admin,
    Platform,
}

#[tokio::test]
async fn every_function_answers_its_recorded_event() {
    let table = fresh_table().await;
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    seed().load_into(&store).await.unwrap();

    for (function, party, expected) in SCRIPT {
        let token = match party {
            Party::Store => Some(token_of_store(TECH_STORE)),
            Party::Admin => Some(token_of_admin(SARAH)),
            Party::Platform => None,
        };
        let (responses, logs) =
            invoke(function, &table, vec![with_token(recorded_event(function), token.as_deref())]).await;
        let (status, body) = &responses[0];
        assert_eq!(*status, expected, "{function}: {body}");
        let invocation = logs.iter().find(|l| l["message"] == "invocation").expect("an invocation line");
        assert_eq!(invocation["status"], expected, "{function}");
        assert!(invocation["dynamodb_calls"].as_u64().unwrap() >= 1, "{function}");
    }

    // Every function of the template is in the script, and has a recorded event.
    let scripted: std::collections::BTreeSet<&str> = SCRIPT.iter().map(|(function, _, _)| *function).collect();
    let routes = sam_template::Template::embedded().http_routes().unwrap();
    let declared: std::collections::BTreeSet<&str> = routes.iter().map(|r| r.binary.as_str()).collect();
    assert_eq!(scripted, declared);
}

#[tokio::test]
async fn a_function_answers_events_in_turn_and_logs_each() {
    let table = fresh_table().await;
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    seed().load_into(&store).await.unwrap();

    let store_event = recorded_event("store-get-session");
    let (responses, logs) = invoke(
        "store-get-session",
        &table,
        vec![with_token(store_event.clone(), Some(&token_of_store(TECH_STORE))), with_token(store_event, None)],
    )
    .await;
    let (status, session) = &responses[0];
    assert_eq!((*status, &session["status"], &session["store_id"]), (200, &json!("open"), &json!(TECH_STORE)));
    assert_eq!(responses[1], (401, json!({"success": false, "message": "Unauthorized"})));
    let invocations: Vec<&Value> = logs.iter().filter(|l| l["message"] == "invocation").collect();
    assert_eq!(invocations.len(), 2);
    assert_eq!(invocations[0]["route"], "GET /v1/chat/store/session/");
    assert_eq!(invocations[0]["status"], 200);
    assert!(invocations[0]["dynamodb_calls"].as_u64().unwrap() >= 2);
    assert_eq!(invocations[1]["dynamodb_calls"], 0, "no token, no lookup");

    let session_id = session["id"].to_string();
    let admin_event = with_token(recorded_event("admin-get-session"), Some(&token_of_admin(SARAH)));
    let (responses, _) = invoke(
        "admin-get-session",
        &table,
        vec![with_session_id(admin_event.clone(), &session_id), with_session_id(admin_event, "abc")],
    )
    .await;
    assert_eq!(responses[0], (200, session.clone()));
    assert_eq!(responses[1], (400, json!({"error": "session_id must be integer"})));
}

/// A WebSocket event with the store's token in its `?token=`.
fn with_query_token(mut event: Value, token: &str) -> Value {
    event["queryStringParameters"]["token"] = json!(token);
    event["multiValueQueryStringParameters"]["token"] = json!([token]);
    event
}

#[tokio::test]
async fn the_websocket_functions_answer_recorded_events() {
    let table = fresh_table().await;
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    seed().load_into(&store).await.unwrap();
    let connection = recorded_event("ws-connect")["requestContext"]["connectionId"].as_str().unwrap().to_owned();

    let run = |function: &'static str, event: Value| {
        let table = table.clone();
        async move {
            let (responses, logs) = invoke(function, &table, vec![event]).await;
            let invocation = logs.iter().find(|l| l["message"] == "invocation").expect("an invocation line").clone();
            (responses[0].0, invocation)
        }
    };
    let refused = run("ws-connect", with_query_token(recorded_event("ws-connect"), "not-a-token")).await;
    assert_eq!(refused.0, 401);
    assert_eq!(store.connection(&connection).await.unwrap(), None);

    let (status, invocation) =
        run("ws-connect", with_query_token(recorded_event("ws-connect"), &token_of_store(TECH_STORE))).await;
    assert_eq!((status, &invocation["route"]), (200, &json!("$connect")));
    assert_eq!(
        store.connection(&connection).await.unwrap().unwrap().principal,
        shared::domain::Principal::Store(TECH_STORE)
    );

    let (status, _) = run("ws-send-message", recorded_event("ws-send-message")).await;
    assert_eq!(status, 200);
    let session = store.active_session(TECH_STORE).await.unwrap().expect("the send opened a session");
    let page = store
        .messages(session.id, shared::storage::MessageWindow::After(shared::domain::MessageId(0)), 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["Hello over the WebSocket"]);

    for function in ["ws-typing", "ws-mark-read", "ws-mark-delivered", "ws-ping", "ws-default"] {
        let (status, invocation) = run(function, recorded_event(function)).await;
        assert_eq!(status, 200, "{function}");
        assert!(invocation["route"].is_string(), "{function}");
    }

    let (status, _) = run("ws-disconnect", recorded_event("ws-disconnect")).await;
    assert_eq!(status, 200);
    assert_eq!(store.connection(&connection).await.unwrap(), None);

    // Every WebSocket function of the template was run.
    let routes = sam_template::Template::embedded().websocket_routes().unwrap();
    let declared: std::collections::BTreeSet<&str> = routes.iter().map(|r| r.binary.as_str()).collect();
    let ran: std::collections::BTreeSet<&str> = [
        "ws-connect",
        "ws-send-message",
        "ws-typing",
        "ws-mark-read",
        "ws-mark-delivered",
        "ws-ping",
        "ws-default",
        "ws-disconnect",
    ]
    .into();
    assert_eq!(ran, declared);
}

/// `sam local invoke -n events/env.json` reaches the DynamoDB Local the launcher starts by
/// default, and the table `chatctl create-table` makes by default.
#[test]
fn the_sam_local_environment_matches_the_local_defaults() {
    let path = format!("{}/../events/env.json", env!("CARGO_MANIFEST_DIR"));
    let env: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let expected = format!("http://host.docker.internal:{}", dynamodb_local::DEFAULT_PORT);
    assert_eq!(env["Parameters"]["AWS_ENDPOINT_URL_DYNAMODB"], json!(expected));
    assert_eq!(env["Parameters"]["TABLE_NAME"], json!(shared::config::Config::DEFAULT_TABLE_NAME));
}

/// Runs the function `binary` on its recorded event once, over `table`, as Lambda would
/// when no route is behind it: its answer, and the JSON lines it logged.
async fn answer_to_recorded_event(binary: &str, table: &str) -> (Value, Vec<Value>) {
    let api = RuntimeApi::start(binary).await.expect("a Runtime API");
    let mut child = function_command(binary, &api, table).stdout(Stdio::piped()).spawn().expect("the binary starts");
    let outcome = api.invoke(recorded_event(binary), Duration::from_secs(30)).await;
    let response = match tokio::time::timeout(Duration::from_secs(60), outcome).await {
        Ok(Ok(Outcome::Response(response))) => response,
        other => panic!("{binary} did not answer: {:?}", other.map(|o| o.map(|_| ()))),
    };
    child.start_kill().unwrap();
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).await.unwrap();
    child.wait().await.unwrap();
    (response, stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect())
}

/// The scheduled function takes EventBridge's scheduled event and answers what it did,
/// logging one invocation line like the others.
#[tokio::test]
async fn the_sweep_answers_its_scheduled_event() {
    let table = fresh_table().await;
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    seed().load_into(&store).await.unwrap();
    let (response, lines) = answer_to_recorded_event("assignment-sweep", &table).await;
    assert_eq!(response, json!({"requeued": 0, "assigned": 0, "closed": 0, "away_replies": 0, "expired": 0}));
    let line = lines.iter().find(|l| l["message"] == "invocation").expect("an invocation line");
    assert_eq!((&line["route"], &line["status"]), (&json!("schedule"), &json!(200)));
    assert!(line["dynamodb_calls"].as_u64().unwrap() >= 1, "{line}");
}

/// The stream function takes the `DynamoDBEvent` an event source mapping sends, reads the
/// changes it carries, and answers that no record failed; with no bus, its events go nowhere.
#[tokio::test]
async fn the_stream_function_answers_its_recorded_event() {
    let table = fresh_table().await;
    let (response, lines) = answer_to_recorded_event("table-events", &table).await;
    assert_eq!(response, json!({"batchItemFailures": []}));
    let changes = lines.iter().find(|l| l["message"] == "table changes").expect("the changes read");
    assert_eq!((&changes["records"], &changes["events"]), (&json!(1), &json!(1)), "{changes}");
    let line = lines.iter().find(|l| l["message"] == "invocation").expect("an invocation line");
    assert_eq!((&line["route"], &line["status"]), (&json!("stream table-events"), &json!(200)));
}

/// The reports' stream function takes the same event, counts the message it carries, once
/// however often it is given, and answers that no record failed.
#[tokio::test]
async fn the_reports_stream_function_counts_its_recorded_event_once() {
    let table = fresh_table().await;
    for recorded in [1, 0] {
        let (response, lines) = answer_to_recorded_event("table-reports", &table).await;
        assert_eq!(response, json!({"batchItemFailures": []}));
        let figures = lines.iter().find(|l| l["message"] == "report figures").expect("the figures recorded");
        assert_eq!((&figures["changes"], &figures["recorded"]), (&json!(1), &json!(recorded)), "{figures}");
        let line = lines.iter().find(|l| l["message"] == "invocation").expect("an invocation line");
        assert_eq!((&line["route"], &line["status"]), (&json!("stream table-reports"), &json!(200)));
    }
}
