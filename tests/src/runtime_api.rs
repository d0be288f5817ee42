//! A minimal Lambda Runtime API: enough for a function binary to fetch events and post
//! its answers, as it does in AWS (`AWS_LAMBDA_RUNTIME_API`).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;

const PREFIX: &str = "/2018-06-01/runtime";

/// The project key the functions started here check (the recorded events carry it).
pub const PROJECT_KEY: &str = "example-project-key";

/// The function binary `function` as Lambda starts it: pointed at `api`, with the
/// environment `template.yaml` gives it (resolved to `table` on DynamoDB Local and to no
/// WebSocket API), and the variables Lambda itself sets. Killed when dropped.
pub fn function_command(function: &str, api: &RuntimeApi, table: &str) -> tokio::process::Command {
    let mut local = sam_template::LocalValues { table_name: table.to_owned(), ..Default::default() };
    local.parameters.insert("ProjectKey".into(), PROJECT_KEY.into());
    let environment = sam_template::Template::embedded()
        .environment_of(function, &local)
        .unwrap_or_else(|error| panic!("the environment of {function}: {error}"));
    let mut command = tokio::process::Command::new(crate::stack::binary(function));
    command
        .env_clear()
        .envs(environment)
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_ENDPOINT_URL_DYNAMODB", crate::stack::dynamodb().endpoint())
        .kill_on_drop(true);
    command
}

/// What the function posted back for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Default)]
struct State {
    pending: Mutex<VecDeque<(String, Value)>>,
    outcomes: Mutex<HashMap<String, Outcome>>,
    init_error: Mutex<Option<Value>>,
    queued: Notify,
    answered: Notify,
    /// Set when the function first asks for an event: its initialisation is done.
    first_poll: Mutex<Option<std::time::Instant>>,
}

pub struct RuntimeApi {
    address: SocketAddr,
    state: Arc<State>,
    next_id: Mutex<u32>,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let server_state = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = server_state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(route(&state, request).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        RuntimeApi { address, state, next_id: Mutex::new(0) }
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API` for the function.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Queues an event for the function; returns its request id.
    pub fn queue(&self, event: Value) -> String {
        let id = {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            format!("00000000-0000-4000-8000-{:012}", *next)
        };
        self.state.pending.lock().unwrap().push_back((id.clone(), event));
        self.state.queued.notify_waiters();
        self.state.queued.notify_one();
        id
    }

    /// When the function first asked for an event, if it has.
    pub fn first_poll(&self) -> Option<std::time::Instant> {
        *self.state.first_poll.lock().unwrap()
    }

    /// Waits for the function's answer to the event `id`.
    pub async fn outcome(&self, id: &str) -> Outcome {
        let wait = async {
            loop {
                let answered = self.state.answered.notified();
                if let Some(outcome) = self.state.outcomes.lock().unwrap().get(id) {
                    return outcome.clone();
                }
                if let Some(error) = self.state.init_error.lock().unwrap().clone() {
                    panic!("the function failed to initialise: {error}");
                }
                answered.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait).await.expect("the function answered within a minute")
    }
}

fn reply(status: StatusCode, headers: &[(&str, String)], body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, value);
    }
    response.body(Full::new(Bytes::from(body))).unwrap()
}

async fn route(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let json = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return reply(StatusCode::NOT_FOUND, &[], Vec::new());
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["invocation", "next"]) => {
            state.first_poll.lock().unwrap().get_or_insert_with(std::time::Instant::now);
            let (id, event) = loop {
                let queued = state.queued.notified();
                if let Some(next) = state.pending.lock().unwrap().pop_front() {
                    break next;
                }
                queued.await;
            };
            let deadline =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 30_000;
            let headers = [
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:test".into()),
                ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into()),
                ("content-type", "application/json".into()),
            ];
            reply(StatusCode::OK, &headers, serde_json::to_vec(&event).unwrap())
        }
        (Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let outcome = if *kind == "response" { Outcome::Response(json()) } else { Outcome::Error(json()) };
            state.outcomes.lock().unwrap().insert((*id).to_owned(), outcome);
            state.answered.notify_waiters();
            reply(StatusCode::ACCEPTED, &[], br#"{"status":"OK"}"#.to_vec())
        }
        (Method::POST, ["init", "error"]) => {
            *state.init_error.lock().unwrap() = Some(json());
            state.answered.notify_waiters();
            reply(StatusCode::ACCEPTED, &[], br#"{"status":"OK"}"#.to_vec())
        }
        _ => reply(StatusCode::NOT_FOUND, &[], Vec::new()),
    }
}
