//! The Lambda Runtime API of one instance (`AWS_LAMBDA_RUNTIME_API`): the function asks
//! for its next event (`GET …/invocation/next`, held open until there is one) and posts the
//! answer (`…/invocation/{id}/response` or `/error`), or reports a failed start
//! (`…/init/error`). One API per instance: Lambda hands each instance one event at a time.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

const PREFIX: &str = "/2018-06-01/runtime";

/// Where an instance's start stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Initialising,
    /// The function asked for its first event: its initialisation is done.
    Ready,
    /// The function reported that it could not start.
    InitFailed(Value),
}

/// What the function posted for one event.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    /// The function's error report (`errorType`, `errorMessage`).
    Error(Value),
}

struct Invocation {
    request_id: String,
    event: Value,
    deadline: SystemTime,
    answer: oneshot::Sender<Outcome>,
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// The event the function is working on: its request id and where its answer goes.
    current: Mutex<Option<(String, oneshot::Sender<Outcome>)>>,
    phase: watch::Sender<Phase>,
    function_arn: String,
}

/// One instance's Runtime API, served on a loopback port until dropped.
pub struct RuntimeApi {
    address: SocketAddr,
    events: mpsc::Sender<Invocation>,
    phase: watch::Receiver<Phase>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (events, receiver) = mpsc::channel(1);
        let (phase, phase_receiver) = watch::channel(Phase::Initialising);
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(receiver),
            current: Mutex::new(None),
            phase,
            function_arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{function_name}"),
        });
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(route(&shared, request).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(RuntimeApi { address, events, phase: phase_receiver, server })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Waits until the function is past its initialisation, one way or the other.
    pub async fn started(&mut self) -> Phase {
        let phase = self.phase.wait_for(|phase| *phase != Phase::Initialising).await;
        phase.map(|phase| phase.clone()).unwrap_or(Phase::Initialising)
    }

    /// Hands `event` to the function (once it has finished the one before); the receiver
    /// gets its answer. The function has `timeout` for it, which its context's deadline says.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> oneshot::Receiver<Outcome> {
        let (answer, outcome) = oneshot::channel();
        let invocation = Invocation { request_id: request_id(), event, deadline: SystemTime::now() + timeout, answer };
        // Only fails once the server is gone, and then the receiver says so.
        let _ = self.events.send(invocation).await;
        outcome
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn reply(status: StatusCode, headers: &[(&str, String)], body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, value);
    }
    response.body(Full::new(Bytes::from(body))).expect("the headers are valid")
}

fn accepted() -> Response<Full<Bytes>> {
    reply(StatusCode::ACCEPTED, &[], br#"{"status":"OK"}"#.to_vec())
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = json!({ "errorType": "InvalidRequest", "errorMessage": message });
    reply(status, &[("content-type", "application/json".into())], body.to_string().into_bytes())
}

async fn route(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return error(StatusCode::NOT_FOUND, "no such resource");
    };
    let posted = || serde_json::from_slice::<Value>(&body);
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(shared).await,
        (Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let Some(answer) = take_current(shared, id) else {
                return error(StatusCode::BAD_REQUEST, "no invocation with this id is running");
            };
            let outcome = match (posted(), *kind) {
                (Ok(value), "response") => Outcome::Response(value),
                (Ok(value), _) => Outcome::Error(value),
                (Err(parse), _) => Outcome::Error(json!({
                    "errorType": "Runtime.InvalidResponse",
                    "errorMessage": format!("the function's {kind} is not JSON: {parse}"),
                })),
            };
            let _ = answer.send(outcome);
            accepted()
        }
        (Method::POST, ["init", "error"]) => {
            let report = posted().unwrap_or_else(|_| json!({ "errorType": "Runtime.Unknown" }));
            shared.phase.send_replace(Phase::InitFailed(report));
            accepted()
        }
        _ => error(StatusCode::NOT_FOUND, "no such resource"),
    }
}

fn take_current(shared: &Shared, id: &str) -> Option<oneshot::Sender<Outcome>> {
    let mut current = shared.current.lock().unwrap_or_else(|p| p.into_inner());
    match current.take() {
        Some((running, answer)) if running == id => Some(answer),
        other => {
            *current = other;
            None
        }
    }
}

/// Holds the request until there is an event, as Lambda does (the instance is frozen there).
async fn next(shared: &Shared) -> Response<Full<Bytes>> {
    shared.phase.send_if_modified(|phase| {
        let first = *phase == Phase::Initialising;
        if first {
            *phase = Phase::Ready;
        }
        first
    });
    let Some(invocation) = shared.events.lock().await.recv().await else {
        return error(StatusCode::GONE, "the instance is stopping");
    };
    let deadline = invocation.deadline.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    let headers = [
        ("lambda-runtime-aws-request-id", invocation.request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", shared.function_arn.clone()),
        ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into()),
        ("content-type", "application/json".into()),
    ];
    *shared.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((invocation.request_id, invocation.answer));
    reply(StatusCode::OK, &headers, invocation.event.to_string().into_bytes())
}

/// A Lambda request id: a random UUID (version 4).
fn request_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}
