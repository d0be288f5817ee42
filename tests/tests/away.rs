//! When nobody is there: the team's business hours set by the platform, what a store is told
//! before it writes, and the one automatic away reply a store gets out of hours (at once) or
//! within hours when nobody took its conversation (from the sweep), on every stack; in
//! `--lambda`, from racing instances, still once.

use e2e::cast::{SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::on_every_stack;
use e2e::platform::Signed;
use futures::future::join_all;
use serde_json::{Value, json};
use shared::Timestamp;

async fn set_hours(gateway: &Gateway, hours: Value) -> (u16, Value) {
    Signed::put("/v1/platform/hours/", json!({ "hours": hours })).send(gateway).await
}

async fn availability(gateway: &Gateway) -> Value {
    let (status, answer) = get_json(&gateway.url("/v1/chat/store/availability/"), Some(&store())).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn store() -> String {
    token_of_store(TECH_STORE)
}

async fn send(gateway: &Gateway, content: &str) -> Value {
    let body = json!({ "content": content, "client_message_id": content });
    let (status, answer) = post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store()), &body).await;
    assert_eq!(status, 201, "{answer}");
    answer
}

/// The store's active session's messages that the product wrote.
async fn automatic_messages(gateway: &Gateway) -> Vec<Value> {
    let (status, page) = get_json(&gateway.url("/v1/chat/store/messages/?after=0"), Some(&store())).await;
    assert_eq!(status, 200, "{page}");
    page["messages"].as_array().unwrap().iter().filter(|m| m.get("automatic").is_some()).cloned().collect()
}

/// The day `days` from today, in UTC, as hours take dates.
fn day(days: i64) -> String {
    Timestamp::now().plus_seconds(days * 86_400).to_string()[..10].to_owned()
}

/// Weekdays and weekends 9:00 to 17:00 UTC, today and tomorrow off: out of hours now, back
/// the day after tomorrow at 9:00.
fn off_until_the_day_after_tomorrow() -> Value {
    let day_of_work = json!([{"opens": "09:00", "closes": "17:00"}]);
    let week: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), day_of_work.clone()))
        .collect();
    json!({
        "time_zone": "UTC",
        "week": week,
        "holidays": [day(0), day(1)],
        "expected_reply": "We usually reply within a day.",
    })
}

async fn out_of_hours_a_store_is_told_when_the_team_is_back(gateway: Gateway) {
    // No hours: always within them; nobody has an inbox open.
    let told = availability(&gateway).await;
    assert_eq!(
        told,
        json!({"within_hours": true, "until": null, "time_zone": null, "admin_available": false,
               "expected_reply": null, "locale": null, "email": false, "edit_window_seconds": 900})
    );
    // Hours that do not hold together are refused with the reason.
    let (status, answer) = set_hours(&gateway, json!({"time_zone": "Mars/Olympus", "week": {}})).await;
    assert_eq!((status, answer["error"].as_str().unwrap().contains("time zone")), (400, true), "{answer}");
    let (status, answer) =
        set_hours(&gateway, json!({"time_zone": "UTC", "week": {"mon": [{"opens": "18:00", "closes": "09:00"}]}}))
            .await;
    assert_eq!((status, answer["error"].as_str().unwrap().contains("does not close after")), (400, true), "{answer}");

    let hours = off_until_the_day_after_tomorrow();
    assert_eq!(set_hours(&gateway, hours.clone()).await, (200, json!({ "hours": hours })));
    assert_eq!(Signed::get("/v1/platform/hours/").send(&gateway).await, (200, json!({ "hours": hours })));
    // The store speaks German.
    let (status, _) = Signed::post(
        "/v1/platform/stores/",
        json!({"stores": [{"id": TECH_STORE.0, "name": "Tech", "locale": "de-DE"}]}),
    )
    .send(&gateway)
    .await;
    assert_eq!(status, 200);
    let back = format!("{}T09:00:00.000Z", day(2));
    assert_eq!(
        availability(&gateway).await,
        json!({"within_hours": false, "until": back, "time_zone": "UTC", "admin_available": false,
               "expected_reply": "We usually reply within a day.", "locale": "de-DE", "email": false,
               "edit_window_seconds": 900})
    );

    // The first message gets the away reply, in the store's language, once.
    let mut inbox = e2e::ws::Client::connect(&gateway, Some(&token_of_admin(SARAH))).await.unwrap();
    send(&gateway, "Hallo?").await;
    let replies = automatic_messages(&gateway).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0];
    assert_eq!(
        (&reply["sender_type"], &reply["sender_id"], &reply["automatic"]),
        (&json!("admin"), &json!(0), &json!(true))
    );
    let content = reply["content"].as_str().unwrap();
    assert!(content.starts_with("Danke für Ihre Nachricht!") && content.contains("09:00 Uhr (UTC)"), "{content}");
    // The admins' inbox hears it as any message of the session.
    loop {
        let event = inbox.next_of("message.created").await;
        if event["message"]["automatic"] == true {
            break;
        }
    }
    send(&gateway, "Noch da?").await;
    assert_eq!(automatic_messages(&gateway).await.len(), 1, "one away reply a session");
    let swept = gateway.run_scheduled("AssignmentSweepFunction").await;
    assert_eq!(swept["away_replies"], 0, "{swept}");

    // Cleared: within hours again.
    assert_eq!(set_hours(&gateway, Value::Null).await, (200, json!({"hours": null})));
    assert_eq!(availability(&gateway).await["within_hours"], true);
    inbox.close().await;
}

async fn a_session_nobody_takes_gets_one_away_reply_from_the_sweep(gateway: Gateway) {
    send(&gateway, "Anyone there?").await;
    // Within hours nothing is sent at once.
    assert_eq!(automatic_messages(&gateway).await, Vec::<Value>::new());
    gateway.run_scheduled("AssignmentSweepFunction").await;
    // The gateway's own sweep may have sent it first: either way, one.
    let replies = automatic_messages(&gateway).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0]["content"].as_str().unwrap().contains("Everyone on the team is busy"), "{}", replies[0]);
    let swept = gateway.run_scheduled("AssignmentSweepFunction").await;
    assert_eq!(swept["away_replies"], 0, "{swept}");
    // The away reply answers nobody: the session still waits for a person.
    let (_, queue) = get_json(&gateway.url("/v1/chat/admin/sessions/?status=open"), Some(&token_of_admin(SARAH))).await;
    assert_eq!(queue["sessions"].as_array().unwrap().len(), 1, "{queue}");
    assert_eq!(queue["sessions"][0]["unread_count"], 1, "{queue}");
}

/// A store wrote within hours; then, out of hours, sixteen more messages at once and three
/// sweeps beside them: one away reply. In one gateway the decisions rarely overlap (it passes
/// without the `NoAwayReply` condition too); the two-gateway test below is the one that
/// races them.
async fn racing_sends_and_sweeps_send_one_away_reply(gateway: Gateway) {
    send(&gateway, "hello").await;
    let (status, answer) = set_hours(&gateway, json!({"time_zone": "UTC", "week": {}})).await;
    assert_eq!(status, 200, "{answer}");
    let sends = (0..16).map(|i| {
        let gateway = &gateway;
        async move { send(gateway, &format!("message {i}")).await }
    });
    let sweeps = (0..3).map(|_| gateway.run_scheduled("AssignmentSweepFunction"));
    let (sent, _) = tokio::join!(join_all(sends), join_all(sweeps));
    assert_eq!(sent.len(), 16);
    let replies = automatic_messages(&gateway).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0]["content"].as_str().unwrap().contains("away at the moment"), "{}", replies[0]);
    // With --lambda, the sends ran in instances of their own.
    let instances = gateway
        .lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|log| log["message"] == "cold start" && log["function"] == "store-send-message")
        .count();
    assert!(instances == 0 || instances >= 2, "{instances} instances raced");
}

/// Two deployments' worth of instances on one table (the sweep runs one instance at a time
/// in each): a store wrote within hours; out of hours, both sweeps, warm and started at
/// once, and more of the store's messages through both, decide it is due its away reply
/// before either reply commits; the session's `NoAwayReply` condition lets one commit.
#[tokio::test(flavor = "multi_thread")]
async fn instances_of_two_gateways_racing_send_one_away_reply() {
    let table = e2e::stack::fresh_table().await;
    // Within hours, a session waits an hour before its reply: nothing is due until the hours close.
    let args = ["--away-reply-after-seconds", "3600"];
    let (first, second) = (Gateway::start_as_lambda(&table, &args), Gateway::start_as_lambda(&table, &args));
    send(&first, "hello").await;
    for gateway in [&first, &second] {
        assert_eq!(gateway.run_scheduled("AssignmentSweepFunction").await["away_replies"], 0);
    }
    assert_eq!(set_hours(&first, json!({"time_zone": "UTC", "week": {}})).await.0, 200);
    let sweeps = [&first, &second].map(|gateway| gateway.run_scheduled("AssignmentSweepFunction"));
    let sends = (0..8).map(|i| {
        let gateway = if i % 2 == 0 { &first } else { &second };
        async move { send(gateway, &format!("message {i}")).await }
    });
    let (swept, _) = tokio::join!(join_all(sweeps), join_all(sends));
    let replies = automatic_messages(&first).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    let by_sweeps: u64 = swept.iter().map(|s| s["away_replies"].as_u64().unwrap()).sum();
    assert!(by_sweeps <= 1, "{swept:?}");
}

/// Within hours, a session waits no time before the sweep tells its store nobody is free.
const AT_ONCE: &[&str] = &["--away-reply-after-seconds", "0"];

on_every_stack!(with super::AT_ONCE;
    out_of_hours_a_store_is_told_when_the_team_is_back,
    a_session_nobody_takes_gets_one_away_reply_from_the_sweep,
    racing_sends_and_sweeps_send_one_away_reply,
);
