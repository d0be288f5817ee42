//! A sender's messages per conversation and minute, through the local gateway on every
//! stack: twenty sends at once from the store, then from its admin, each side held to the
//! limit within any minute; the refused ones answered 429 in the family's shape with
//! `Retry-After`, and over the WebSocket with an error event.

use std::collections::BTreeMap;

use e2e::cast::{SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, post_json};
use e2e::on_every_stack;
use futures::future::join_all;
use serde_json::{Value, json};

const LIMIT: usize = 5;

/// Twenty sends at once to `path`: the messages stored, and the refusals with their
/// `Retry-After`.
async fn twenty_at_once(gateway: &Gateway, path: &str, token: &str, body: Value) -> (Vec<Value>, Vec<(u64, Value)>) {
    let client = reqwest::Client::new();
    let sends = (0..20).map(|_| {
        let request = client.post(gateway.url(path)).header("Authorization", format!("Token {token}")).json(&body);
        async move {
            let response = request.send().await.expect("the gateway answers");
            let status = response.status().as_u16();
            let retry_after =
                response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            (status, retry_after, response.json::<Value>().await.unwrap())
        }
    });
    let (mut stored, mut refused) = (Vec::new(), Vec::new());
    for (status, retry_after, body) in join_all(sends).await {
        match status {
            201 => stored.push(body),
            429 => refused.push((retry_after.expect("a 429 says when to try again"), body)),
            other => panic!("{other}: {body}"),
        }
    }
    (stored, refused)
}

/// However the sends fell across a minute's end: at most the limit in any minute, and
/// exactly the limit in one (twenty sends over at most two minutes put ten or more in one),
/// and each refusal's wait within the minute.
fn held_to_the_limit(stored: &[Value], refused: &[(u64, Value)], earlier_this_minute: &[Value]) {
    let mut per_minute = BTreeMap::<String, usize>::new();
    for message in stored.iter().chain(earlier_this_minute) {
        let created = message["created"].as_str().unwrap();
        *per_minute.entry(created[..16].to_owned()).or_default() += 1;
    }
    assert!(per_minute.values().all(|sent| *sent <= LIMIT), "{per_minute:?}");
    assert!(per_minute.values().any(|sent| *sent == LIMIT), "{per_minute:?}");
    assert_eq!(stored.len() + refused.len(), 20);
    assert!(!refused.is_empty());
    for (retry_after, _) in refused {
        assert!((1..=60).contains(retry_after), "{retry_after}");
    }
}

async fn each_sender_is_held_to_its_limit(gateway: Gateway) {
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    let (status, first) =
        post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &json!({ "content": "Hello" })).await;
    assert_eq!(status, 201, "{first}");
    let session = first["session_id"].clone();

    let body = json!({ "content": "again" });
    let (stored, refused) = twenty_at_once(&gateway, "/v1/chat/store/messages/", &store, body).await;
    held_to_the_limit(&stored, &refused, std::slice::from_ref(&first));
    let message = refused[0].1["message"].as_str().unwrap();
    assert!(message.starts_with("Too many messages: try again in "), "{message}");
    assert_eq!(refused[0].1["success"], false);

    // The admin's count is its own.
    let (status, claimed) =
        post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(&sarah), &json!({ "session_id": session })).await;
    assert_eq!(status, 200, "{claimed}");
    let body = json!({ "session_id": session, "content": "On it" });
    let (stored, refused) = twenty_at_once(&gateway, "/v1/chat/admin/messages/", &sarah, body).await;
    held_to_the_limit(&stored, &refused, &[]);
    assert!(refused[0].1["error"].as_str().unwrap().starts_with("Too many messages"), "{}", refused[0].1);

    // Over the WebSocket, one at a time, a send past the limit is refused in its family's
    // shape: an error event. Two minutes take at most twice the limit, so one is refused.
    let mut socket = e2e::ws::Client::connect(&gateway, Some(&sarah)).await.unwrap();
    let mut refusal = None;
    for n in 0..=2 * LIMIT {
        let content = format!("by socket {n}");
        socket.send(json!({ "action": "send_message", "session_id": session, "content": content })).await;
        let answer = loop {
            let event = socket.next_event().await;
            let mine = event["type"] == "message.created" && event["message"]["content"] == content.as_str();
            if mine || event["type"] == "error" {
                break event;
            }
        };
        if answer["type"] == "error" {
            refusal = Some(answer);
            break;
        }
    }
    let refusal = refusal.expect("a send past the limit is refused");
    assert!(refusal["error"].as_str().unwrap().starts_with("Too many messages: try again in "), "{refusal}");
}

on_every_stack!(with &["--messages-per-minute", "5"]; each_sender_is_held_to_its_limit);
