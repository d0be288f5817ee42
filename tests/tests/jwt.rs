//! A platform's own JWTs stand for its stores and admins, on HTTP routes and on `$connect`,
//! with keys the test generates, a JWKS it serves and rotates, and an HS256 secret it shares
//! and rotates through Secrets Manager (moto): RS256, ES256 and HS256 accepted, HS256 signed
//! with the secret's current or previous version;
//! a wrong issuer or audience, an expired or not yet valid token, an unknown key, `alg: none`,
//! an HS256 token keyed with the RSA public key, and a tampered payload each refused with the
//! family's 401. On the embedded store, on DynamoDB Local, and with the functions run as
//! Lambda runs them.

use base64::Engine;
use e2e::cast::SARAH;
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::identity_provider::IdentityProvider;
use e2e::stack::fresh_table;
use e2e::ws::Client;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const UNAUTHORIZED: (u16, &str) = (401, "Unauthorized");

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The store routes' answer to `token`: status and, on a refusal, its message.
async fn as_store(gateway: &Gateway, token: &str) -> (u16, Value) {
    get_json(&gateway.url("/v1/chat/store/session/current/"), Some(token)).await
}

async fn refused(gateway: &Gateway, token: &str, why: &str) {
    let (status, answer) = as_store(gateway, token).await;
    assert_eq!((status, answer["message"].as_str().unwrap_or_default()), UNAUTHORIZED, "{why}: {answer}");
    assert_eq!(answer["success"], false, "the store family's shape");
}

async fn platform_jwts_stand_for_stores_and_admins(start: impl FnOnce(&[&str]) -> Gateway) {
    let mut provider = IdentityProvider::start().await;
    provider.add_key("rs-1", Algorithm::RS256, true);
    provider.add_key("es-1", Algorithm::ES256, true);
    provider.add_key("rs-2", Algorithm::RS256, false);
    provider.share_hs256_secret().await;
    let args = provider.gateway_args();
    let gateway = start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let gateway = &gateway;

    // A store the chat has never seen writes with an RS256 JWT: provisioned from its claims.
    let ana = provider.sign("rs-1", json!({"store_id": 7001, "name": "Ana's Bakery", "email": "ana@example.com"}));
    let (status, sent) =
        post_json(&gateway.url("/v1/chat/store/messages/"), Some(&ana), &json!({"content": "hi"})).await;
    assert_eq!(status, 201, "{sent}");
    let (status, current) = as_store(gateway, &ana).await;
    assert_eq!((status, &current["session"]["store"]["name"]), (200, &json!("Ana's Bakery")), "{current}");
    // An admin with an ES256 JWT, by a claim that is a string.
    let sarah = provider.sign("es-1", json!({"admin_id": SARAH.to_string()}));
    let (status, directory) = get_json(&gateway.url("/v1/chat/admin/directory/"), Some(&sarah)).await;
    assert_eq!(status, 200, "{directory}");
    // Bearer on the SuperOffice route takes it too.
    let url = gateway.url("/api/v1/Agents/Chat/GetChatMessages");
    let request =
        reqwest::Client::new().post(url).bearer_auth(&ana).json(&json!({"ChatSessionId": sent["session_id"]}));
    assert_eq!(request.send().await.unwrap().status(), 200);

    // Each refused as an unknown token is.
    let now = shared::Timestamp::now().unix_seconds();
    let store = |claims: Value| {
        let mut all = json!({"store_id": 7001});
        all.as_object_mut().unwrap().extend(claims.as_object().unwrap().clone());
        all
    };
    refused(gateway, &provider.sign("rs-1", store(json!({"iss": "https://elsewhere.test/"}))), "another issuer").await;
    refused(gateway, &provider.sign("rs-1", store(json!({"aud": "another-product"}))), "another audience").await;
    refused(gateway, &provider.sign("rs-1", store(json!({"exp": now - 120}))), "expired beyond the skew").await;
    refused(gateway, &provider.sign("es-1", store(json!({"nbf": now + 120}))), "not yet valid").await;
    refused(gateway, &provider.sign("rs-1", store(json!({"exp": null}))), "no expiry").await;
    refused(gateway, &provider.sign("rs-1", json!({"store_id": "me"})), "no store id").await;
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&provider.claims(store(json!({})))));
    refused(gateway, &none, "alg none").await;
    // The RSA public key as an HMAC secret: what a verifier that trusts `alg` would accept.
    let public = provider.public_jwk("rs-1").to_string();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rs-1".into());
    let confused =
        encode(&header, &provider.claims(store(json!({}))), &EncodingKey::from_secret(public.as_bytes()).unwrap());
    refused(gateway, &confused.unwrap(), "HS256 keyed with the public key").await;
    let parts: Vec<&str> = ana.split('.').collect();
    let forged = b64(&provider.claims(json!({"store_id": 7002, "name": "Someone Else"})));
    refused(gateway, &format!("{}.{forged}.{}", parts[0], parts[2]), "a tampered payload").await;

    // A key the provider rotates in is taken without a restart.
    let rotated = provider.sign("rs-2", store(json!({})));
    refused(gateway, &rotated, "an unknown key").await;
    provider.publish("rs-2");
    let rotated = provider.sign("rs-2", store(json!({"jti": "after-rotation"})));
    assert_eq!(as_store(gateway, &rotated).await.0, 200, "rotated in");

    // HS256, with the secret read from Secrets Manager; another secret is refused.
    let hs256 = provider.sign_hs256(0, store(json!({"jti": "hs256"})));
    assert_eq!(as_store(gateway, &hs256).await.0, 200, "HS256");
    let another = EncodingKey::from_secret(b"another secret, as long as the shared one is").unwrap();
    let another = encode(&Header::new(Algorithm::HS256), &provider.claims(store(json!({}))), &another).unwrap();
    refused(gateway, &another, "HS256 with another secret").await;
    // The provider rotates its secret: tokens signed with the new value are taken without a
    // restart, and those signed before the rotation stay valid until they expire.
    provider.rotate_hs256_secret().await;
    let after = provider.sign_hs256(0, store(json!({"jti": "after-secret-rotation"})));
    assert_eq!(as_store(gateway, &after).await.0, 200, "the new secret");
    let before = provider.sign_hs256(1, store(json!({"jti": "before-secret-rotation"})));
    assert_eq!(as_store(gateway, &before).await.0, 200, "the previous secret");
    let mut socket = Client::connect(gateway, Some(&after)).await.expect("connected with an HS256 JWT");
    socket.send(json!({"action": "ping"})).await;
    assert_eq!(socket.next_of("pong").await, json!({"type": "pong"}));
    socket.close().await;

    // On `$connect`, from the query string as browsers send it; its frames resolve it.
    let mut socket = Client::connect(gateway, Some(&ana)).await.expect("connected with a JWT");
    socket.send(json!({"action": "ping"})).await;
    assert_eq!(socket.next_of("pong").await, json!({"type": "pong"}));
    socket.close().await;
    let expired = provider.sign("es-1", store(json!({"exp": now - 120})));
    assert_eq!(Client::connect(gateway, Some(&expired)).await.err(), Some(401));
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_embedded_store() {
    platform_jwts_stand_for_stores_and_admins(Gateway::start_with).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_dynamodb_local() {
    let table = fresh_table().await;
    platform_jwts_stand_for_stores_and_admins(|args| Gateway::start_on_dynamodb_with(&table, args)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_functions_run_as_lambda_runs_them() {
    let table = fresh_table().await;
    platform_jwts_stand_for_stores_and_admins(|args| Gateway::start_as_lambda(&table, args)).await;
}
