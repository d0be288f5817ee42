//! Automatic assignment through the local gateway, on the embedded store, on DynamoDB Local,
//! and with the functions run as Lambda runs them (several instances racing): a team of ten
//! admins toggling availability, closing and handing back while fifty stores open two
//! hundred sessions. The guards are the assignment's write conditions (the conformance suite
//! shows each failing without its own); here they hold under the whole product.

use std::collections::{BTreeSet, HashMap};

use e2e::cast::{claimers, queue_stores, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::stack::fresh_table;
use e2e::ws::Client;
use futures::future::join_all;
use serde_json::{Value, json};
use shared::domain::{AdminId, DEFAULT_CAPACITY, StoreId};
use tokio::sync::Mutex;

const AUTO: [&str; 2] = ["--assignment", "auto"];
const SESSIONS: usize = 200;
/// Enough for the sessions to be opened, as stores whose sessions were closed write again.
const MOST_ROUNDS: usize = 60;

async fn post(gateway: &Gateway, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = post_json(&gateway.url(path), Some(token), &body).await;
    assert!(status < 300, "{path}: {status} {answer}");
    answer
}

/// A write as the widget and the inbox make it under load: a 5xx (the machine too loaded for
/// it to commit within its deadline) is tried again. A store's message carries a
/// `client_message_id`, so it is stored once however often it is sent; another write found
/// done by then (a 4xx on a second try: already closed, no longer held) was done by the try
/// before. The answer, or null for a write found done.
async fn write_as_a_client(gateway: &Gateway, path: &str, token: &str, body: Value) -> Value {
    let mut tries = 0;
    loop {
        tries += 1;
        let (status, answer) = post_json(&gateway.url(path), Some(token), &body).await;
        match status {
            ..300 => return answer,
            500.. if tries < 3 => continue,
            400..500 if tries > 1 => return Value::Null,
            _ => panic!("{path}, try {tries}: {status} {answer}"),
        }
    }
}

async fn set_availability(gateway: &Gateway, admin: AdminId, availability: &str) {
    post(gateway, "/v1/chat/admin/presence/", &token_of_admin(admin), json!({ "availability": availability })).await;
}

/// The ids of the sessions `admin` lists with `status`.
async fn listed(gateway: &Gateway, admin: AdminId, status: &str) -> Vec<u64> {
    let url = gateway.url(&format!("/v1/chat/admin/sessions/?status={status}&limit=100"));
    let (_, page) = get_json(&url, Some(&token_of_admin(admin))).await;
    assert!(page["next_cursor"].is_null(), "more than a page");
    page["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_u64().unwrap()).collect()
}

/// No admin holds more than its capacity, as stored: neither in its own list nor by its load
/// in the directory; no session is held by two. With `settled` (nothing else runs), the
/// load and the list agree.
async fn check_capacity(gateway: &Gateway, admins: &[AdminId], settled: bool) {
    let (_, directory) = get_json(&gateway.url("/v1/chat/admin/directory/"), Some(&token_of_admin(admins[0]))).await;
    let loads: HashMap<u64, u64> = directory["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["admin_id"].as_u64().unwrap(), a["load"].as_u64().unwrap()))
        .collect();
    let held = join_all(admins.iter().map(|admin| listed(gateway, *admin, "claimed"))).await;
    // Sessions move between admins only through the queue, which the lists are not read
    // beside: one held in two lists at once was given twice.
    let mut holders = HashMap::new();
    for (admin, held) in admins.iter().zip(&held) {
        for session in held {
            assert_eq!(holders.insert(*session, *admin), None, "session {session} is held twice");
        }
    }
    for (admin, held) in admins.iter().zip(held) {
        assert!(held.len() as u64 <= u64::from(DEFAULT_CAPACITY), "admin {admin} holds {}", held.len());
        assert!(loads[&admin.0] <= u64::from(DEFAULT_CAPACITY), "admin {admin}'s load is {}", loads[&admin.0]);
        if settled {
            assert_eq!(loads[&admin.0], held.len() as u64, "admin {admin}: the load is what it holds");
        }
    }
}

/// One scenario at a time: a team's run loads two cores (and DynamoDB Local) by itself, and
/// another beside it, in `--lambda` above all, would measure the machine, not the product.
static ONE_TEAM_AT_A_TIME: Mutex<()> = Mutex::const_new(());

async fn a_team_under_load_keeps_its_invariants(gateway: Gateway) {
    let _turn = ONE_TEAM_AT_A_TIME.lock().await;
    let admins: Vec<AdminId> = claimers().take(10).collect();
    let stores: Vec<StoreId> = queue_stores().collect();
    let mut inboxes = Vec::new();
    for admin in &admins {
        inboxes.push(Client::connect(&gateway, Some(&token_of_admin(*admin))).await.unwrap());
    }
    // Each store's session, while it has one that is not closed.
    let mut active: HashMap<StoreId, u64> = HashMap::new();
    let mut opened = BTreeSet::new();
    let mut seed = 7u64;
    let mut next = move |n: usize| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % n
    };
    let mut round = 0;
    while opened.len() < SESSIONS {
        round += 1;
        assert!(round <= MOST_ROUNDS, "{} sessions opened in {MOST_ROUNDS} rounds", opened.len());
        // Up to ten idle stores write first messages, beside each admin's move: a close, a
        // hand-back or a change of availability, all at once.
        let idle: Vec<StoreId> =
            stores.iter().copied().filter(|s| !active.contains_key(s)).take(10.min(SESSIONS - opened.len())).collect();
        let writes = idle.iter().map(|store| {
            let gateway = &gateway;
            async move {
                let body = json!({"content": "hello", "client_message_id": format!("hello-{round}")});
                let message =
                    write_as_a_client(gateway, "/v1/chat/store/messages/", &token_of_store(*store), body).await;
                (*store, message["session_id"].as_u64().unwrap())
            }
        });
        let held = join_all(admins.iter().map(|admin| listed(&gateway, *admin, "claimed"))).await;
        let moves = admins.iter().zip(held).map(|(admin, held)| {
            let choice = next(5);
            let gateway = &gateway;
            async move {
                let token = token_of_admin(*admin);
                match (choice, held.first()) {
                    (0, _) => {
                        let availability = if round % 2 == 0 { "away" } else { "available" };
                        let body = json!({ "availability": availability });
                        write_as_a_client(gateway, "/v1/chat/admin/presence/", &token, body).await;
                    }
                    (1, Some(id)) => {
                        let body = json!({"session_id": id, "admin_id": null});
                        write_as_a_client(gateway, "/v1/chat/admin/session/transfer/", &token, body).await;
                    }
                    (_, Some(id)) => {
                        let body = json!({"session_id": id});
                        write_as_a_client(gateway, "/v1/chat/admin/session/close/", &token, body).await;
                        return Some(*id);
                    }
                    (_, None) => {
                        let body = json!({ "availability": "available" });
                        write_as_a_client(gateway, "/v1/chat/admin/presence/", &token, body).await;
                    }
                }
                None
            }
        });
        let (written, closed) = tokio::join!(join_all(writes), join_all(moves));
        for (store, session) in written {
            assert!(opened.insert(session), "session {session} opened twice");
            active.insert(store, session);
        }
        let closed: BTreeSet<u64> = closed.into_iter().flatten().collect();
        active.retain(|_, session| !closed.contains(session));
        // The gateway's own sweep may run meanwhile, as in AWS.
        check_capacity(&gateway, &admins, false).await;
    }

    // Everyone available, then one sweep: what waits is assigned as far as capacity goes.
    join_all(admins.iter().map(|admin| set_availability(&gateway, *admin, "available"))).await;
    let swept = gateway.run_scheduled("AssignmentSweepFunction").await;
    assert_eq!(swept["requeued"], 0, "{swept}");
    check_capacity(&gateway, &admins, true).await;
    let waiting = listed(&gateway, admins[0], "open").await;
    let held = join_all(admins.iter().map(|admin| listed(&gateway, *admin, "claimed"))).await;
    let full = held.iter().all(|held| held.len() as u64 == u64::from(DEFAULT_CAPACITY));
    assert!(waiting.is_empty() || full, "{} wait while an admin has room", waiting.len());

    // Not one lost, not one in two places: every session opened is in exactly one list.
    let closed = join_all(admins.iter().map(|admin| listed(&gateway, *admin, "closed"))).await;
    let mut seen = BTreeSet::new();
    for id in waiting.into_iter().chain(held.into_iter().flatten()).chain(closed.into_iter().flatten()) {
        assert!(seen.insert(id), "session {id} is in two lists");
    }
    assert_eq!(seen, opened);
    for inbox in inboxes {
        inbox.close().await;
    }
}

/// Oldest first: with room for five, the five longest waiting are assigned; the rest wait
/// for the sweep, which assigns them once an admin comes back (coming back assigns nothing
/// by itself).
async fn assignment_follows_waiting_order_and_the_sweep_takes_the_rest(gateway: Gateway) {
    let _turn = ONE_TEAM_AT_A_TIME.lock().await;
    let [first, second] = [AdminId(100), AdminId(101)];
    let first_inbox = Client::connect(&gateway, Some(&token_of_admin(first))).await.unwrap();
    set_availability(&gateway, first, "away").await;
    let mut order = Vec::new();
    for store in queue_stores().take(7) {
        let message =
            post(&gateway, "/v1/chat/store/messages/", &token_of_store(store), json!({"content": "hi"})).await;
        order.push(message["session_id"].as_u64().unwrap());
    }
    set_availability(&gateway, first, "available").await;
    let mut given = listed(&gateway, first, "claimed").await;
    given.sort_unstable();
    assert_eq!(given, order[..5], "the five longest waiting");
    let second_inbox = Client::connect(&gateway, Some(&token_of_admin(second))).await.unwrap();
    assert_eq!(listed(&gateway, second, "claimed").await, Vec::<u64>::new(), "coming back assigns nothing");
    let swept = gateway.run_scheduled("AssignmentSweepFunction").await;
    assert_eq!(swept, json!({"requeued": 0, "assigned": 2, "closed": 0, "away_replies": 0, "expired": 0}));
    let mut rest = listed(&gateway, second, "claimed").await;
    rest.sort_unstable();
    assert_eq!(rest, order[5..]);
    assert_eq!(listed(&gateway, first, "open").await, Vec::<u64>::new());
    first_inbox.close().await;
    second_inbox.close().await;
}

macro_rules! on_every_stack_with_auto_assignment {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    super::$scenario(super::Gateway::start_with(&super::AUTO)).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let table = super::fresh_table().await;
                    super::$scenario(super::Gateway::start_on_dynamodb_with(&table, &super::AUTO)).await
                }
            )*
        }
        mod lambda {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let table = super::fresh_table().await;
                    super::$scenario(super::Gateway::start_as_lambda(&table, &super::AUTO)).await
                }
            )*
        }
    };
}

on_every_stack_with_auto_assignment!(
    a_team_under_load_keeps_its_invariants,
    assignment_follows_waiting_order_and_the_sweep_takes_the_rest,
);
