//! Uploading files to attach, through the local gateway and a real S3 API: the route hands
//! out a presigned upload into the party's session, and S3 itself refuses what it was not
//! signed for.

use e2e::cast::{OMAR, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::on_every_stack;
use serde_json::{Value, json};

const BUCKET: &str = "support-chat-attachments";
/// The first bytes of a PNG file, and then some.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// Sends `body` as the presigned upload says, with its headers but for `content_type`: S3's
/// status, or `None` when it refused the upload by closing the connection before it had
/// all of it (as it may for a body larger than the signed length).
async fn put(upload: &Value, content_type: Option<&str>, body: Vec<u8>) -> Option<u16> {
    assert_eq!(upload["method"], "PUT");
    let mut request = reqwest::Client::new().put(upload["url"].as_str().unwrap());
    for (name, value) in upload["headers"].as_object().unwrap() {
        let value = match (name.as_str(), content_type) {
            ("content-type", Some(overridden)) => overridden,
            // The client's HTTP library says how long the body is.
            ("content-length", _) => continue,
            _ => value.as_str().unwrap(),
        };
        request = request.header(name, value);
    }
    match request.body(body).send().await {
        Ok(answer) => Some(answer.status().as_u16()),
        Err(error) if error.is_request() => None,
        Err(error) => panic!("S3 did not answer: {error}"),
    }
}

async fn stored(gateway: &Gateway, key: &str) -> Option<(String, i64)> {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(gateway.s3_endpoint())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("local", "local", None, None, "test"))
        .force_path_style(true)
        .build();
    let head = aws_sdk_s3::Client::from_conf(config).head_object().bucket(BUCKET).key(key).send().await.ok()?;
    Some((head.content_type()?.to_owned(), head.content_length()?))
}

async fn a_store_uploads_into_its_session_what_it_declared(gateway: Gateway) {
    let store = token_of_store(TECH_STORE);
    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let declared = json!({"file_name": "broken-order.png", "content_type": "image/png", "size": PNG.len()});
    let (status, upload) = post_json(&gateway.url("/v1/chat/store/uploads/"), Some(&store), &declared).await;
    assert_eq!(status, 201, "{upload}");
    let key = format!("sessions/{}/store-{TECH_STORE}/{}", session["id"], upload["upload_id"].as_str().unwrap());
    assert!(upload["url"].as_str().unwrap().contains(&key), "the server chose the key: {upload}");
    assert!(upload["expires_at"].is_string());

    // S3 refuses what the upload was not signed for, and stores nothing.
    assert_eq!(put(&upload, Some("text/html"), PNG.to_vec()).await, Some(403), "another type");
    let larger = put(&upload, None, vec![0; 20 * 1024 * 1024]).await;
    assert!(matches!(larger, Some(403) | None), "20 MB: {larger:?}");
    assert_eq!(stored(&gateway, &key).await, None);
    assert_eq!(put(&upload, None, PNG.to_vec()).await, Some(200));
    assert_eq!(stored(&gateway, &key).await, Some(("image/png".to_owned(), PNG.len() as i64)));
}

async fn uploads_outside_the_rules_are_refused_by_the_route(gateway: Gateway) {
    let store = token_of_store(TECH_STORE);
    let url = gateway.url("/v1/chat/store/uploads/");
    let html = json!({"file_name": "page.html", "content_type": "text/html", "size": 10});
    let (status, body) = post_json(&url, Some(&store), &html).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().starts_with("content_type must be one of image/png"), "{body}");
    let huge = json!({"file_name": "huge.png", "content_type": "image/png", "size": 20 * 1024 * 1024});
    let (status, body) = post_json(&url, Some(&store), &huge).await;
    assert_eq!((status, &body["message"]), (400, &json!("size must be from 1 to 10485760 bytes")));
    // No session yet: nothing to upload into.
    let fine = json!({"file_name": "a.png", "content_type": "image/png", "size": 10});
    let (status, _) = post_json(&url, Some(&store), &fine).await;
    assert_eq!(status, 404);

    // An admin uploads only into a session it holds.
    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let claim = json!({"session_id": session["id"]});
    assert_eq!(
        post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(&token_of_admin(SARAH)), &claim).await.0,
        200
    );
    let mut into = fine.clone();
    into["session_id"] = session["id"].clone();
    let admin_url = gateway.url("/v1/chat/admin/uploads/");
    assert_eq!(post_json(&admin_url, Some(&token_of_admin(OMAR)), &into).await.0, 403);
    assert_eq!(post_json(&admin_url, Some(&token_of_admin(SARAH)), &into).await.0, 201);
    assert_eq!(post_json(&admin_url, Some(&token_of_admin(SARAH)), &fine).await.0, 400, "no session_id");
}

on_every_stack!(a_store_uploads_into_its_session_what_it_declared, uploads_outside_the_rules_are_refused_by_the_route);
