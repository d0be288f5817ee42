//! Each function's IAM policy in template.yaml allows exactly what it does: the DynamoDB
//! actions its requests need (read from the per-invocation log of a run that takes every
//! function down its paths), on the table and only the indexes it queries, and
//! `execute-api:ManageConnections` on the WebSocket API only where it pushes, and the S3
//! actions of the requests it makes or signs, on the attachments bucket's objects under
//! the prefixes it uses them on; `secretsmanager:GetSecretValue` on the platform's HS256
//! secret only where tokens are authenticated; the table's stream, `events:PutEvents` on the
//! bus and the failure queue only for the functions the stream invokes; a queue's actions
//! only where its messages are queued or read; `ses:SendEmail`, as the deployment's sender,
//! for exactly the functions that send mail. No `*` action.

use std::collections::{BTreeMap, BTreeSet};

use e2e::bus::BusQueue;
use e2e::cast::{OMAR, OTHER_STORE, QUIET_STORE, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::files::{PNG, upload_png};
use e2e::gateway::{Gateway, PROJECT_KEY, get_json, post_json};
use e2e::identity_provider::IdentityProvider;
use e2e::mailbox::{Mailbox, header};
use e2e::platform::Signed;
use e2e::stack::{dynamodb, fresh_table, moto};
use e2e::ws::Client;
use serde_json::{Value, json};
use serde_norway::Value as Yaml;
use shared::Timestamp;
use shared::domain::{Audience, Connection, Principal, SendLimit, SenderType, TokenHash};
use shared::storage::{ConnectionStore, DynamoStore, IdsFor, Opening, SessionStore};

/// What an event source mapping does with its function's role to read the table's stream.
const STREAM_ACTIONS: [&str; 4] =
    ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"];
/// What an event source mapping does with its function's role to read an SQS queue.
const QUEUE_ACTIONS: [&str; 3] = ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"];

/// A policy statement's actions and resources, resources rendered as text
/// (`GetAtt:ChatTable.Arn`, or the `!Sub` string).
struct Statement {
    actions: Vec<String>,
    resources: Vec<String>,
}

fn strings(value: &Yaml) -> Vec<String> {
    let render = |v: &Yaml| match v {
        Yaml::String(text) => text.clone(),
        Yaml::Tagged(tagged) if tagged.tag == "!GetAtt" => format!("GetAtt:{}", tagged.value.as_str().unwrap_or("")),
        // `!Sub [text, {names}]`: the text.
        Yaml::Tagged(tagged) if tagged.value.is_sequence() => tagged.value[0].as_str().unwrap_or("").to_owned(),
        Yaml::Tagged(tagged) => tagged.value.as_str().unwrap_or("").to_owned(),
        other => panic!("unexpected policy value {other:?}"),
    };
    match value {
        Yaml::Sequence(items) => items.iter().map(render).collect(),
        single => vec![render(single)],
    }
}

/// The statements of a function's policy: inline, or of a managed policy of the template
/// that a condition attaches (`!If [Condition, !Ref Policy, !Ref AWS::NoValue]`).
fn statements_of<'a>(template: &'a Yaml, policy: &'a Yaml) -> &'a Vec<Yaml> {
    let document = match policy {
        Yaml::Tagged(tagged) if tagged.tag == "!If" => {
            let referenced = |value: &'a Yaml| match value {
                Yaml::Tagged(reference) if reference.tag == "!Ref" => reference.value.as_str().unwrap(),
                other => panic!("a !Ref, not {other:?}"),
            };
            let managed = referenced(&tagged.value[1]);
            assert_eq!(referenced(&tagged.value[2]), "AWS::NoValue", "attached or not");
            &template["Resources"][managed]["Properties"]["PolicyDocument"]
        }
        inline => inline,
    };
    document["Statement"].as_sequence().expect("statements")
}

/// Function binary → its policy statements.
fn policies() -> BTreeMap<String, Vec<Statement>> {
    let template: Yaml = serde_norway::from_str(sam_template::TEMPLATE_YAML).unwrap();
    let mut policies = BTreeMap::new();
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let properties = &resource["Properties"];
        let binary = sam_template::binary_of(id.as_str().unwrap(), resource).unwrap();
        let mut statements = Vec::new();
        for policy in properties["Policies"].as_sequence().into_iter().flatten() {
            for statement in statements_of(&template, policy) {
                assert_eq!(statement["Effect"], "Allow", "{binary}");
                let mut resources = strings(&statement["Resource"]);
                // A listing of the bucket allowed under key prefixes: read as the prefixes.
                let prefixes = &statement["Condition"]["StringLike"]["s3:prefix"];
                if resources == ["GetAtt:AttachmentsBucket.Arn"] && prefixes.is_sequence() {
                    resources = strings(prefixes).iter().map(|p| format!("${{AttachmentsBucket.Arn}}/{p}")).collect();
                }
                statements.push(Statement { actions: strings(&statement["Action"]), resources });
            }
        }
        policies.insert(binary, statements);
    }
    policies
}

#[test]
fn no_wildcards_and_resources_only_of_this_stack() {
    for (binary, statements) in policies() {
        for statement in statements {
            for action in &statement.actions {
                assert!(!action.contains('*'), "{binary}: {action}");
            }
            for resource in &statement.resources {
                assert_ne!(resource, "*", "{binary}");
                let on_table = resource == "GetAtt:ChatTable.Arn" || resource.starts_with("${ChatTable.Arn}/index/");
                // Objects of the attachments bucket under one of its prefixes (a listing, under
                // them alone), never the bucket.
                let on_attachments = ["sessions", "uploads", "exports"]
                    .iter()
                    .any(|prefix| resource == &format!("${{AttachmentsBucket.Arn}}/{prefix}/*"));
                let on_websocket = resource.contains("${WebSocketApi}/${Stage}/POST/@connections/")
                    || resource.contains("${WebSocketApi}/${Stage}/DELETE/@connections/");
                let on_stream = resource == "GetAtt:ChatTable.StreamArn";
                for action in &statement.actions {
                    match action.split_once(':') {
                        Some(("dynamodb", _)) if on_stream => {
                            assert!(STREAM_ACTIONS.contains(&action.as_str()), "{binary}: {action} on the stream")
                        }
                        Some(("dynamodb", _)) => assert!(on_table, "{binary}: {action} on {resource}"),
                        Some(("events", "PutEvents")) => assert_eq!(resource, "GetAtt:EventBus.Arn", "{binary}"),
                        // The event source mapping's on-failure destination, or one of the queues.
                        Some(("sqs", "SendMessage")) => assert!(
                            ["GetAtt:TableEventsFailures.Arn", "GetAtt:WebhookDeliveries.Arn", "GetAtt:EmailJobs.Arn"]
                                .contains(&resource.as_str()),
                            "{binary}: {resource}"
                        ),
                        Some(("sqs", _)) => assert!(
                            ["GetAtt:WebhookDeliveries.Arn", "GetAtt:EmailJobs.Arn"].contains(&resource.as_str()),
                            "{binary}: {resource}"
                        ),
                        // As the deployment's sender (its address or domain), through its
                        // configuration set.
                        Some(("ses", "SendEmail")) => assert!(
                            resource.ends_with(":identity/${EmailSender}")
                                || resource.ends_with(":identity/${Domain}")
                                || resource.ends_with(":configuration-set/${EmailConfigurationSet}"),
                            "{binary}: {resource}"
                        ),
                        Some(("s3", _)) => assert!(on_attachments, "{binary}: {action} on {resource}"),
                        Some(("execute-api", "ManageConnections")) => assert!(on_websocket, "{binary}: {resource}"),
                        // The one secret the template is given, by its ARN.
                        Some(("secretsmanager", "GetSecretValue")) => {
                            assert_eq!(resource, "JwtHs256SecretArn", "{binary}")
                        }
                        _ => panic!("{binary}: unexpected action {action}"),
                    }
                }
                if resource.starts_with("${ChatTable.Arn}/index/") {
                    assert!(!resource.ends_with('*'), "{binary}: name the index");
                }
            }
        }
    }
}

/// What each function did in a run: DynamoDB actions (with indexes), whether it pushed and
/// whether it closed a connection.
#[derive(Default, Debug)]
struct Use {
    actions: BTreeSet<String>,
    s3_actions: BTreeSet<String>,
    pushed: bool,
    disconnected: bool,
    read_secret: bool,
    put_events: bool,
    sent_email: bool,
    queue_actions: BTreeSet<String>,
}

/// Takes every function, HTTP and WebSocket, down its paths, rare ones included, with
/// live connections listening, and returns what each did.
async fn exercise() -> BTreeMap<String, Use> {
    let table = fresh_table().await;
    // With automatic assignment, and offline (and requeued) at once: every function then
    // does all it may have to.
    let desk = [
        "--assignment",
        "auto",
        "--presence-grace-seconds",
        "0",
        "--requeue-delay-seconds",
        "0",
        "--retention-days",
        "1",
    ];
    // A platform whose identity provider signs with HS256, its secret in Secrets Manager.
    let mut provider = IdentityProvider::start().await;
    provider.share_hs256_secret().await;
    // Events out, on a bus in moto, and webhooks through its SQS, given up after a second.
    let bus = BusQueue::new().await;
    let webhooks = ["--queue-endpoint", &moto().endpoint(), "--webhook-retry-seconds", "1"].map(str::to_owned);
    // Mail through an SES stand-in, its jobs on that SQS.
    let mailbox = Mailbox::start();
    let mail = ["--ses-endpoint", &mailbox.endpoint(), "--digest-after-seconds", "1", "--on-call-after-seconds", "1"]
        .map(str::to_owned);
    let args = [
        desk.map(str::to_owned).to_vec(),
        provider.gateway_args(),
        bus.gateway_args(),
        webhooks.to_vec(),
        mail.to_vec(),
    ]
    .concat();
    let gateway = Gateway::start_on_dynamodb_with(&table, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    let url = |path: &str| gateway.url(path);
    let post = |path: &'static str, token: &str, body: Value| {
        let (url, token) = (gateway.url(path), token.to_owned());
        async move {
            let (status, answer) = post_json(&url, Some(&token), &body).await;
            assert!(status < 300, "{path}: {status} {answer}");
            answer
        }
    };
    let mut store_ws = Client::connect(&gateway, Some(&store)).await.unwrap();
    let mut admin_ws = Client::connect(&gateway, Some(&sarah)).await.unwrap();
    // Away until the end: what she does, she does by hand.
    post("/v1/chat/admin/presence/", &sarah, json!({"availability": "away"})).await;

    let platform_user = provider.sign_hs256(0, json!({"store_id": TECH_STORE.0}));
    get_json(&url("/v1/chat/store/session/current/"), Some(&platform_user)).await;
    let (_, session) = get_json(&url("/v1/chat/store/session/"), Some(&store)).await;
    let id = session["id"].clone();
    let first = post("/v1/chat/store/messages/", &store, json!({"content": "one", "client_message_id": "c1"})).await;
    post("/v1/chat/store/messages/", &store, json!({"content": "one", "client_message_id": "c1"})).await;
    store_ws.send(json!({"action": "send_message", "content": "two"})).await;
    store_ws.drain().await;
    post("/conversation/sessions", &sarah, json!({"agent_id": SARAH.to_string(), "project_key": PROJECT_KEY})).await;
    // From here on the session's last message has a file, which every view shows as a link.
    let upload = upload_png(&gateway, &store, None, PNG).await;
    post("/v1/chat/store/messages/", &store, json!({"upload_id": upload})).await;
    // An upload sent twice: the second send deletes the copy it kept (every send function).
    let twice = json!({"upload_id": upload});
    assert_eq!(post_json(&url("/v1/chat/store/messages/"), Some(&store), &twice).await.0, 409);
    get_json(&url("/v1/chat/store/session/"), Some(&store)).await;
    // Waiting, with its place in line.
    get_json(&url("/v1/chat/store/session/current/"), Some(&store)).await;
    get_json(&url("/v1/chat/admin/sessions/"), Some(&sarah)).await;
    post("/v1/chat/admin/session/claim/", &sarah, json!({"session_id": id})).await;
    let upload = upload_png(&gateway, &sarah, Some(&id), PNG).await;
    let reply = post("/v1/chat/admin/messages/", &sarah, json!({"session_id": id, "upload_id": upload})).await;
    let twice = json!({"session_id": id, "upload_id": upload});
    assert_eq!(post_json(&url("/v1/chat/admin/messages/"), Some(&sarah), &twice).await.0, 409);
    let upload = upload_png(&gateway, &sarah, Some(&id), PNG).await;
    admin_ws.send(json!({"action": "send_message", "session_id": id, "upload_id": upload})).await;
    admin_ws.send(json!({"action": "send_message", "session_id": id, "upload_id": upload})).await;
    admin_ws.drain().await;
    get_json(&url(&format!("/v1/chat/admin/session/?session_id={id}")), Some(&sarah)).await;
    get_json(&url(&format!("/v1/chat/admin/messages/?session_id={id}")), Some(&sarah)).await;
    get_json(&url("/v1/chat/store/messages/"), Some(&store)).await;
    post("/api/v1/Agents/Chat/GetChatMessages", &sarah, json!({"ChatSessionId": id})).await;
    // Read marks below the newest message of the other party take the counting path.
    post("/v1/chat/store/session/read/", &store, json!({"up_to_message_id": reply["id"]})).await;
    post("/v1/chat/admin/session/read/", &sarah, json!({"session_id": id, "up_to_message_id": first["id"]})).await;
    store_ws.send(json!({"action": "mark_read", "up_to_message_id": reply["id"]})).await;
    store_ws.send(json!({"action": "mark_delivered", "up_to_message_id": reply["id"]})).await;
    store_ws.send(json!({"action": "typing", "state": "on"})).await;
    store_ws.send(json!({"action": "dance"})).await;
    store_ws.drain().await;
    post("/v1/chat/admin/session/tags/", &sarah, json!({"session_id": id, "tags": ["vip"]})).await;
    // The team's side: a note, heard by Sarah's inbox; edits and deletes of each party's last
    // message, with its file (linked when edited, gone when deleted); the trail; replies.
    post("/v1/chat/admin/notes/", &sarah, json!({"session_id": id, "content": "a note"})).await;
    get_json(&url(&format!("/v1/chat/admin/store/?store_id={TECH_STORE}")), Some(&sarah)).await;
    get_json(&url("/v1/chat/admin/reports/?granularity=week"), Some(&sarah)).await;
    get_json(&url("/v1/chat/admin/sessions/?q=tech&from=2020-01-01"), Some(&sarah)).await;
    get_json(&url(&format!("/v1/chat/admin/notes/?session_id={id}")), Some(&sarah)).await;
    let upload = upload_png(&gateway, &store, None, PNG).await;
    let filed = post("/v1/chat/store/messages/", &store, json!({"upload_id": upload, "content": "a fiel"})).await;
    post(
        "/v1/chat/store/messages/edit/",
        &store,
        json!({"session_id": id, "message_id": filed["id"], "content": "a file"}),
    )
    .await;
    post("/v1/chat/store/messages/delete/", &store, json!({"session_id": id, "message_id": filed["id"]})).await;
    let upload = upload_png(&gateway, &sarah, Some(&id), PNG).await;
    let body = json!({"session_id": id, "upload_id": upload, "content": "teh invoice"});
    let filed = post("/v1/chat/admin/messages/", &sarah, body).await;
    let edit = json!({"session_id": id, "message_id": filed["id"], "content": "the invoice"});
    post("/v1/chat/admin/messages/edit/", &sarah, edit).await;
    post("/v1/chat/admin/messages/delete/", &sarah, json!({"session_id": id, "message_id": filed["id"]})).await;
    let trail = format!("/v1/chat/admin/messages/history/?session_id={id}&message_id={}", filed["id"]);
    get_json(&url(&trail), Some(&sarah)).await;
    post("/v1/chat/admin/replies/", &sarah, json!({"shortcut": "hi", "content": "Hi {store_name}"})).await;
    post("/v1/chat/admin/replies/", &sarah, json!({"shortcut": "hi", "content": "Hello {store_name}"})).await;
    get_json(&url("/v1/chat/admin/replies/"), Some(&sarah)).await;
    post("/v1/chat/admin/replies/delete/", &sarah, json!({"shortcut": "hi"})).await;
    // The session's last message has a file again.
    let upload = upload_png(&gateway, &sarah, Some(&id), PNG).await;
    post("/v1/chat/admin/messages/", &sarah, json!({"session_id": id, "upload_id": upload})).await;
    post("/v1/chat/admin/session/transfer/", &sarah, json!({"session_id": id, "admin_id": null})).await;
    // Held when closed, so that its holder hears of the rating.
    post("/v1/chat/admin/session/claim/", &sarah, json!({"session_id": id})).await;
    post("/v1/chat/admin/session/close/", &sarah, json!({"session_id": id})).await;
    post("/v1/chat/store/session/rating/", &store, json!({"session_id": id, "rating": 5})).await;
    // A store's first message opens its session; then it closes it.
    post("/v1/chat/store/messages/", &store, json!({"content": "again"})).await;
    let upload = upload_png(&gateway, &store, None, PNG).await;
    post("/v1/chat/store/messages/", &store, json!({"upload_id": upload})).await;
    post("/v1/chat/store/session/close/", &store, json!({})).await;
    // Its transcript by mail, whose link unsubscribes the store: shown, then taken.
    let (status, queued) = post_json(&url("/v1/chat/store/session/transcript/"), Some(&store), &json!({})).await;
    assert_eq!(status, 202, "{queued}");
    let transcript = mailbox.wait_for("store@example.com", 1).await;
    let link = header(&transcript[0], "List-Unsubscribe").unwrap().trim_matches(['<', '>']).to_owned();
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 200);
    assert_eq!(reqwest::Client::new().post(&link).send().await.unwrap().status(), 200);
    // Opened over the socket, then closed from the queue by an admin: the stores behind it
    // move up.
    store_ws.send(json!({"action": "send_message", "content": "by socket"})).await;
    store_ws.drain().await;
    let (_, current) = get_json(&url("/v1/chat/store/session/current/"), Some(&store)).await;
    post("/v1/chat/admin/session/close/", &sarah, json!({"session_id": current["session"]["id"]})).await;
    // Pushes to a connection that went away: every pushing function may have to forget one.
    let table = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    for principal in [Principal::Store(TECH_STORE), Principal::Admin(SARAH)] {
        let ghost =
            Connection::new(format!("ghost-{principal:?}"), principal, TokenHash::of("ghost"), Timestamp::now());
        e2e::stack::record_connection(&table, &ghost).await;
    }
    // An admin connecting for the first time is told to the team, ghosts included.
    let omar_ws = Client::connect(&gateway, Some(&token_of_admin(OMAR))).await.unwrap();
    // Frames on connections whose token no longer resolves: each action closes its own.
    let quiet = token_of_store(QUIET_STORE);
    let mut revoked = Vec::new();
    for _ in 0..5 {
        revoked.push(Client::connect(&gateway, Some(&quiet)).await.unwrap());
    }
    for connection in table.connections_of(Audience::Store(QUIET_STORE), Timestamp::now()).await.unwrap() {
        table.delete_connection(&connection.connection_id).await.unwrap();
    }
    let frames = [
        json!({"action": "send_message", "content": "revoked"}),
        json!({"action": "typing", "state": "on"}),
        json!({"action": "mark_read", "up_to_message_id": 1}),
        json!({"action": "mark_delivered", "up_to_message_id": 1}),
        json!({"action": "ping"}),
    ];
    for (mut client, frame) in revoked.into_iter().zip(frames) {
        client.send(frame).await;
        assert_eq!(client.closed_by_server().await, 1000);
    }
    store_ws.close().await;
    // The desk: the directory; Omar away too, Sarah back with a session (and its file)
    // waiting, which goes to her.
    get_json(&url("/v1/chat/admin/directory/"), Some(&sarah)).await;
    post("/v1/chat/admin/presence/", &token_of_admin(OMAR), json!({"availability": "away"})).await;
    let other = token_of_store(OTHER_STORE);
    post("/v1/chat/store/messages/", &other, json!({"content": "anyone?"})).await;
    let file = upload_png(&gateway, &other, None, PNG).await;
    post("/v1/chat/store/messages/", &other, json!({"upload_id": file})).await;
    post("/v1/chat/admin/presence/", &sarah, json!({"availability": "available"})).await;
    // Sarah leaves with it unanswered: the sweep tells the team, hands it back, and gives
    // it to Omar, available again.
    post("/v1/chat/admin/presence/", &token_of_admin(OMAR), json!({"availability": "available"})).await;
    admin_ws.close().await;
    gateway.invocation_of("$disconnect", 7);
    // A connection whose token expired: the sweep closes it.
    let now = Timestamp::now();
    let expired = Connection::new("expired".into(), Principal::Store(OTHER_STORE), TokenHash::of("expired"), now)
        .until(Some(now.plus_seconds(-1)));
    e2e::stack::record_connection(&table, &expired).await;
    // A conversation closed three days ago, with a file: past its retention, it goes.
    let three_days_ago = now.plus_seconds(-3 * 86_400);
    let ids = table.reserve_message_ids(IdsFor::ActiveSessionOf(QUIET_STORE)).await.unwrap();
    let old = e2e::cast::plain_message(SenderType::Store, QUIET_STORE.0, "long ago");
    let opened = table.open_with_message(QUIET_STORE, ids, old, three_days_ago, SendLimit::NONE).await.unwrap();
    let Opening::Opened { session: old, .. } = opened else { panic!("{opened:?}") };
    table.close_active_session(QUIET_STORE, three_days_ago).await.unwrap();
    let key = format!("sessions/{}/store-7/upload/copy", old.id);
    e2e::files::s3(&gateway)
        .put_object()
        .bucket(e2e::files::BUCKET)
        .key(&key)
        .body(PNG.to_vec().into())
        .send()
        .await
        .unwrap();
    let swept = gateway.run_scheduled("AssignmentSweepFunction").await;
    assert_eq!(swept, json!({"requeued": 1, "assigned": 1, "closed": 1, "away_replies": 0, "expired": 1}));
    // The platform: accounts in bulk, a token minted, listed and revoked, and an admin who
    // holds a session, with an inbox open, deactivated.
    let platform = &gateway;
    let signed = |path: &'static str, body: Value| async move {
        let (status, answer) = Signed::post(path, body).send(platform).await;
        assert!(status < 300, "{path}: {status} {answer}");
        answer
    };
    signed("/v1/platform/stores/", json!({"stores": [{"id": 9000, "name": "New Store", "locale": "en"}]})).await;
    signed("/v1/platform/admins/", json!({"admins": [{"id": 9500, "name": "Paula", "capacity": 2}]})).await;
    let minted = signed("/v1/platform/tokens/", json!({"store_id": 9000})).await;
    // A receiver nobody runs: the deliveries of the events that follow die there.
    let hook = signed("/v1/platform/webhooks/", json!({"url": "http://127.0.0.1:9/gone", "event_types": ["*"]})).await;
    let (status, _) = Signed::get("/v1/platform/tokens/?store_id=9000").send(&gateway).await;
    assert_eq!(status, 200);
    let new_store_ws = Client::connect(&gateway, minted["token"].as_str()).await.unwrap();
    signed("/v1/platform/tokens/revoke/", json!({"token_id": minted["token_id"]})).await;
    assert_eq!(new_store_ws.closed_by_server().await, 1000);
    let paula = signed("/v1/platform/tokens/", json!({"admin_id": 9500})).await;
    let paula = paula["token"].as_str().unwrap();
    post("/v1/chat/admin/presence/", &token_of_admin(OMAR), json!({"availability": "away"})).await;
    // Out of hours (the team has none this week): what the store is told, and the away reply.
    let (status, answer) =
        Signed::put("/v1/platform/hours/", json!({"hours": {"time_zone": "UTC", "week": {}}})).send(&gateway).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(Signed::get("/v1/platform/hours/").send(&gateway).await.0, 200);
    let (status, told) = get_json(&url("/v1/chat/store/availability/"), Some(&store)).await;
    assert_eq!((status, &told["within_hours"]), (200, &json!(false)), "{told}");
    let waiting = post("/v1/chat/store/messages/", &store, json!({"content": "for Paula"})).await;
    let (_, page) = get_json(&url("/v1/chat/store/messages/?after=0"), Some(&store)).await;
    assert!(page["messages"].as_array().unwrap().iter().any(|m| m["automatic"] == true), "{page}");
    assert_eq!(Signed::put("/v1/platform/hours/", json!({"hours": null})).send(&gateway).await.0, 200);
    post("/v1/chat/admin/session/claim/", paula, json!({"session_id": waiting["session_id"]})).await;
    // Dead, then replayed.
    let hook_id = hook["webhook"]["id"].as_str().unwrap().to_owned();
    let log = format!("/v1/platform/webhooks/deliveries/?webhook_id={hook_id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, answer) = Signed::get(&log).send(&gateway).await;
        assert_eq!(status, 200, "{answer}");
        if answer["deliveries"].as_array().unwrap().iter().any(|d| d["status"] == "dead") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no delivery died in time: {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let replayed = Signed::post("/v1/platform/webhooks/replay/", json!({"webhook_id": hook_id})).send(&gateway).await;
    assert!(replayed.1["replayed"].as_u64() > Some(0), "{replayed:?}");
    assert_eq!(Signed::get("/v1/platform/webhooks/").send(&gateway).await.0, 200);
    signed("/v1/platform/webhooks/delete/", json!({"webhook_id": hook_id})).await;
    let paula_ws = Client::connect(&gateway, Some(paula)).await.unwrap();
    signed("/v1/platform/deactivate/", json!({"admins": [9500]})).await;
    assert_eq!(paula_ws.closed_by_server().await, 1000);
    omar_ws.close().await;
    // The store's data handed over, then erased: last, as it ends the store (its sessions,
    // their files and notes, its connections, then the store).
    let exported = Signed::post("/v1/platform/stores/export/", json!({"store_id": TECH_STORE})).send(platform).await;
    assert!(exported.0 == 200 && exported.1["files"].as_u64() > Some(0), "{exported:?}");
    let tech_ws = Client::connect(&gateway, Some(&store)).await.unwrap();
    let erased = Signed::post("/v1/platform/stores/erase/", json!({"store_id": TECH_STORE})).send(platform).await;
    assert_eq!(erased.0, 200, "{}", erased.1);
    assert!(erased.1["files"].as_u64() > Some(0), "{}", erased.1);
    assert_eq!(tech_ws.closed_by_server().await, 1000);

    let template = sam_template::Template::embedded();
    let mut binary_of: BTreeMap<String, String> =
        template.http_routes().unwrap().into_iter().map(|r| (r.route_key(), r.binary)).collect();
    binary_of.extend(template.websocket_routes().unwrap().into_iter().map(|r| (r.route_key, r.binary)));
    binary_of.extend(template.scheduled_functions().unwrap().into_iter().map(|s| ("schedule".to_owned(), s.binary)));
    binary_of
        .extend(template.stream_functions().unwrap().into_iter().map(|s| (format!("stream {}", s.binary), s.binary)));
    binary_of
        .extend(template.queue_functions().unwrap().into_iter().map(|q| (format!("queue {}", q.binary), q.binary)));
    let mut uses: BTreeMap<String, Use> = BTreeMap::new();
    // $disconnect of the last closed client is the last invocation.
    gateway.invocation_of("$disconnect", 10);
    for line in gateway.invocations() {
        let binary = &binary_of[line["route"].as_str().unwrap()];
        let used = uses.entry(binary.clone()).or_default();
        let actions = line["dynamodb_actions"].as_str().unwrap();
        used.actions.extend(actions.split_whitespace().map(str::to_owned));
        used.s3_actions.extend(line["s3_actions"].as_str().unwrap().split_whitespace().map(str::to_owned));
        used.pushed |= line["pushes"].as_u64().unwrap() > 0;
        used.disconnected |= line["disconnects"].as_u64().unwrap() > 0;
        used.read_secret |= line["secret_reads"].as_u64().unwrap() > 0;
        used.put_events |= line["event_puts"].as_u64().unwrap() > 0;
        used.sent_email |= line["emails_sent"].as_u64().unwrap() > 0;
        used.queue_actions.extend(line["queue_actions"].as_str().unwrap().split_whitespace().map(str::to_owned));
    }
    uses
}

/// What follows `prefix` in those of `items` that start with it.
fn with_prefix<'a>(items: impl Iterator<Item = &'a String>, prefix: &str) -> BTreeSet<String> {
    items.filter_map(|item| item.strip_prefix(prefix)).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_policy_allows_exactly_what_its_function_does() {
    let uses = exercise().await;
    let policies = policies();
    let routes = sam_template::Template::embedded().http_routes().unwrap();
    let http: BTreeSet<String> = routes.into_iter().map(|route| route.binary).collect();
    let streams = sam_template::Template::embedded().stream_functions().unwrap();
    let streamed: BTreeSet<String> = streams.into_iter().map(|stream| stream.binary).collect();
    let queues = sam_template::Template::embedded().queue_functions().unwrap();
    let queued: BTreeSet<String> = queues.into_iter().map(|queue| queue.binary).collect();
    assert_eq!(uses.keys().collect::<Vec<_>>(), policies.keys().collect::<Vec<_>>(), "every function ran");
    let mut wrong = Vec::new();
    for (binary, statements) in &policies {
        let used = &uses[binary];
        let allowed = with_prefix(statements.iter().flat_map(|s| s.actions.iter()), "dynamodb:");
        let indexes = with_prefix(statements.iter().flat_map(|s| s.resources.iter()), "${ChatTable.Arn}/index/");
        let mut needed: BTreeSet<String> = BTreeSet::new();
        let mut queried: BTreeSet<String> = BTreeSet::new();
        for action in &used.actions {
            match action.split_once(':') {
                Some((action, index)) => {
                    needed.insert(action.to_owned());
                    queried.insert(index.to_owned());
                }
                None => {
                    needed.insert(action.clone());
                }
            }
        }
        // The stream's records are read with the role of the function they are handed to.
        if streamed.contains(binary) {
            needed.extend(STREAM_ACTIONS.iter().map(|action| action.trim_start_matches("dynamodb:").to_owned()));
        }
        // A pushing function forgets the connections API Gateway says are gone.
        if used.pushed {
            needed.insert("DeleteItem".to_owned());
        }
        // Every HTTP function but the platform's (signed, with no token) and `$connect` look
        // tokens up; in one gateway process the functions share the token cache, so a lookup
        // may have happened in another.
        let takes_tokens = !binary.starts_with("platform-")
            && binary != "email-unsubscribe"
            && !streamed.contains(binary)
            && !queued.contains(binary);
        if (!binary.starts_with("ws-") || binary == "ws-connect") && takes_tokens {
            needed.insert("GetItem".to_owned());
        }
        // The routes a token opens may have to verify a platform's HS256 JWT: the secret,
        // read once per instance, was read by one of them in the shared process.
        // A mail's unsubscribe link is its own credential.
        let token_free = binary.starts_with("platform-") || binary == "email-unsubscribe";
        let verifies_tokens = binary == "ws-connect" || (http.contains(binary) && !token_free);
        let reads_secret = statements.iter().any(|s| s.actions.iter().any(|a| a == "secretsmanager:GetSecretValue"));
        if reads_secret != verifies_tokens || (used.read_secret && !reads_secret) {
            wrong.push(format!("{binary}: reads the HS256 secret {reads_secret}, verifies tokens {verifies_tokens}"));
        }
        if allowed != needed {
            wrong.push(format!("{binary}: allows {allowed:?}, needs {needed:?}"));
        }
        // `GetObject:sessions`: an action on the objects under a prefix.
        let mut s3_allowed = BTreeSet::new();
        for statement in statements {
            let prefixes = with_prefix(statement.resources.iter(), "${AttachmentsBucket.Arn}/");
            for action in with_prefix(statement.actions.iter(), "s3:") {
                s3_allowed.extend(prefixes.iter().map(|prefix| format!("{action}:{}", prefix.trim_end_matches("/*"))));
            }
        }
        if s3_allowed != used.s3_actions {
            wrong.push(format!("{binary}: allows S3 {s3_allowed:?}, needs {:?}", used.s3_actions));
        }
        if indexes != queried {
            wrong.push(format!("{binary}: index resources {indexes:?}, queries {queried:?}"));
        }
        let manages = statements.iter().any(|s| s.actions.iter().any(|a| a == "execute-api:ManageConnections"));
        if manages != (used.pushed || used.disconnected) {
            wrong.push(format!("{binary}: ManageConnections {manages}, pushes {}", used.pushed));
        }
        let allows = |wanted: &str| statements.iter().any(|s| s.actions.iter().any(|a| a == wanted));
        if allows("events:PutEvents") != used.put_events {
            wrong.push(format!("{binary}: PutEvents {}, puts events {}", allows("events:PutEvents"), used.put_events));
        }
        if allows("ses:SendEmail") != used.sent_email {
            wrong.push(format!("{binary}: SendEmail {}, sends mail {}", allows("ses:SendEmail"), used.sent_email));
        }
        // SQS: what its requests needed, the mapping's reads of a queue it is on, and the
        // stream mapping's on-failure destination.
        let sqs_allowed = with_prefix(statements.iter().flat_map(|s| s.actions.iter()), "sqs:");
        let mut sqs_needed = used.queue_actions.clone();
        if queued.contains(binary) {
            sqs_needed.extend(QUEUE_ACTIONS.map(str::to_owned));
        }
        if streamed.contains(binary) {
            sqs_needed.insert("SendMessage".to_owned());
        }
        // A digest due in the next quarter hour is queued again for then: a path a run
        // cannot time (`digest_due`'s unit tests and the email tests show it).
        if binary == "email-jobs" {
            sqs_needed.insert("SendMessage".to_owned());
        }
        if sqs_allowed != sqs_needed {
            wrong.push(format!("{binary}: allows SQS {sqs_allowed:?}, needs {sqs_needed:?}"));
        }
        let closes = statements.iter().flat_map(|s| s.resources.iter()).any(|r| r.contains("/DELETE/@connections/"));
        if closes != used.disconnected {
            wrong.push(format!("{binary}: DELETE on @connections {closes}, closes {}", used.disconnected));
        }
    }
    assert!(uses.values().any(|used| used.read_secret), "a function read the HS256 secret");
    assert!(uses.values().any(|used| used.put_events), "a function put events on the bus");
    assert!(uses.values().any(|used| used.sent_email), "a function sent mail");
    assert!(wrong.is_empty(), "policies that are not least privilege:\n{}", wrong.join("\n"));
}
