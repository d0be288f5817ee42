//! The platform API through the local gateway, as a platform's backend uses it: every request
//! signed with SigV4 (the `aws-sigv4` crate, as the SDKs sign), checked as API Gateway's
//! `AWS_IAM` authorization checks it; provisioning in bulk, short-lived tokens, and a
//! deactivation that leaves the account nothing live. On the embedded store, on DynamoDB
//! Local, and with the functions run as Lambda runs them.

use std::time::{Duration, SystemTime};

use e2e::cast::{SARAH, TECH_STORE, token_of_admin};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::on_every_stack;
use e2e::platform::Signed;
use e2e::ws::Client;
use serde_json::{Value, json};

const TOKENS_OF_TECH_STORE: &str = "/v1/platform/tokens/?store_id=5";

async fn signatures_are_checked_as_api_gateway_does(gateway: Gateway) {
    let gateway = &gateway;
    let (status, answer) = Signed::get(TOKENS_OF_TECH_STORE).send(gateway).await;
    assert_eq!(status, 200, "{answer}");
    let refused = |(status, answer): (u16, Value)| {
        assert_eq!(status, 403, "{answer}");
        answer["message"].as_str().unwrap().to_owned()
    };
    let wrong_secret = Signed { key: ["AKIDPLATFORMTEST", "another-secret"], ..Signed::get(TOKENS_OF_TECH_STORE) };
    assert!(refused(wrong_secret.send(gateway).await).contains("signature"));
    let other_key = Signed { key: ["AKIDSOMEONEELSE", "platform-test-secret"], ..Signed::get(TOKENS_OF_TECH_STORE) };
    assert!(refused(other_key.send(gateway).await).contains("security token"));
    let upsert = Signed::post("/v1/platform/stores/", json!({"stores": [{"id": 5, "name": "Tech Store"}]}));
    let altered = r#"{"stores": [{"id": 5, "name": "Taken Over"}]}"#;
    assert!(refused(upsert.send_altered(gateway, altered).await).contains("signature"));
    assert!(refused(upsert.send_to(gateway, "/v1/platform/admins/").await).contains("signature"));
    let stale = Signed { at: SystemTime::now() - Duration::from_secs(6 * 60), ..Signed::get(TOKENS_OF_TECH_STORE) };
    assert!(refused(stale.send(gateway).await).contains("expired"));
    let unsigned = post_json(&gateway.url("/v1/platform/stores/"), None, &json!({"stores": []})).await;
    assert_eq!(refused(unsigned), "Missing Authentication Token");
    // A store's or an admin's token is no signature.
    let with_token = get_json(&gateway.url(TOKENS_OF_TECH_STORE), Some(&token_of_admin(SARAH))).await;
    assert_eq!(refused(with_token), "Missing Authentication Token");
    // Nothing refused reached a function.
    let reached =
        gateway.invocations().iter().filter(|line| line["route"].as_str().unwrap().contains("/v1/platform/")).count();
    assert_eq!(reached, 1);
}

fn statuses(answer: &Value) -> Vec<&str> {
    answer["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect()
}

async fn a_platform_provisions_mints_and_deactivates(gateway: Gateway) {
    let gateway = &gateway;
    // A hundred stores in one call, each answered; then an update and a refusal side by side.
    let stores: Vec<Value> = (9000..9100)
        .map(|id| json!({"id": id, "name": format!("Store {id}"), "email": format!("s{id}@example.com"), "locale": "pt-BR"}))
        .collect();
    let (status, answer) = Signed::post("/v1/platform/stores/", json!({"stores": stores})).send(gateway).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(statuses(&answer), vec!["created"; 100]);
    assert_eq!(answer["results"][99]["id"], 9099);
    let mixed = json!({"stores": [{"id": 9000, "name": "Renamed"}, {"id": 9100, "name": "x", "logo_url": "ftp://x"}]});
    let (_, answer) = Signed::post("/v1/platform/stores/", mixed).send(gateway).await;
    assert_eq!(statuses(&answer), ["updated", "invalid"]);
    assert!(answer["results"][1]["error"].as_str().unwrap().contains("https://"));
    let too_many: Vec<Value> = (1..=101).map(|id| json!({"id": id, "name": "x"})).collect();
    let (status, _) = Signed::post("/v1/platform/stores/", json!({"stores": too_many})).send(gateway).await;
    assert_eq!(status, 400);
    let admin = json!({"admins": [{"id": 9500, "name": "Paula", "email": "paula@example.com", "capacity": 3}]});
    let (_, answer) = Signed::post("/v1/platform/admins/", admin).send(gateway).await;
    assert_eq!(statuses(&answer), ["created"]);

    // Short-lived tokens, minted and used.
    let mint = |body: Value| async move { Signed::post("/v1/platform/tokens/", body).send(gateway).await };
    let (status, store) = mint(json!({"store_id": 9000, "lifetime_seconds": 120})).await;
    assert_eq!(status, 201, "{store}");
    let expires = shared::Timestamp::parse(store["expires_at"].as_str().unwrap()).unwrap();
    assert!((118..=121).contains(&expires.seconds_since(shared::Timestamp::now())), "{store}");
    let store_token = store["token"].as_str().unwrap();
    let (status, sent) =
        post_json(&gateway.url("/v1/chat/store/messages/"), Some(store_token), &json!({"content": "hello"})).await;
    assert_eq!(status, 201, "{sent}");
    let (_, paula) = mint(json!({"admin_id": 9500})).await;
    let paula_token = paula["token"].as_str().unwrap();
    let (_, directory) = get_json(&gateway.url("/v1/chat/admin/directory/"), Some(paula_token)).await;
    let entry = directory["admins"].as_array().unwrap().iter().find(|a| a["admin_id"] == 9500).unwrap().clone();
    assert_eq!(entry["capacity"], 3);
    assert_eq!(mint(json!({"store_id": 424242})).await.0, 404);
    assert_eq!(mint(json!({"store_id": 9000, "lifetime_seconds": 86401})).await.0, 400);
    assert_eq!(mint(json!({"store_id": 9000, "admin_id": 9500})).await.0, 400);
    let (_, listed) = Signed::get("/v1/platform/tokens/?admin_id=9500").send(gateway).await;
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(listed["tokens"][0]["token_id"], paula["token_id"]);

    // Paula holds the store's session, with her inbox open; then she is deactivated.
    let session = sent["session_id"].clone();
    let claim = json!({"session_id": session});
    let (status, _) = post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(paula_token), &claim).await;
    assert_eq!(status, 200);
    let inbox = Client::connect(gateway, Some(paula_token)).await.unwrap();
    let deactivate = json!({"admins": [9500], "stores": [424242]});
    let (status, answer) = Signed::post("/v1/platform/deactivate/", deactivate).send(gateway).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(statuses(&answer), ["not_found", "deactivated"]);
    assert_eq!(inbox.closed_by_server().await, 1000, "her inbox is closed");
    assert_eq!(Client::connect(gateway, Some(paula_token)).await.err(), Some(401), "her token is gone");
    let (_, listed) = Signed::get("/v1/platform/tokens/?admin_id=9500").send(gateway).await;
    assert_eq!(listed["tokens"], json!([]));
    let url = gateway.url(&format!("/v1/chat/admin/session/?session_id={session}"));
    let (_, view) = get_json(&url, Some(&token_of_admin(SARAH))).await;
    assert_eq!((&view["status"], &view["admin_id"]), (&json!("open"), &Value::Null), "back in the queue: {view}");
    let (_, directory) = get_json(&gateway.url("/v1/chat/admin/directory/"), Some(&token_of_admin(SARAH))).await;
    let entry = directory["admins"].as_array().unwrap().iter().find(|a| a["admin_id"] == 9500).unwrap().clone();
    assert_eq!((&entry["load"], &entry["presence"]), (&json!(0), &json!("offline")), "{entry}");
    // Provisioned again, she is active again, and may be given a token.
    let again = json!({"admins": [{"id": 9500, "name": "Paula"}]});
    assert_eq!(statuses(&Signed::post("/v1/platform/admins/", again).send(gateway).await.1), ["updated"]);
    assert_eq!(mint(json!({"admin_id": 9500})).await.0, 201);

    // A token revoked by the id a listing shows; the seed's own tokens are listed too.
    let (_, listed) = Signed::get(TOKENS_OF_TECH_STORE).send(gateway).await;
    assert!(!listed["tokens"].as_array().unwrap().is_empty(), "{listed}");
    let (_, minted) = mint(json!({"store_id": TECH_STORE.0})).await;
    let revoke = json!({"token_id": minted["token_id"]});
    let (status, revoked) = Signed::post("/v1/platform/tokens/revoke/", revoke.clone()).send(gateway).await;
    assert_eq!((status, &revoked["connections_closed"]), (200, &json!(0)), "{revoked}");
    assert_eq!(Signed::post("/v1/platform/tokens/revoke/", revoke).send(gateway).await.0, 404);
    let malformed = json!({"token_id": "not-a-hash"});
    assert_eq!(Signed::post("/v1/platform/tokens/revoke/", malformed).send(gateway).await.0, 400);
}

/// A live connection opened with a short-lived token ends with it: the sweep closes it once
/// the token has expired, and leaves the connection of a token still valid alone.
async fn a_connection_ends_when_its_token_expires(gateway: Gateway) {
    let gateway = &gateway;
    let mint = |lifetime: u64| async move {
        let body = json!({"store_id": TECH_STORE.0, "lifetime_seconds": lifetime});
        let (status, minted) = Signed::post("/v1/platform/tokens/", body).send(gateway).await;
        assert_eq!(status, 201, "{minted}");
        minted
    };
    let (short, long) = (mint(10).await, mint(3600).await);
    let expiring = Client::connect(gateway, short["token"].as_str()).await.unwrap();
    let mut staying = Client::connect(gateway, long["token"].as_str()).await.unwrap();
    // Nothing to wait for but the clock: the token's expiry is the event under test.
    let expires_at = shared::Timestamp::parse(short["expires_at"].as_str().unwrap()).unwrap();
    let left = expires_at.seconds_since(shared::Timestamp::now()).max(0) as u64;
    tokio::time::sleep(Duration::from_secs(left + 1)).await;

    gateway.run_scheduled("AssignmentSweepFunction").await;
    assert_eq!(expiring.closed_by_server().await, 1000);
    staying.send(json!({"action": "ping"})).await;
    assert_eq!(staying.next_event().await["type"], "pong", "the other connection is live");
}

on_every_stack!(
    signatures_are_checked_as_api_gateway_does,
    a_platform_provisions_mints_and_deactivates,
    a_connection_ends_when_its_token_expires
);
