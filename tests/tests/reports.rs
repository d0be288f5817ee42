//! The report figures are the stored sessions' own: after a randomized run of 500
//! conversations — claims racing, transfers, hand-backs, closes racing from both sides,
//! ratings, some left waiting — with the table's stream read concurrently and every batch
//! given again, the tallies equal a brute-force recount over the sessions and their
//! messages. On the embedded store and on DynamoDB Local in process, and with every function
//! its own process (`--lambda`) behind the gateway.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::cast::{OMAR, SARAH, claimers, queue_stores, seed, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::stack::{dynamodb, dynamodb_changes, fresh_table, patient_client};
use futures::StreamExt;
use serde_json::{Value, json};
use shared::chat::{self, Target};
use shared::config::Config;
use shared::domain::input::MessageInput;
use shared::domain::{
    AdminId, ChangeRecord, Durations, LifecycleAction, MessageId, Principal, ReportQuery, ReportZone, SenderType,
    SessionId, StoreId, Tallies, Tally, TallyKey,
};
use shared::storage::{ChatStore, DynamoStore, MemoryStore, MessageWindow, ReportStore};
use shared::{App, Timestamp};

const CONVERSATIONS_PER_STORE: usize = 10;
/// Far from UTC: a day there is not UTC's.
const ZONE: &str = "Pacific/Auckland";

fn zone() -> ReportZone {
    ReportZone::named(ZONE).unwrap()
}

fn admins() -> [AdminId; 4] {
    let mut more = claimers();
    [SARAH, OMAR, more.next().unwrap(), more.next().unwrap()]
}

/// A small, seeded generator: the same run's choices every time.
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Where the run's requests go: the use cases in this process, or a gateway.
enum Desk {
    InProcess(Box<App>),
    Http(Gateway),
}

impl Desk {
    async fn store_says(&self, store: StoreId, text: &str) -> SessionId {
        match self {
            Desk::InProcess(app) => {
                let input = MessageInput { content: text.into(), ..MessageInput::default() };
                let sent = Box::pin(chat::send_message(app, Principal::Store(store), None, input)).await.unwrap();
                sent.message.session_id
            }
            Desk::Http(_) => {
                let body = json!({"content": text});
                let (status, sent) = self.post("/v1/chat/store/messages/", &token_of_store(store), body).await;
                assert_eq!(status, 201, "{sent}");
                SessionId(sent["session_id"].as_u64().unwrap())
            }
        }
    }

    async fn admin_says(&self, admin: AdminId, session: SessionId, text: &str) -> bool {
        match self {
            Desk::InProcess(app) => {
                let input = MessageInput { content: text.into(), ..MessageInput::default() };
                Box::pin(chat::send_message(app, Principal::Admin(admin), Some(session), input)).await.is_ok()
            }
            Desk::Http(_) => {
                let body = json!({"session_id": session, "content": text});
                self.post("/v1/chat/admin/messages/", &token_of_admin(admin), body).await.0 == 201
            }
        }
    }

    async fn lifecycle(&self, admin: AdminId, session: SessionId, action: LifecycleAction) -> bool {
        match self {
            Desk::InProcess(app) => {
                let changed = chat::change_lifecycle(app, Principal::Admin(admin), Target::Session(session), action);
                Box::pin(changed).await.is_ok()
            }
            Desk::Http(_) => {
                let (path, body) = match action {
                    LifecycleAction::Claim => ("claim", json!({"session_id": session})),
                    LifecycleAction::Close => ("close", json!({"session_id": session})),
                    LifecycleAction::Transfer { to } => ("transfer", json!({"session_id": session, "admin_id": to})),
                };
                self.post(&format!("/v1/chat/admin/session/{path}/"), &token_of_admin(admin), body).await.0 == 200
            }
        }
    }

    async fn store_closes(&self, store: StoreId) -> bool {
        match self {
            Desk::InProcess(app) => Box::pin(chat::close_active_session(app, store)).await.is_ok(),
            Desk::Http(_) => {
                self.post("/v1/chat/store/session/close/", &token_of_store(store), json!({})).await.0 == 200
            }
        }
    }

    async fn rate(&self, store: StoreId, session: SessionId, stars: u64) {
        let rated = match self {
            Desk::InProcess(app) => Box::pin(chat::rate_session(app, store, session, stars as i64, None)).await.is_ok(),
            Desk::Http(_) => {
                let body = json!({"session_id": session, "rating": stars});
                self.post("/v1/chat/store/session/rating/", &token_of_store(store), body).await.0 == 200
            }
        };
        assert!(rated, "session {session} rated");
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let Desk::Http(gateway) = self else { unreachable!("a gateway's route") };
        post_json(&gateway.url(path), Some(token), &body).await
    }
}

/// One store's conversations, one after another, each its own way.
async fn conversations_of(desk: &Desk, store: StoreId) {
    let mut choices = Choices(0x9E37_79B9_7F4A_7C15 ^ store.0);
    let team = admins();
    for n in 0..CONVERSATIONS_PER_STORE {
        let last = n + 1 == CONVERSATIONS_PER_STORE;
        let mut session = SessionId(0);
        for m in 0..=choices.below(3) {
            session = desk.store_says(store, &format!("conversation {n}, message {m}")).await;
        }
        let way = choices.below(10);
        if last && way < 2 {
            continue; // left waiting
        }
        if way == 2 {
            assert!(desk.store_closes(store).await, "closed from the queue");
            continue;
        }
        // Two admins race to claim it: one wins.
        let (a, b) = (team[choices.below(4) as usize], team[choices.below(4) as usize]);
        let (first, second) = tokio::join!(
            desk.lifecycle(a, session, LifecycleAction::Claim),
            desk.lifecycle(b, session, LifecycleAction::Claim)
        );
        assert!(first || second, "a claim of {session} won");
        let mut holder = if first { a } else { b };
        if last && way == 3 {
            continue; // held, open
        }
        for m in 0..=choices.below(2) {
            assert!(desk.admin_says(holder, session, &format!("answer {m}")).await);
        }
        if choices.below(2) == 0 {
            desk.store_says(store, "thanks").await;
        }
        match way {
            4 => {
                let to = team[(team.iter().position(|a| *a == holder).unwrap() + 1) % 4];
                assert!(desk.lifecycle(holder, session, LifecycleAction::Transfer { to: Some(to) }).await);
                holder = to;
            }
            5 => {
                assert!(desk.lifecycle(holder, session, LifecycleAction::Transfer { to: None }).await, "handed back");
                holder = team[choices.below(4) as usize];
                assert!(desk.lifecycle(holder, session, LifecycleAction::Claim).await, "claimed again");
            }
            _ => {}
        }
        // The store and its holder close it at once: one of them does.
        let (by_store, by_admin) =
            tokio::join!(desk.store_closes(store), desk.lifecycle(holder, session, LifecycleAction::Close));
        assert!(by_store || by_admin, "{session} closed");
        if choices.below(10) < 6 {
            desk.rate(store, session, 1 + choices.below(5)).await;
        }
    }
}

/// The whole run: fifty stores, sixteen at once, ten conversations each. Each store's are a
/// task of their own, and each use case's future is boxed: in a debug build, the use cases
/// and the SDK's calls under them nest deeper than a thread's stack takes.
async fn run(desk: &Arc<Desk>) {
    let stores: Vec<StoreId> = queue_stores().collect();
    assert_eq!(stores.len() * CONVERSATIONS_PER_STORE, 500);
    let tasks = stores.into_iter().map(|store| {
        let desk = desk.clone();
        tokio::spawn(async move { conversations_of(&desk, store).await })
    });
    for done in futures::stream::iter(tasks).buffer_unordered(16).collect::<Vec<_>>().await {
        done.expect("a store's conversations ran");
    }
}

/// The figures counted again, from nothing but the stored sessions and their messages.
async fn recount(store: &dyn ChatStore) -> Tallies {
    let zone = zone();
    let mut tallies = Tallies::default();
    let mut add = |key: TallyKey, tally: Tally| tallies.by_key.entry(key).or_default().add(&tally);
    let mut waiting = 0;
    for of in queue_stores() {
        let (sessions, count) = store.sessions_of_store(of, 100).await.unwrap();
        assert_eq!(sessions.len() as u64, count);
        for session in sessions {
            let mut messages = Vec::new();
            let mut after = MessageId(0);
            loop {
                let page = store.messages(session.id, MessageWindow::After(after), 200).await.unwrap().unwrap();
                after = page.messages.last().map_or(after, |m| m.id);
                messages.extend(page.messages);
                if !page.has_more {
                    break;
                }
            }
            let team = |at: Timestamp| TallyKey::Team(zone.day_of(at));
            let admin = |at: Timestamp, admin: AdminId| TallyKey::Admin(zone.day_of(at), admin);
            add(team(session.created), Tally { opened: 1, ..Tally::default() });
            if let (Some(by), Some(at)) = (session.picked_up_by, session.picked_up_at) {
                add(team(at), Tally { assigned: 1, ..Tally::default() });
                add(admin(at, by), Tally { assigned: 1, ..Tally::default() });
            }
            let mut awaiting: Option<Timestamp> = None;
            let mut answered = false;
            for message in &messages {
                match message.sender_type {
                    SenderType::Store => {
                        add(team(message.created), Tally { store_messages: 1, ..Tally::default() });
                        awaiting.get_or_insert(message.created);
                    }
                    SenderType::Admin if message.automatic => {
                        add(team(message.created), Tally { team_messages: 1, ..Tally::default() });
                    }
                    SenderType::Admin => {
                        add(team(message.created), Tally { team_messages: 1, ..Tally::default() });
                        let by = AdminId(message.sender_id);
                        add(admin(message.created, by), Tally { team_messages: 1, ..Tally::default() });
                        if let (false, Some(since)) = (answered, awaiting.take()) {
                            answered = true;
                            let waited = Tally {
                                first_response: Durations::of(message.created.millis_since(since)),
                                ..Tally::default()
                            };
                            add(team(message.created), waited.clone());
                            add(admin(message.created, by), waited);
                        }
                    }
                }
            }
            if let Some(closed_at) = session.closed_at {
                let closed = Tally {
                    closed: 1,
                    resolution: Durations::of(closed_at.millis_since(session.created)),
                    ..Tally::default()
                };
                let mut ratings = [0; 5];
                if let Some(stars) = session.rating {
                    ratings[usize::from(stars) - 1] = 1;
                }
                let rated = Tally { ratings, ..Tally::default() };
                add(team(closed_at), closed.clone());
                add(team(closed_at), rated.clone());
                if let Some(by) = session.admin_id {
                    add(admin(closed_at, by), closed);
                    add(admin(closed_at, by), rated);
                }
            }
            waiting += u64::from(session.is_waiting());
        }
    }
    tallies.waiting = waiting;
    tallies
}

/// The days around now, there: every figure of the run is in them.
fn days_of_the_run() -> (jiff::civil::Date, jiff::civil::Date) {
    let today = zone().day_of(Timestamp::now());
    (today.yesterday().unwrap(), today.tomorrow().unwrap())
}

fn assert_same(kept: &Tallies, recounted: &Tallies) {
    let differing: Vec<String> = recounted
        .by_key
        .keys()
        .chain(kept.by_key.keys())
        .filter(|key| kept.by_key.get(key) != recounted.by_key.get(key))
        .map(|key| format!("{key:?}: kept {:?}, recounted {:?}", kept.by_key.get(key), recounted.by_key.get(key)))
        .collect();
    assert!(differing.is_empty(), "tallies that differ:\n{}", differing.join("\n"));
    assert_eq!(kept.waiting, recounted.waiting, "conversations waiting");
}

/// The run through the use cases of `app`, then its stream read as Lambda reads it — four
/// batches at a time, and every batch a second time, racing the first — then the recount.
async fn in_process(store: Arc<dyn ChatStore>, changes: impl AsyncFnOnce() -> Vec<ChangeRecord>) {
    seed().load_into(store.as_ref()).await.unwrap();
    let config = Config { report_zone: zone(), ..Config::local("reports", None, None) };
    let desk = Arc::new(Desk::InProcess(Box::new(App::new(store.clone(), config))));
    run(&desk).await;
    let records = changes().await;
    let batches: Vec<Vec<ChangeRecord>> = records.chunks(100).map(<[_]>::to_vec).collect();
    let twice = batches.iter().chain(batches.iter().rev()).cloned().map(|batch| {
        let desk = desk.clone();
        tokio::spawn(async move {
            let Desk::InProcess(app) = desk.as_ref() else { unreachable!("in process") };
            chat::record_figures(app, &batch).await
        })
    });
    let failed: Vec<_> = futures::stream::iter(twice).buffer_unordered(4).collect().await;
    assert!(failed.iter().all(|failed| matches!(failed, Ok(None))), "every batch recorded: {failed:?}");
    let (from, to) = days_of_the_run();
    assert_same(&store.tallies(from, to).await.unwrap(), &Box::pin(recount(store.as_ref())).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_embedded_store_the_figures_are_a_recount() {
    let store = Arc::new(MemoryStore::new());
    let feed = store.clone();
    Box::pin(in_process(store, async move || feed.changes_after(None, usize::MAX))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_dynamodb_local_the_figures_are_a_recount() {
    let table = fresh_table().await;
    let store = Arc::new(DynamoStore::new(patient_client(&dynamodb().endpoint()), &table));
    Box::pin(in_process(store, async || dynamodb_changes(&table).await)).await;
}

/// Every function its own processes, instances racing; the gateway reads the table's stream
/// as Lambda does and hands every batch over twice. Once the figures have caught up, they
/// are the recount, and the reports route says what they say.
#[tokio::test(flavor = "multi_thread")]
async fn with_the_functions_run_as_lambda_runs_them_the_figures_are_a_recount() {
    let table = fresh_table().await;
    let args = ["--redeliver-stream-batches", "--report-time-zone", ZONE];
    let desk = Arc::new(Desk::Http(Gateway::start_as_lambda(&table, &args)));
    run(&desk).await;
    let store = DynamoStore::new(patient_client(&dynamodb().endpoint()), &table);
    let recounted = Box::pin(recount(&store)).await;
    let (from, to) = days_of_the_run();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut kept = store.tallies(from, to).await.unwrap();
    while kept != recounted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        kept = store.tallies(from, to).await.unwrap();
    }
    assert_same(&kept, &recounted);

    let Desk::Http(gateway) = desk.as_ref() else { unreachable!("a gateway") };
    let path = format!("/v1/chat/admin/reports/?from={from}&to={to}");
    let (status, report) = get_json(&gateway.url(&path), Some(&token_of_admin(SARAH))).await;
    assert_eq!(status, 200, "{report}");
    let query = ReportQuery::parse(Some(&from.to_string()), Some(&to.to_string()), None, None, to).unwrap();
    let expected = serde_json::to_value(shared::domain::report(&query, &recounted, &zone())).unwrap();
    assert_eq!(report, expected);
    assert_eq!(report["totals"]["opened"], 500);
    let per_admin: BTreeMap<u64, u64> = report["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["admin_id"].as_u64().unwrap(), row["assigned"].as_u64().unwrap()))
        .collect();
    assert_eq!(per_admin.values().sum::<u64>(), report["totals"]["assigned"].as_u64().unwrap());
}
