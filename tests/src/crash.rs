//! A crash at the worst moment: a proxy in front of an AWS stand-in (moto) that, once a
//! request of one operation has gone through, kills the gateway's instances of a function
//! before they hear the answer. What the instance did is done; that it did it is lost.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

pub struct CrashAfter {
    endpoint: String,
    killed: Arc<AtomicUsize>,
    gateway: watch::Sender<Option<u32>>,
}

struct Proxy {
    upstream: String,
    operation: &'static str,
    program: &'static str,
    client: reqwest::Client,
    /// Whether the crash came: once, at the first request of `operation`.
    crashed: AtomicBool,
    killed: Arc<AtomicUsize>,
    gateway: watch::Receiver<Option<u32>>,
}

impl CrashAfter {
    /// Forwards every request to `upstream`; once the first whose `X-Amz-Target` is
    /// `operation` is answered there, kills the gateway's instances of `program` (the gateway
    /// named by [`CrashAfter::watch`]), then passes the answer on to no one.
    pub async fn start(upstream: String, operation: &'static str, program: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let killed = Arc::new(AtomicUsize::new(0));
        let (gateway, watched) = watch::channel(None);
        let proxy = Arc::new(Proxy {
            upstream,
            operation,
            program,
            client: reqwest::Client::new(),
            crashed: AtomicBool::new(false),
            killed: killed.clone(),
            gateway: watched,
        });
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let proxy = proxy.clone();
                let service = service_fn(move |request| {
                    let proxy = proxy.clone();
                    async move { Ok::<_, Infallible>(proxy.forward(request).await) }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        CrashAfter { endpoint, killed, gateway }
    }

    /// Its endpoint, for the gateway's options.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The gateway whose instances it kills (started after the proxy, whose endpoint it
    /// takes).
    pub fn watch(&self, gateway_pid: u32) {
        self.gateway.send_replace(Some(gateway_pid));
    }

    /// How many instances it killed.
    pub fn killed(&self) -> usize {
        self.killed.load(Ordering::SeqCst)
    }
}

impl Proxy {
    async fn forward(&self, request: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let crash = target == self.operation;
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut upstream = self.client.request(parts.method.clone(), format!("{}{path}", self.upstream)).body(body);
        for (name, value) in &parts.headers {
            if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
                upstream = upstream.header(name, value);
            }
        }
        let answer = upstream.send().await.expect("the stand-in answers");
        let mut response = hyper::Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            if name != hyper::header::CONTENT_LENGTH && name != hyper::header::TRANSFER_ENCODING {
                response = response.header(name, value);
            }
        }
        let body = answer.bytes().await.expect("the stand-in's answer");
        if crash && !self.crashed.swap(true, Ordering::SeqCst) {
            let mut gateway = self.gateway.clone();
            let pid = gateway.wait_for(Option::is_some).await.expect("the test names the gateway").expect("named");
            let killed = crate::gateway::kill_children(pid, self.program);
            self.killed.fetch_add(killed, Ordering::SeqCst);
        }
        response.body(Full::new(body)).unwrap()
    }
}
