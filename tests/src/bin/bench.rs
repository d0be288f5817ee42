//! Speed, measured side by side in one run, on DynamoDB Local, through the local gateway with
//! keep-alive clients. Prints markdown tables; stops only if a request fails.
//!
//! - **Routes against their floor.** Each main route is timed against the same DynamoDB
//!   requests, in the same round trips, sent straight through the SDK: what the route would
//!   cost if the code around the requests were free. Route and floor take turns request by
//!   request, so both see the same machine; a ratio is route p50 / floor p50 of one run. The
//!   route is called over one kept-alive hyper connection, the thinnest client there is.
//! - **CPU per request** of each route in the gateway against the floor client's.
//! - **Sends per second**, by 1, 4 and 16 senders, into different sessions and into one, with
//!   the DynamoDB requests per send the invocation logs show.
//! - **A send's latency by who is connected**: nobody, 1,000 idle connections of others, the
//!   recipient.
//! - **A team**: automatic assignment's latency, and one queue change fanned out to 100 and
//!   1,000 admin inboxes.
//! - **Events out**: events per second through the stream (or the embedded store's feed) and
//!   the delivery queue to a webhook receiver, and the lag from commit to receiver.
//! - **Reports**: a report of 90 days read through the route, with a team's figures for
//!   every day of them, before and after a thousand more conversations.
//! - **Cold start** of functions (until the first poll of the Runtime API).
//! - **`--lambda` mode** against the linked-in gateway: start-up, first requests, p50s.
//! - **Instructions per request** in a gateway run by callgrind, repeatable whatever the load.
//!
//! `cargo build --release --workspace --bins && target/release/bench [section…]`, the sections
//! being those of [`SECTIONS`] (all by default).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use e2e::cast::{SARAH, TECH_STORE, seed, token_of_admin, token_of_store};
use e2e::gateway::Gateway;
use e2e::runtime_api::{Phase, RuntimeApi, function_command};
use e2e::stack::{dynamodb, fresh_table, message_ids_taken};
use e2e::ws::Client as WebSocket;
use futures::StreamExt;
use futures::future::join_all;
use serde_json::{Value, json};
use shared::Timestamp;
use shared::domain::{AdminId, Connection, Principal, StoreId, StoreProfile, TokenHash};
use shared::storage::{DynamoStore, IdentityStore};

const RUNS: usize = 3;
const REQUESTS: usize = 300;
const COLD_STARTS: usize = 5;
/// Sends per sender in the throughput runs.
const SENDS_EACH: usize = 25;
/// Sends per connection state (few enough for a client that does not read its events).
const SENDS_BY_CONNECTION: usize = 100;
/// The session the floor writes to: its own partition, so that its ids do not meet the
/// route's.
const FLOOR_SESSION: &str = "SESSION#4000000000";

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// p50 and p95 of `samples`.
fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.95))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// CPU time a process has used so far (all its threads), from `/proc`.
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc is readable");
    // Fields after the command name (which may hold spaces): utime and stime are the 12th
    // and 13th, in clock ticks of 1/100 s.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("a stat line").1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// The gateway on a fresh table with the cast, a session of Tech Store claimed by Sarah
/// holding 200 messages, and the SDK client the floors use.
struct Stage {
    gateway: Gateway,
    /// A gateway running each function as its own processes (`--lambda`), on the same table.
    lambda: Option<Gateway>,
    /// Whether requests go to [`Self::lambda`].
    via_lambda: std::sync::atomic::AtomicBool,
    http: reqwest::Client,
    db: aws_sdk_dynamodb::Client,
    store: DynamoStore,
    table: String,
    store_token: String,
    admin_token: String,
    session: u64,
    /// A message id 20 below the newest: a fetch after it returns 20.
    twenty_back: u64,
    floor_ids: std::sync::atomic::AtomicU64,
    /// Tokens of 16 more stores, each with an open session: the senders into different
    /// sessions, and what fills the admins' session list, whichever sections run.
    other_stores: Vec<String>,
}

/// One kept-alive HTTP/1.1 connection, hyper's own: the thinnest client there is, so that a
/// route's time is the gateway's and not the client's.
struct Direct {
    host: String,
    sender: tokio::sync::Mutex<hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>>,
}

impl Direct {
    async fn open(base: &str) -> Direct {
        let host = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        Direct { host, sender: tokio::sync::Mutex::new(sender) }
    }

    async fn exchange(
        &self,
        method: http::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> hyper::body::Bytes {
        use http_body_util::BodyExt;
        let body = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, &self.host)
            .header(http::header::AUTHORIZATION, format!("Token {token}"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .unwrap();
        let mut sender = self.sender.lock().await;
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(status.is_success(), "{status} {}", String::from_utf8_lossy(&body));
        body
    }
}

impl Stage {
    async fn new() -> Stage {
        let table = fresh_table().await;
        let endpoint = dynamodb().endpoint();
        let store = DynamoStore::new(DynamoStore::local_client(&endpoint), &table);
        seed().load_into(&store).await.unwrap();
        let db = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .endpoint_url(&endpoint)
                .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("l", "l", None, None, "l"))
                .build(),
        );
        let mut stage = Stage {
            gateway: Gateway::start_on_dynamodb(&table),
            lambda: None,
            via_lambda: false.into(),
            http: reqwest::Client::new(),
            db,
            store,
            table,
            store_token: token_of_store(TECH_STORE),
            admin_token: token_of_admin(SARAH),
            session: 0,
            twenty_back: 0,
            floor_ids: 1.into(),
            other_stores: Vec::new(),
        };
        stage.other_stores = load_stores(&stage, 16).await;
        let opened = stage.get("/v1/chat/store/session/", &stage.store_token).await;
        stage.session = opened["id"].as_u64().unwrap();
        stage.post("/v1/chat/admin/session/claim/", &stage.admin_token, json!({"session_id": stage.session})).await;
        let mut ids = Vec::new();
        for i in 0..200 {
            let body = json!({"content": format!("Message {i} of the conversation, of a typical length.")});
            ids.push(stage.post("/v1/chat/store/messages/", &stage.store_token, body).await["id"].as_u64().unwrap());
        }
        stage.twenty_back = ids[ids.len() - 21];
        // The floor's own session item: a copy of the real one, under another key.
        let mut item = stage.get_item(format!("SESSION#{}", stage.session), "SESSION").await;
        item.insert("PK".into(), s(FLOOR_SESSION));
        stage.db.put_item().table_name(&stage.table).set_item(Some(item)).send().await.unwrap();
        stage
    }

    /// Sends `request` and returns the body, unread: a client that only passes it on (as
    /// API Gateway does) pays nothing to parse it, and neither does the floor.
    async fn exchange(&self, request: reqwest::RequestBuilder, token: &str) -> impl AsRef<[u8]> + use<> {
        let response = request.header("Authorization", format!("Token {token}")).send().await.unwrap();
        let status = response.status();
        let body = response.bytes().await.unwrap();
        assert!(status.is_success(), "{status} {}", String::from_utf8_lossy(&body));
        body
    }

    fn url(&self, path: &str) -> String {
        match &self.lambda {
            Some(lambda) if self.via_lambda.load(std::sync::atomic::Ordering::Relaxed) => lambda.url(path),
            _ => self.gateway.url(path),
        }
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        serde_json::from_slice(self.exchange(self.http.get(self.url(path)), token).await.as_ref()).unwrap()
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        serde_json::from_slice(self.exchange(self.http.post(self.url(path)).json(&body), token).await.as_ref()).unwrap()
    }

    fn go_via_lambda(&self, yes: bool) {
        self.via_lambda.store(yes, std::sync::atomic::Ordering::Relaxed);
    }

    async fn get_item(&self, pk: String, sk: &str) -> HashMap<String, AttributeValue> {
        let output = self
            .db
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        output.item.expect("the item exists")
    }

    async fn query(&self, pk: String, from: String, to: String, descending: bool, limit: i32) {
        self.db
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .scan_index_forward(!descending)
            .limit(limit)
            .consistent_read(true)
            .send()
            .await
            .unwrap();
    }

    async fn index_query(&self, index: &str, key_name: &str, key: String, limit: i32) {
        self.db
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{key_name} = :key"))
            .expression_attribute_values(":key", s(key))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .unwrap();
    }

    /// The live-connection lookups a send makes: the store's, and its admin's.
    async fn connection_lookups(&self) {
        let now = n(Timestamp::now().unix_seconds());
        let store = self
            .db
            .query()
            .table_name(&self.table)
            .index_name("ByPrincipal")
            .key_condition_expression("PrincipalPK = :key")
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":key", s(format!("STORE#{TECH_STORE}")))
            .expression_attribute_values(":now", now.clone())
            .send();
        let admin = self
            .db
            .query()
            .table_name(&self.table)
            .index_name("ByPrincipal")
            .key_condition_expression("PrincipalPK = :key AND begins_with(PrincipalSK, :prefix)")
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":key", s("ADMINS"))
            .expression_attribute_values(":prefix", s(format!("ADMIN#{SARAH}#")))
            .expression_attribute_values(":now", now)
            .send();
        let (store, admin) = tokio::join!(store, admin);
        store.unwrap();
        admin.unwrap();
    }

    /// A send's place in its session's order: one `ADD` on a places item of the floor's own.
    async fn take_place(&self) {
        let add = self.db.update_item().table_name(&self.table).key("PK", s(FLOOR_SESSION)).key("SK", s("IDS"));
        let add = add.update_expression("ADD taken :one").expression_attribute_values(":one", n(1));
        add.return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew).send().await.unwrap();
    }

    /// A send's transaction, as large as the route's: the session updated on its
    /// conditions, the message put.
    async fn send_transaction(&self) {
        let id = self.floor_ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now = Timestamp::now().to_string();
        let message = json!({
            "id": id, "session_id": 4_000_000_000u64, "sender_type": "store", "sender_id": 5,
            "content": "Message of the conversation, of a typical length.", "attachment_url": "",
            "attachment_type": "", "created": now, "client_message_id": null,
        });
        let message_attribute: AttributeValue = serde_dynamo::to_attribute_value(&message).unwrap();
        let mut message_item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&message).unwrap();
        message_item.insert("PK".into(), s(FLOOR_SESSION));
        message_item.insert("SK".into(), s(format!("MSG#{id:020}")));
        let update = Update::builder()
            .table_name(&self.table)
            .key("PK", s(FLOOR_SESSION))
            .key("SK", s("SESSION"))
            .update_expression(
                "SET last_message_id = :id, last_store_message_id = :id, last_message_at = :at, updated = :at, \
                 ActivityKey = :key, last_message = :message ADD store_message_count :one",
            )
            .condition_expression("attribute_exists(PK) AND #status <> :closed AND last_message_at <= :at")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":id", n(id))
            .expression_attribute_values(":at", s(&now))
            .expression_attribute_values(":key", s(format!("{now}#{id:020}")))
            .expression_attribute_values(":message", message_attribute)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":closed", s("closed"))
            .build()
            .unwrap();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(message_item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .unwrap();
        self.db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await
            .unwrap();
    }
}

/// The invocation log lines of `route` from the `after`th on, once `count` more are logged.
fn lines_of(gateway: &Gateway, route: &str, after: usize, count: usize) -> Vec<Value> {
    gateway.invocation_of(route, after + count);
    gateway.invocations().into_iter().filter(|line| line["route"] == route).skip(after).take(count).collect()
}

/// How many invocations of `route` the gateway has logged.
fn logged(gateway: &Gateway, route: &str) -> usize {
    gateway.invocations().iter().filter(|line| line["route"] == route).count()
}

/// A main route and its floor.
#[derive(Clone, Copy)]
enum Case {
    AdminView,
    StoreFetchAfter,
    AdminList,
    StoreSend,
    AdminSend,
}

impl Case {
    const ALL: [Case; 5] = [Case::AdminView, Case::StoreFetchAfter, Case::AdminList, Case::StoreSend, Case::AdminSend];

    fn name(self) -> &'static str {
        match self {
            Case::AdminView => "admin GET session (200 messages)",
            Case::StoreFetchAfter => "store GET messages after (20 messages)",
            Case::AdminList => "admin GET sessions",
            Case::StoreSend => "store POST message",
            Case::AdminSend => "admin POST message",
        }
    }

    /// The route key its invocations log.
    fn route_key(self) -> &'static str {
        match self {
            Case::AdminView => "GET /v1/chat/admin/session/",
            Case::StoreFetchAfter => "GET /v1/chat/store/messages/",
            Case::AdminList => "GET /v1/chat/admin/sessions/",
            Case::StoreSend => "POST /v1/chat/store/messages/",
            Case::AdminSend => "POST /v1/chat/admin/messages/",
        }
    }

    /// The route's request: method, path and query, token, body.
    fn request(self, stage: &Stage) -> (http::Method, String, &str, Option<Value>) {
        let session = stage.session;
        let content = "Message of the conversation, of a typical length.";
        match self {
            Case::AdminView => {
                (http::Method::GET, format!("/v1/chat/admin/session/?session_id={session}"), &stage.admin_token, None)
            }
            Case::StoreFetchAfter => (
                http::Method::GET,
                format!("/v1/chat/store/messages/?after={}", stage.twenty_back),
                &stage.store_token,
                None,
            ),
            Case::AdminList => {
                (http::Method::GET, "/v1/chat/admin/sessions/?limit=20".into(), &stage.admin_token, None)
            }
            Case::StoreSend => (
                http::Method::POST,
                "/v1/chat/store/messages/".into(),
                &stage.store_token,
                Some(json!({"content": content})),
            ),
            Case::AdminSend => (
                http::Method::POST,
                "/v1/chat/admin/messages/".into(),
                &stage.admin_token,
                Some(json!({"session_id": session, "content": content})),
            ),
        }
    }

    /// Runs the route through the shared client (either gateway, many requests at once).
    async fn route(self, stage: &Stage) {
        let (method, path, token, body) = self.request(stage);
        let mut request = stage.http.request(method, stage.url(&path));
        if let Some(body) = &body {
            request = request.json(body);
        }
        stage.exchange(request, token).await;
    }

    /// Runs the route over `direct`.
    async fn route_over(self, stage: &Stage, direct: &Direct) {
        let (method, path, token, body) = self.request(stage);
        direct.exchange(method, &path, token, body.as_ref()).await;
    }

    /// The route's DynamoDB requests in its round trips (see docs/architecture.md, "Access patterns").
    async fn floor(self, stage: &Stage) {
        let session = format!("SESSION#{}", stage.session);
        match self {
            Case::AdminView => stage.query(session, "MSG#".into(), "SESSION".into(), true, 201).await,
            Case::StoreFetchAfter => {
                stage.get_item(format!("STORE#{TECH_STORE}"), "ACTIVE").await;
                let from = format!("MSG#{:020}", stage.twenty_back + 1);
                let to = format!("MSG#{:020}", u64::MAX);
                tokio::join!(stage.get_item(session.clone(), "SESSION"), stage.query(session, from, to, false, 201));
            }
            Case::AdminList => {
                let keys = ["OPEN".to_owned(), format!("ADMIN#{SARAH}#claimed"), format!("ADMIN#{SARAH}#closed")]
                    .into_iter()
                    .map(|sk| HashMap::from([("PK".to_owned(), s("COUNTS")), ("SK".to_owned(), s(sk))]))
                    .collect();
                let counts = KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().unwrap();
                let counts = stage.db.batch_get_item().request_items(&stage.table, counts).send();
                let (_, _, counts) = tokio::join!(
                    stage.index_query("OpenQueue", "QueuePK", "OPEN".into(), 21),
                    stage.index_query("ByAdmin", "AdminPK", format!("ADMIN#{SARAH}"), 21),
                    counts,
                );
                counts.unwrap();
            }
            Case::StoreSend => {
                tokio::join!(
                    stage.get_item(format!("STORE#{TECH_STORE}"), "ACTIVE"),
                    stage.take_place(),
                    stage.get_item(session, "SESSION")
                );
                tokio::join!(stage.send_transaction(), stage.connection_lookups());
                stage.connection_lookups().await;
            }
            Case::AdminSend => {
                tokio::join!(stage.get_item(session, "SESSION"), stage.take_place());
                tokio::join!(stage.send_transaction(), stage.connection_lookups());
                stage.connection_lookups().await;
            }
        }
    }
}

async fn routes_against_their_floor(stage: &Stage) {
    println!("Routes against their floor on DynamoDB Local ({RUNS} runs x {REQUESTS} requests each, taking turns;");
    println!("medians of the runs; `handler` is the invocation's own `latency_ms`, without the HTTP hop)\n");
    println!(
        "| route | route p50 | route p95 | handler p50 | floor p50 | floor p95 | route / floor p50 (min-max) | handler / floor p50 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let direct = Direct::open(&stage.gateway.url("")).await;
    for case in Case::ALL {
        let (mut routes, mut floors, mut handlers) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ratios, mut handler_ratios) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (mut route, mut floor) = (Vec::with_capacity(REQUESTS), Vec::with_capacity(REQUESTS));
            let before = logged(&stage.gateway, case.route_key());
            for _ in 0..REQUESTS {
                let started = Instant::now();
                case.route_over(stage, &direct).await;
                route.push(started.elapsed());
                let started = Instant::now();
                case.floor(stage).await;
                floor.push(started.elapsed());
            }
            let handler: Vec<Duration> = lines_of(&stage.gateway, case.route_key(), before, REQUESTS)
                .iter()
                .map(|line| Duration::from_secs_f64(line["latency_ms"].as_f64().unwrap() / 1000.0))
                .collect();
            let (route, floor, handler) = (percentiles(route), percentiles(floor), percentiles(handler));
            ratios.push(route.0.as_secs_f64() / floor.0.as_secs_f64());
            handler_ratios.push(handler.0.as_secs_f64() / floor.0.as_secs_f64());
            routes.push(route);
            floors.push(floor);
            handlers.push(handler);
        }
        let at = |runs: &[(Duration, Duration)], p95: bool| {
            median(runs.iter().map(|(p50, high)| millis(if p95 { *high } else { *p50 })).collect())
        };
        let (low, high) = ratios.iter().fold((f64::MAX, 0f64), |(l, h), r| (l.min(*r), h.max(*r)));
        println!(
            "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2}x ({low:.2}-{high:.2}) | {:.2}x |",
            case.name(),
            at(&routes, false),
            at(&routes, true),
            at(&handlers, false),
            at(&floors, false),
            at(&floors, true),
            median(ratios.clone()),
            median(handler_ratios),
        );
    }
}

/// CPU per request: the gateway's for each route (its whole process: HTTP, handler, SDK)
/// against the floor client's for the same requests.
async fn cpu_per_request(stage: &Stage) {
    println!("\nCPU per request ({RUNS} runs x {REQUESTS}, medians; /proc, 10 ms ticks)\n");
    println!("| route | gateway | floor client | ratio |");
    println!("|---|---|---|---|");
    let (gateway, me) = (stage.gateway.pid(), std::process::id());
    for case in Case::ALL {
        let (mut routes, mut floors) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let before = cpu_of(gateway);
            for _ in 0..REQUESTS {
                case.route(stage).await;
            }
            routes.push(millis(cpu_of(gateway) - before) / REQUESTS as f64);
            let before = cpu_of(me);
            for _ in 0..REQUESTS {
                case.floor(stage).await;
            }
            floors.push(millis(cpu_of(me) - before) / REQUESTS as f64);
        }
        let ratios = routes.iter().zip(&floors).map(|(route, floor)| route / floor).collect();
        let (route, floor) = (median(routes), median(floors));
        println!("| {} | {route:.2} ms | {floor:.2} ms | {:.2}x |", case.name(), median(ratios));
    }
}

/// Store tokens of `count` stores that each send into their own session.
async fn load_stores(stage: &Stage, count: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for i in 0..count {
        let id = StoreId(3000 + i as u64);
        let profile = StoreProfile { id, name: format!("Load {i}"), logo_url: String::new(), email: String::new() };
        stage.store.put_store(&profile).await.unwrap();
        let token = token_of_store(id);
        stage.store.put_token(&TokenHash::of(&token), Principal::Store(id)).await.unwrap();
        stage.get("/v1/chat/store/session/", &token).await;
        tokens.push(token);
    }
    tokens
}

async fn sends_per_second(stage: &Stage) {
    let different = &stage.other_stores;
    println!("\nSends per second ({SENDS_EACH} sends per sender; requests per send from the invocation logs)\n");
    println!("| senders | into | sends/s | DynamoDB requests per send (own + live delivery) |");
    println!("|---|---|---|---|");
    for senders in [1, 4, 16] {
        for (into, tokens) in [
            ("different sessions", different[..senders].to_vec()),
            ("one session", vec![stage.store_token.clone(); senders]),
        ] {
            const SEND: &str = "POST /v1/chat/store/messages/";
            let before = logged(&stage.gateway, SEND);
            let started = Instant::now();
            join_all(tokens.iter().map(|token| async move {
                for i in 0..SENDS_EACH {
                    stage.post("/v1/chat/store/messages/", token, json!({"content": format!("load {i}")})).await;
                }
            }))
            .await;
            let took = started.elapsed();
            let sends = senders * SENDS_EACH;
            let calls = lines_of(&stage.gateway, SEND, before, sends);
            let requests: u64 = calls.iter().map(|line| line["dynamodb_calls"].as_u64().unwrap()).sum();
            println!(
                "| {senders} | {into} | {:.0} | {:.2} |",
                sends as f64 / took.as_secs_f64(),
                requests as f64 / sends as f64
            );
        }
    }
}

/// 160 sends into one session through the gateway in `--lambda` (each instance its own
/// process, as in AWS), 2, 4 and 16 at a time: the ids each message used, the transactions
/// each send tried, the counter's writes, and the pace.
async fn sends_racing_across_instances(stage: &Stage) {
    const SENDS: usize = 160;
    let gateway = Gateway::start_as_lambda(&stage.table, &["--max-instances", "16"]);
    println!("\nSends racing into one session across instances (--lambda, up to 16 instances; {SENDS} sends each)\n");
    println!(
        "| in flight | ids taken per message | transaction attempts per send | counter writes | sends/s | p50 | p95 |"
    );
    println!("|---|---|---|---|---|---|---|");
    const SEND: &str = "POST /v1/chat/store/messages/";
    let url = gateway.url("/v1/chat/store/messages/");
    let http = reqwest::Client::new();
    for (in_flight, store) in [2usize, 4, 16].into_iter().zip(&stage.other_stores) {
        http.post(&url)
            .header("Authorization", format!("Token {store}"))
            .json(&json!({"content": "hi"}))
            .send()
            .await
            .unwrap();
        let before = logged(&gateway, SEND);
        let ids_before = message_ids_taken(&stage.table).await;
        let started = Instant::now();
        let sends = (0..SENDS).map(|i| {
            let request = http.post(&url).header("Authorization", format!("Token {store}"));
            async move {
                let started = Instant::now();
                let answer: Value =
                    request.json(&json!({"content": format!("m{i}")})).send().await.unwrap().json().await.unwrap();
                assert!(answer["id"].is_u64(), "{answer}");
                started.elapsed()
            }
        });
        let sent: Vec<Duration> = futures::stream::iter(sends).buffer_unordered(in_flight).collect().await;
        let took = started.elapsed();
        let lines = lines_of(&gateway, SEND, before, SENDS);
        let attempts: u64 = lines.iter().map(|line| line["transaction_attempts"].as_u64().unwrap()).sum();
        let (p50, p95) = percentiles(sent);
        // Every id the counter handed out meanwhile went to this session's sends.
        let ids_taken = message_ids_taken(&stage.table).await - ids_before;
        println!(
            "| {in_flight} | {:.2} | {:.2} | {} | {:.0} | {:.0} ms | {:.0} ms |",
            ids_taken as f64 / SENDS as f64,
            attempts as f64 / SENDS as f64,
            ids_taken / 16,
            SENDS as f64 / took.as_secs_f64(),
            millis(p50),
            millis(p95),
        );
    }
}

async fn send_latency_by_who_is_connected(stage: &Stage) {
    println!("\nAn admin's send by who is connected ({SENDS_BY_CONNECTION} sends each)\n");
    println!("| connected | p50 | p95 | round trips (log), min-max |");
    println!("|---|---|---|---|");
    const SEND: &str = "POST /v1/chat/admin/messages/";
    let measure = |label: &'static str| async move {
        let before = logged(&stage.gateway, SEND);
        let mut latencies = Vec::new();
        for _ in 0..SENDS_BY_CONNECTION {
            let started = Instant::now();
            Case::AdminSend.route(stage).await;
            latencies.push(started.elapsed());
        }
        let lines = lines_of(&stage.gateway, SEND, before, SENDS_BY_CONNECTION);
        let round_trips: Vec<u64> = lines.iter().filter_map(|line| line["round_trips"].as_u64()).collect();
        let (low, high) = (round_trips.iter().min().unwrap(), round_trips.iter().max().unwrap());
        let (p50, p95) = percentiles(latencies);
        println!("| {label} | {:.2} ms | {:.2} ms | {low}-{high} |", millis(p50), millis(p95));
    };
    measure("nobody").await;
    let now = Timestamp::now();
    for i in 0..1000u64 {
        let principal =
            if i % 2 == 0 { Principal::Store(StoreId(10_000 + i)) } else { Principal::Admin(AdminId(10_000 + i)) };
        let connection = Connection::new(format!("idle-{i}"), principal, TokenHash::of(&format!("idle-{i}")), now);
        e2e::stack::record_connection(&stage.store, &connection).await;
    }
    measure("1,000 idle connections of others").await;
    let recipient = WebSocket::connect(&stage.gateway, Some(&stage.store_token)).await.unwrap();
    measure("the recipient (and the idle ones)").await;
    recipient.close().await;
}

/// Sessions given automatically in the latency run.
const ASSIGNMENTS: usize = 50;
/// Queue changes per fan-out size.
const FAN_OUTS: usize = 5;

/// Automatic assignment (first message to `session.updated`, claimed, at the admin's inbox)
/// and the fan-out of one queue change to many admin connections.
async fn team(stage: &Stage) {
    let table = fresh_table().await;
    let gateway = Gateway::start_on_dynamodb_with(&table, &["--assignment", "auto"]);
    let admin = e2e::cast::claimers().next().unwrap();
    let mut inbox = WebSocket::connect(&gateway, Some(&token_of_admin(admin))).await.unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, token: String, body: Value| {
        http.post(gateway.url(path)).header("Authorization", format!("Token {token}")).json(&body).send()
    };
    let mut latencies = Vec::new();
    for store in e2e::cast::queue_stores().take(ASSIGNMENTS) {
        let started = Instant::now();
        let sent: Value = post("/v1/chat/store/messages/", token_of_store(store), json!({"content": "hi"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = sent["session_id"].clone();
        loop {
            let event = inbox.next_of("session.updated").await;
            if event["session"]["id"] == session && event["session"]["status"] == "claimed" {
                break;
            }
        }
        latencies.push(started.elapsed());
        post("/v1/chat/admin/session/close/", token_of_admin(admin), json!({"session_id": session})).await.unwrap();
    }
    inbox.close().await;
    let (p50, p95) = percentiles(latencies);
    println!("\nAutomatic assignment (linked-in gateway on DynamoDB Local, {ASSIGNMENTS} sessions, one at a time)\n");
    println!("| first message → `session.updated` (claimed) at the admin's inbox | p50 | p95 |");
    println!("|---|---|---|");
    println!("| one admin available | {:.1} ms | {:.1} ms |", millis(p50), millis(p95));

    println!(
        "\nOne queue change fanned out to many admin inboxes (the session a store opens; {FAN_OUTS} times each)\n"
    );
    println!("| admin connections | answer to the send, p50 | last inbox reached, p50 | last inbox reached, max |");
    println!("|---|---|---|---|");
    let mut inboxes = Vec::new();
    for count in [100usize, 1000] {
        let admins: Vec<AdminId> = e2e::cast::claimers().collect();
        while inboxes.len() < count {
            let admin = admins[inboxes.len() % admins.len()];
            inboxes.push(WebSocket::connect(&stage.gateway, Some(&token_of_admin(admin))).await.unwrap());
        }
        let (mut answers, mut reached) = (Vec::new(), Vec::new());
        for (round, store) in e2e::cast::queue_stores().skip(10 * (count / 1000)).take(FAN_OUTS).enumerate() {
            let started = Instant::now();
            let url = stage.gateway.url("/v1/chat/store/messages/");
            let answer: Value = http
                .post(url)
                .header("Authorization", format!("Token {}", token_of_store(store)))
                .json(&json!({"content": format!("fan-out {round}")}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answers.push(started.elapsed());
            let session = answer["session_id"].clone();
            let arrivals = inboxes.iter_mut().map(|inbox| {
                let session = session.clone();
                async move {
                    loop {
                        let event = inbox.next_of("session.updated").await;
                        if event["session"]["id"] == session {
                            return started.elapsed();
                        }
                    }
                }
            });
            reached.push(join_all(arrivals).await.into_iter().max().unwrap());
            // Closed again, so that the next round's queue change is the only one.
            let close = stage.gateway.url("/v1/chat/store/session/close/");
            http.post(close)
                .header("Authorization", format!("Token {}", token_of_store(store)))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let closes = inboxes.iter_mut().map(|inbox| {
                let session = session.clone();
                async move {
                    loop {
                        let event = inbox.next_of("session.updated").await;
                        if event["session"]["id"] == session && event["session"]["status"] == "closed" {
                            return;
                        }
                    }
                }
            });
            join_all(closes).await;
        }
        let max = *reached.iter().max().unwrap();
        let (answer, _) = percentiles(answers);
        let (last, _) = percentiles(reached);
        println!("| {count} | {:.1} ms | {:.1} ms | {:.1} ms |", millis(answer), millis(last), millis(max));
    }
    for inbox in inboxes {
        inbox.close().await;
    }
}

/// Starts `function` against `table` and returns (time to its first poll, time to answer).
async fn cold_start(function: &str, table: &str, event: Value) -> (Duration, Duration) {
    let mut api = RuntimeApi::start(function).await.expect("a Runtime API");
    let answer = api.invoke(event, Duration::from_secs(30)).await;
    let started = Instant::now();
    let mut child = function_command(function, &api, table)
        .env("LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the function starts");
    assert_eq!(api.started().await, Phase::Ready);
    let init = started.elapsed();
    answer.await.expect("the function answered");
    let answered = started.elapsed();
    let _ = child.start_kill();
    (init, answered)
}

async fn cold_starts(stage: &Stage) {
    println!("\nCold start against DynamoDB Local ({COLD_STARTS} starts each; init = until the first poll)\n");
    println!("| function | init p50 | init max | first answer p50 |");
    println!("|---|---|---|---|");
    for (function, token) in [
        ("store-get-session", &stage.store_token),
        ("admin-list-sessions", &stage.admin_token),
        ("store-send-message", &stage.store_token),
    ] {
        let (mut inits, mut answers) = (Vec::new(), Vec::new());
        for _ in 0..COLD_STARTS {
            let mut event = e2e::stack::recorded_event(function);
            event["headers"]["authorization"] = json!(format!("Token {token}"));
            let (init, answer) = cold_start(function, &stage.table, event).await;
            inits.push(init);
            answers.push(answer);
        }
        let max = *inits.iter().max().unwrap();
        println!(
            "| {function} | {:.1} ms | {:.1} ms | {:.1} ms |",
            millis(percentiles(inits).0),
            millis(max),
            millis(percentiles(answers).0)
        );
    }
}

/// The gateway's `--lambda` mode against its linked-in mode: how long each takes to start,
/// each route's first request (a cold start) and its p50 afterwards, taking turns.
async fn lambda_mode(stage: &mut Stage) {
    let started = Instant::now();
    drop(Gateway::start_on_dynamodb(&stage.table));
    let linked_start = started.elapsed();
    let started = Instant::now();
    stage.lambda = Some(Gateway::start_as_lambda(&stage.table, &[]));
    let lambda_start = started.elapsed();
    println!("\nThe gateway with its functions linked in against --lambda (each its own processes) on DynamoDB Local");
    println!("({RUNS} runs x {REQUESTS} requests each, taking turns; medians of the runs)\n");
    println!(
        "Start until ready: linked {:.0} ms, --lambda {:.0} ms (no instance runs until a request needs it)\n",
        millis(linked_start),
        millis(lambda_start)
    );
    println!(
        "| route | first request, --lambda (cold start) | linked p50 | --lambda p50 | --lambda / linked p50 (min-max) |"
    );
    println!("|---|---|---|---|---|");
    for case in Case::ALL {
        stage.go_via_lambda(true);
        let started = Instant::now();
        case.route(stage).await;
        let first = started.elapsed();
        let (mut linked, mut lambda, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (mut one, mut other) = (Vec::with_capacity(REQUESTS), Vec::with_capacity(REQUESTS));
            for _ in 0..REQUESTS {
                for (via_lambda, samples) in [(false, &mut one), (true, &mut other)] {
                    stage.go_via_lambda(via_lambda);
                    let started = Instant::now();
                    case.route(stage).await;
                    samples.push(started.elapsed());
                }
            }
            let (one, other) = (percentiles(one).0, percentiles(other).0);
            ratios.push(other.as_secs_f64() / one.as_secs_f64());
            linked.push(millis(one));
            lambda.push(millis(other));
        }
        stage.go_via_lambda(false);
        let (low, high) = ratios.iter().fold((f64::MAX, 0f64), |(l, h), r| (l.min(*r), h.max(*r)));
        println!(
            "| {} | {:.1} ms | {:.2} ms | {:.2} ms | {:.2}x ({low:.2}-{high:.2}) |",
            case.name(),
            millis(first),
            median(linked),
            median(lambda),
            median(ratios.clone()),
        );
    }
    stage.lambda = None;
}

/// Instructions per request, counted by callgrind in a gateway it runs: the same whatever
/// the machine's load, so two builds compare exactly.
async fn instructions_per_request(stage: &mut Stage) {
    const COUNTED: usize = 20;
    let out = std::env::temp_dir().join(format!("bench-callgrind-{}", std::process::id()));
    let out_file = format!("--callgrind-out-file={}.%p", out.display());
    stage.gateway = Gateway::start_on_dynamodb_under(&["valgrind", "--tool=callgrind", &out_file], &stage.table);
    let pid = stage.gateway.pid().to_string();
    let control = |flag: &str| {
        let status = std::process::Command::new("callgrind_control").args([flag, &pid]).output().unwrap().status;
        assert!(status.success(), "callgrind_control {flag}");
    };
    println!("\nInstructions per request in the gateway (callgrind, {COUNTED} requests after 5 warm-up ones)\n");
    println!("| route | instructions |");
    println!("|---|---|");
    for (dump, case) in [Case::AdminView, Case::AdminList, Case::StoreSend, Case::AdminSend].into_iter().enumerate() {
        for _ in 0..5 {
            case.route(stage).await;
        }
        control("--zero");
        for _ in 0..COUNTED {
            case.route(stage).await;
        }
        control("--dump");
        let dumped = std::fs::read_to_string(format!("{}.{pid}.{}", out.display(), dump + 1)).unwrap();
        let total: u64 = dumped
            .lines()
            .find_map(|line| line.strip_prefix("summary: ").or_else(|| line.strip_prefix("totals: ")))
            .and_then(|counts| counts.split_whitespace().next()?.parse().ok())
            .expect("a callgrind dump has its totals");
        println!("| {} | {:.2} M |", case.name(), total as f64 / COUNTED as f64 / 1e6);
    }
}

/// Sessions and sends per session in the events run.
const EVENT_SESSIONS: usize = 8;
const EVENT_SENDS: usize = 50;

/// Events out through the local path: the table's changes read from DynamoDB Local's stream
/// (or the embedded store's feed), queued on moto's SQS and posted to a healthy receiver. The
/// sends come as fast as eight stores make them; the rate is events taken over the time from
/// the first send to the last event taken, the lag is from a change's commit to its arrival.
async fn events_out(_stage: &Stage) {
    use e2e::platform::Signed;
    use e2e::receiver::{Answer, Receiver};
    let events = EVENT_SESSIONS * (EVENT_SENDS + 1);
    println!(
        "\nEvents out to a webhook receiver ({EVENT_SESSIONS} stores sending {EVENT_SENDS} messages each at once: \
         {events} events; the delivery queue is moto's SQS)\n"
    );
    println!("| changes read from | events per second | commit → receiver p50 | p95 |");
    println!("|---|---|---|---|");
    let queue = e2e::stack::moto().endpoint();
    for (source, on_dynamodb) in [("DynamoDB Local's stream", true), ("the embedded store's feed", false)] {
        // Each its own table name, and so its own delivery queue.
        let gateway = match on_dynamodb {
            true => Gateway::start_on_dynamodb_with(&fresh_table().await, &["--queue-endpoint", &queue]),
            false => Gateway::start_with(&["--queue-endpoint", &queue, "--table", &e2e::stack::unique_name("events")]),
        };
        let receiver = Receiver::start(|_| Answer::Take).await;
        let (status, created) =
            Signed::post("/v1/platform/webhooks/", json!({"url": receiver.url(), "event_types": ["*"]}))
                .send(&gateway)
                .await;
        assert_eq!(status, 201, "{created}");
        receiver.trust(created["secret"].as_str().unwrap());
        let http = reqwest::Client::new();
        let started = Instant::now();
        join_all(e2e::cast::queue_stores().take(EVENT_SESSIONS).map(|store| {
            let (http, url, token) = (&http, gateway.url("/v1/chat/store/messages/"), token_of_store(store));
            async move {
                for n in 0..EVENT_SENDS {
                    let sent = http.post(&url).header("Authorization", format!("Token {token}"));
                    let sent = sent.json(&json!({"content": format!("#{n}")})).send().await.unwrap();
                    assert!(sent.status().is_success(), "{}", sent.status());
                }
            }
        }))
        .await;
        let taken = receiver.taken_until(Duration::from_secs(600), |taken| taken.len() >= events).await.unwrap();
        let elapsed = started.elapsed();
        let (p50, p95) = percentiles(taken.iter().map(|t| t.lag).collect());
        println!(
            "| {source} | {:.0} | {:.0} ms | {:.0} ms |",
            events as f64 / elapsed.as_secs_f64(),
            millis(p50),
            millis(p95)
        );
    }
}

/// Admins with figures on every day of the reports' history.
const REPORT_ADMINS: u64 = 20;
/// Report reads per row.
const REPORT_READS: usize = 100;

/// A report of 90 days, by week, read through the route: the same requests in the same round
/// trips, whatever the number of conversations the table holds, for its figures are kept per
/// day and admin, never counted from sessions.
async fn reports(_stage: &Stage) {
    use shared::domain::{FigureChange, ReportZone, Tally, TallyKey};
    use shared::storage::{FIGURE_CHANGES_PER_WRITE, ReportStore};
    const REPORT: &str = "GET /v1/chat/admin/reports/";
    let table = fresh_table().await;
    let gateway = Gateway::start_on_dynamodb(&table);
    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    // 90 days of a team of twenty: the team's figures and each admin's, every day.
    let today = ReportZone::default().day_of(Timestamp::now());
    let busy =
        Tally { opened: 40, assigned: 40, closed: 38, store_messages: 300, team_messages: 280, ..Tally::default() };
    let days = (0..90i64).map(|back| today.checked_sub(jiff::Span::new().days(back)).unwrap());
    let changes: Vec<FigureChange> = days
        .flat_map(|day| {
            let busy = busy.clone();
            (0..REPORT_ADMINS).map(move |admin| FigureChange {
                id: format!("history-{day}-{admin}"),
                tallies: vec![
                    (TallyKey::Team(day), busy.clone()),
                    (TallyKey::Admin(day, AdminId(1000 + admin)), busy.clone()),
                ],
            })
        })
        .collect();
    for chunk in changes.chunks(FIGURE_CHANGES_PER_WRITE) {
        store.record_figures(chunk).await.unwrap();
    }
    let from = today.checked_sub(jiff::Span::new().days(89)).unwrap();
    let url = gateway.url(&format!("/v1/chat/admin/reports/?from={from}&to={today}&granularity=week"));
    let (http, admin) = (reqwest::Client::new(), token_of_admin(SARAH));
    println!(
        "
A report of 90 days by week ({REPORT_READS} reads; figures of the team and {REPORT_ADMINS} admins on each day)
"
    );
    println!("| conversations in the table | p50 | p95 | DynamoDB requests | round trips (log), min-max |");
    println!("|---|---|---|---|---|");
    let mut conversations = 0;
    for more in [0, 1000] {
        let stores: Vec<StoreId> = e2e::cast::queue_stores().collect();
        let each = more / stores.len();
        join_all(stores.iter().map(|store| {
            let (http, gateway, admin) = (&http, &gateway, &admin);
            let token = token_of_store(*store);
            async move {
                for n in 0..each {
                    let post = |path: &str, token: &str, body: Value| {
                        let request = http.post(gateway.url(path)).header("Authorization", format!("Token {token}"));
                        async move { assert!(request.json(&body).send().await.unwrap().status().is_success()) }
                    };
                    let sent = http.post(gateway.url("/v1/chat/store/messages/"));
                    let sent = sent.header("Authorization", format!("Token {token}"));
                    let sent: Value =
                        sent.json(&json!({"content": format!("#{n}")})).send().await.unwrap().json().await.unwrap();
                    let session = json!({"session_id": sent["session_id"]});
                    post("/v1/chat/admin/session/claim/", admin, session.clone()).await;
                    post(
                        "/v1/chat/admin/messages/",
                        admin,
                        json!({"session_id": sent["session_id"], "content": "on it"}),
                    )
                    .await;
                    post("/v1/chat/admin/session/close/", admin, session).await;
                }
            }
        }))
        .await;
        conversations += each * stores.len();
        // Warm: the admin's token is looked up once, then cached.
        http.get(&url).header("Authorization", format!("Token {admin}")).send().await.unwrap();
        let before = logged(&gateway, REPORT);
        let mut latencies = Vec::new();
        for _ in 0..REPORT_READS {
            let started = Instant::now();
            let answer = http.get(&url).header("Authorization", format!("Token {admin}")).send().await.unwrap();
            assert!(answer.status().is_success());
            answer.bytes().await.unwrap();
            latencies.push(started.elapsed());
        }
        let lines = lines_of(&gateway, REPORT, before, REPORT_READS);
        let requests: Vec<u64> = lines.iter().filter_map(|line| line["dynamodb_calls"].as_u64()).collect();
        let round_trips: Vec<u64> = lines.iter().filter_map(|line| line["round_trips"].as_u64()).collect();
        let (p50, p95) = percentiles(latencies);
        println!(
            "| {conversations} | {:.2} ms | {:.2} ms | {}-{} | {}-{} |",
            millis(p50),
            millis(p95),
            requests.iter().min().unwrap(),
            requests.iter().max().unwrap(),
            round_trips.iter().min().unwrap(),
            round_trips.iter().max().unwrap()
        );
    }
}

/// The sections, by the name that selects them on the command line.
const SECTIONS: [&str; 11] =
    ["floor", "cpu", "sends", "races", "connected", "team", "events", "reports", "cold", "lambda", "instructions"];

#[tokio::main]
async fn main() {
    let chosen: Vec<String> = std::env::args().skip(1).collect();
    if let Some(unknown) = chosen.iter().find(|name| !SECTIONS.contains(&name.as_str())) {
        eprintln!("no section {unknown}; the sections are {}", SECTIONS.join(", "));
        std::process::exit(2);
    }
    let runs = |section: &str| chosen.is_empty() || chosen.iter().any(|name| name == section);
    let mut stage = Stage::new().await;
    if runs("floor") {
        routes_against_their_floor(&stage).await;
    }
    if runs("cpu") {
        cpu_per_request(&stage).await;
    }
    if runs("sends") {
        sends_per_second(&stage).await;
    }
    if runs("races") {
        sends_racing_across_instances(&stage).await;
    }
    if runs("connected") {
        send_latency_by_who_is_connected(&stage).await;
    }
    if runs("team") {
        team(&stage).await;
    }
    if runs("events") {
        events_out(&stage).await;
    }
    if runs("reports") {
        reports(&stage).await;
    }
    if runs("cold") {
        cold_starts(&stage).await;
    }
    if runs("lambda") {
        lambda_mode(&mut stage).await;
    }
    if runs("instructions") {
        instructions_per_request(&mut stage).await;
    }
}
