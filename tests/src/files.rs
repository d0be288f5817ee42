//! Files as a client attaches them: it asks a route for an upload, then sends the bytes to
//! S3 exactly as the answer says.

use serde_json::{Value, json};

use crate::gateway::{Gateway, post_json};

/// The gateway's bucket of attached files.
pub const BUCKET: &str = "support-chat-attachments";

/// A client of the gateway's S3.
pub fn s3(gateway: &Gateway) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(gateway.s3_endpoint())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("local", "local", None, None, "test"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The keys of the files kept for messages.
pub async fn kept_files(gateway: &Gateway) -> Vec<String> {
    let listed = s3(gateway).list_objects_v2().bucket(BUCKET).prefix("sessions/").send().await.unwrap();
    listed.contents().iter().filter_map(|object| object.key().map(str::to_owned)).collect()
}

/// The first bytes of a PNG file, and then some.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// Sends `body` as the presigned `upload` says, with its headers but for `content_type`:
/// S3's status, or `None` when it refused the upload by closing the connection before it
/// had all of it (as it may for a body larger than the signed length).
pub async fn put_as_signed(upload: &Value, content_type: Option<&str>, body: Vec<u8>) -> Option<u16> {
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

/// Uploads `bytes` as a PNG as the party of `token` (an admin names the
/// session), and returns the upload's id.
pub async fn upload_png(gateway: &Gateway, token: &str, session_id: Option<&Value>, bytes: &[u8]) -> String {
    let (route, mut request) = match session_id {
        Some(id) => ("/v1/chat/admin/uploads/", json!({"session_id": id})),
        None => ("/v1/chat/store/uploads/", json!({})),
    };
    request["file_name"] = json!("broken order.png");
    request["content_type"] = json!("image/png");
    request["size"] = json!(bytes.len());
    let (status, upload) = post_json(&gateway.url(route), Some(token), &request).await;
    assert_eq!(status, 201, "{upload}");
    assert_eq!(put_as_signed(&upload, None, bytes.to_vec()).await, Some(200), "the upload is taken");
    upload["upload_id"].as_str().unwrap().to_owned()
}
