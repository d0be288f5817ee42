//! A platform's requests, signed with SigV4 by the `aws-sigv4` crate as an SDK signs them.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::Value;

use crate::gateway::Gateway;

/// The key pair the test gateways accept from the platform (`--platform-credentials`).
pub const PLATFORM_KEY: [&str; 2] = ["AKIDPLATFORMTEST", "platform-test-secret"];

/// A request of the platform's, to be signed and sent.
pub struct Signed<'a> {
    pub method: &'a str,
    /// The path and query, as sent.
    pub path: &'a str,
    pub body: Option<Value>,
    pub key: [&'a str; 2],
    pub at: SystemTime,
}

impl<'a> Signed<'a> {
    pub fn post(path: &'a str, body: Value) -> Self {
        Signed { method: "POST", path, body: Some(body), key: PLATFORM_KEY, at: SystemTime::now() }
    }

    pub fn put(path: &'a str, body: Value) -> Self {
        Signed { method: "PUT", path, body: Some(body), key: PLATFORM_KEY, at: SystemTime::now() }
    }

    pub fn get(path: &'a str) -> Self {
        Signed { method: "GET", path, body: None, key: PLATFORM_KEY, at: SystemTime::now() }
    }

    /// Signs and sends it as is.
    pub async fn send(&self, gateway: &Gateway) -> (u16, Value) {
        let body = self.body.as_ref().map(Value::to_string).unwrap_or_default();
        self.exchange(gateway, self.path, &body, &body).await
    }

    /// Signs and sends `body` as it is (not necessarily JSON) in place of its own.
    pub async fn send_raw(&self, gateway: &Gateway, body: &str) -> (u16, Value) {
        self.exchange(gateway, self.path, body, body).await
    }

    /// Signs it, then sends `sent_body` instead: a request altered on its way.
    pub async fn send_altered(&self, gateway: &Gateway, sent_body: &str) -> (u16, Value) {
        let body = self.body.as_ref().map(Value::to_string).unwrap_or_default();
        self.exchange(gateway, self.path, &body, sent_body).await
    }

    /// Signs it, then sends it to `sent_path` instead.
    pub async fn send_to(&self, gateway: &Gateway, sent_path: &str) -> (u16, Value) {
        let body = self.body.as_ref().map(Value::to_string).unwrap_or_default();
        self.exchange(gateway, sent_path, &body, &body).await
    }

    async fn exchange(&self, gateway: &Gateway, sent_path: &str, signed_body: &str, sent_body: &str) -> (u16, Value) {
        let url = gateway.url(sent_path);
        let host = url.split('/').nth(2).expect("a URL with a host").to_owned();
        let identity = Credentials::new(self.key[0], self.key[1], None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("execute-api")
            .time(self.at)
            .settings(SigningSettings::default())
            .build()
            .expect("complete signing parameters")
            .into();
        let headers = [("host", host.as_str()), ("content-type", "application/json")];
        let signable = SignableRequest::new(
            self.method,
            self.path,
            headers.into_iter(),
            SignableBody::Bytes(signed_body.as_bytes()),
        )
        .expect("a signable request");
        let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).expect("a method");
        let mut request = reqwest::Client::new()
            .request(method, &url)
            .header("content-type", "application/json")
            .body(sent_body.to_owned());
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }
}
