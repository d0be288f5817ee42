//! The server speaks S3 as AWS does to the SDK, and checks signatures as S3 does: what a
//! presigned request was signed for (type, size, expiry) is all it accepts.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use s3_local::{ACCESS_KEY_ID, REGION, S3Local, SECRET_ACCESS_KEY};

const BUCKET: &str = "attachments";

fn client_of(s3: &S3Local, secret: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(s3.endpoint())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCESS_KEY_ID, secret, None, None, "test"))
        .force_path_style(true)
        .build();
    Client::from_conf(config)
}

async fn with_bucket() -> (S3Local, Client) {
    let s3 = S3Local::start(None).await.expect("the server starts");
    let client = client_of(&s3, SECRET_ACCESS_KEY);
    client.create_bucket().bucket(BUCKET).send().await.expect("a bucket");
    (s3, client)
}

/// Sends a presigned request with its signed headers, overriding some, and `body`, as an
/// HTTP client does: `Content-Length` is the body's.
async fn send(presigned: &PresignedRequest, overrides: &[(&str, &str)], body: &'static [u8]) -> u16 {
    let method = reqwest::Method::from_bytes(presigned.method().as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, presigned.uri());
    for (name, value) in presigned.headers() {
        let overridden = overrides.iter().any(|(overridden, _)| overridden.eq_ignore_ascii_case(name));
        if !overridden && !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value);
        }
    }
    for (name, value) in overrides {
        request = request.header(*name, *value);
    }
    request.body(body).send().await.expect("the server answers").status().as_u16()
}

#[tokio::test]
async fn signed_requests_are_served_and_forged_ones_refused() {
    let (s3, client) = with_bucket().await;
    let body = ByteStream::from_static(b"hello");
    client.put_object().bucket(BUCKET).key("a/b").content_type("text/plain").body(body).send().await.unwrap();
    let got = client.get_object().bucket(BUCKET).key("a/b").send().await.unwrap();
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"hello");

    let forged = client_of(&s3, "not-the-secret").get_object().bucket(BUCKET).key("a/b").send().await.unwrap_err();
    assert_eq!(forged.raw_response().map(|r| r.status().as_u16()), Some(403));
}

#[tokio::test]
async fn a_presigned_put_takes_only_the_type_and_size_it_was_signed_for() {
    let (_s3, client) = with_bucket().await;
    let presigned = client
        .put_object()
        .bucket(BUCKET)
        .key("upload")
        .content_type("image/png")
        .content_length(4)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    assert_eq!(send(&presigned, &[("content-type", "text/html")], b"\x89PNG").await, 403, "another type");
    assert_eq!(send(&presigned, &[], b"\x89PNG and more").await, 403, "a larger body");
    assert_eq!(send(&presigned, &[], b"\x89PNG").await, 200);
    let stored = client.head_object().bucket(BUCKET).key("upload").send().await.unwrap();
    assert_eq!((stored.content_type(), stored.content_length()), (Some("image/png"), Some(4)));
}

#[tokio::test]
async fn a_presigned_get_stops_working_when_it_expires() {
    let (_s3, client) = with_bucket().await;
    let body = ByteStream::from_static(b"bytes");
    client.put_object().bucket(BUCKET).key("file").body(body).send().await.unwrap();
    let fresh = PresigningConfig::expires_in(Duration::from_secs(60)).unwrap();
    let fresh = client.get_object().bucket(BUCKET).key("file").presigned(fresh).await.unwrap();
    assert_eq!(send(&fresh, &[], b"").await, 200);
    // Signed ten minutes ago for one: expired, though the signature is right.
    let expired = PresigningConfig::builder()
        .start_time(SystemTime::now() - Duration::from_secs(600))
        .expires_in(Duration::from_secs(60))
        .build()
        .unwrap();
    let expired = client.get_object().bucket(BUCKET).key("file").presigned(expired).await.unwrap();
    assert_eq!(send(&expired, &[], b"").await, 403);
}
