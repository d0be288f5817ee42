//! What a store sees of its conversation while it waits and once someone helps, through the
//! local gateway on every stack: the widget's look-up that opens nothing, its place in line,
//! who joined, and its closed conversation until it writes again.

use e2e::cast::{OTHER_STORE, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::on_every_stack;
use e2e::ws::Client;
use serde_json::{Value, json};

const CURRENT: &str = "/v1/chat/store/session/current/";
const STORE_MESSAGES: &str = "/v1/chat/store/messages/";

async fn current(gateway: &Gateway, store: &str) -> Value {
    let (status, answer) = get_json(&gateway.url(CURRENT), Some(store)).await;
    assert_eq!(status, 200, "{answer}");
    answer["session"].clone()
}

async fn write(gateway: &Gateway, store: &str, content: &str) -> Value {
    let (status, message) = post_json(&gateway.url(STORE_MESSAGES), Some(store), &json!({ "content": content })).await;
    assert_eq!(status, 201, "{message}");
    message
}

async fn admin_post(gateway: &Gateway, path: &str, body: Value) -> Value {
    let (status, answer) = post_json(&gateway.url(path), Some(&token_of_admin(SARAH)), &body).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

async fn open_queue_size(gateway: &Gateway) -> Value {
    let url = gateway.url("/v1/chat/admin/sessions/?status=open");
    get_json(&url, Some(&token_of_admin(SARAH))).await.1["total_count"].clone()
}

async fn the_look_up_opens_nothing_and_keeps_the_closed_conversation(gateway: Gateway) {
    let store = token_of_store(TECH_STORE);
    assert_eq!(current(&gateway, &store).await, Value::Null);
    assert_eq!(open_queue_size(&gateway).await, 0, "looking up opened a session");

    let hello = write(&gateway, &store, "Hello?").await;
    let waiting = current(&gateway, &store).await;
    assert_eq!((&waiting["id"], &waiting["status"]), (&hello["session_id"], &json!("open")));
    assert_eq!(
        (&waiting["queue_position"], &waiting["admin"], &waiting["rating"]),
        (&json!(1), &Value::Null, &Value::Null)
    );
    assert_eq!(waiting["messages"][0]["content"], "Hello?");

    admin_post(&gateway, "/v1/chat/admin/session/claim/", json!({ "session_id": hello["session_id"] })).await;
    let helped = current(&gateway, &store).await;
    assert_eq!(helped["admin"], json!({ "id": SARAH, "name": "Sarah" }));
    assert_eq!((&helped["status"], &helped["queue_position"]), (&json!("claimed"), &Value::Null));

    admin_post(&gateway, "/v1/chat/admin/session/close/", json!({ "session_id": hello["session_id"] })).await;
    let closed = current(&gateway, &store).await;
    assert_eq!(
        (&closed["id"], &closed["status"], &closed["rating"]),
        (&hello["session_id"], &json!("closed"), &Value::Null)
    );
    assert_eq!(closed["messages"].as_array().unwrap().len(), 1, "the closed conversation keeps its history");
    assert_eq!(closed["admin"]["name"], "Sarah");

    let rating = json!({ "session_id": hello["session_id"], "rating": 5 });
    let (status, _) = post_json(&gateway.url("/v1/chat/store/session/rating/"), Some(&store), &rating).await;
    assert_eq!(status, 200);
    assert_eq!(current(&gateway, &store).await["rating"], 5);
    assert_eq!(open_queue_size(&gateway).await, 0, "looking up after a close opened a session");

    // Writing again starts the next conversation, which the look-up shows from then on.
    let again = write(&gateway, &store, "One more thing").await;
    assert_ne!(again["session_id"], hello["session_id"]);
    let next = current(&gateway, &store).await;
    assert_eq!((&next["id"], &next["status"], &next["rating"]), (&again["session_id"], &json!("open"), &Value::Null));
}

async fn waiting_stores_hear_their_place_in_line_and_who_joined(gateway: Gateway) {
    let (tech, other) = (token_of_store(TECH_STORE), token_of_store(OTHER_STORE));
    let mut tech_socket = Client::connect(&gateway, Some(&tech)).await.unwrap();
    let mut other_socket = Client::connect(&gateway, Some(&other)).await.unwrap();

    let first = write(&gateway, &tech, "I was here first").await;
    let place = tech_socket.next_of("queue.position").await;
    assert_eq!((&place["session_id"], &place["position"]), (&first["session_id"], &json!(1)));
    let second = write(&gateway, &other, "Me too").await;
    assert_eq!(other_socket.next_of("queue.position").await["position"], 2);
    assert_eq!(current(&gateway, &other).await["queue_position"], 2);

    // Sarah takes the first: its store hears who joined, the one behind moves up.
    admin_post(&gateway, "/v1/chat/admin/session/claim/", json!({ "session_id": first["session_id"] })).await;
    let joined = tech_socket.next_of("session.assigned").await;
    assert_eq!(
        joined,
        json!({
            "type": "session.assigned", "session_id": first["session_id"], "admin": { "id": SARAH, "name": "Sarah" },
        })
    );
    let moved = other_socket.next_of("queue.position").await;
    assert_eq!((&moved["session_id"], &moved["position"]), (&second["session_id"], &json!(1)));

    // Handed back, the first keeps its place: it has waited longest.
    admin_post(
        &gateway,
        "/v1/chat/admin/session/transfer/",
        json!({ "session_id": first["session_id"], "admin_id": null }),
    )
    .await;
    assert_eq!(tech_socket.next_of("queue.position").await["position"], 1);
    assert_eq!(other_socket.next_of("queue.position").await["position"], 2);
    assert_eq!(current(&gateway, &tech).await["queue_position"], 1);
    // No store is told of another's session.
    let heard = other_socket.drain().await;
    assert!(heard.iter().all(|event| event["session_id"] != first["session_id"]), "{heard:?}");
}

on_every_stack!(
    the_look_up_opens_nothing_and_keeps_the_closed_conversation,
    waiting_stores_hear_their_place_in_line_and_who_joined,
);
