//! A webhook receiver, as a platform runs one: it verifies every delivery's signature and
//! records what it took, by event id. It can be told to fail as receivers in the wild do:
//! be down (nothing listens on its port), answer 500, or not answer in time.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use shared::Timestamp;
use shared::domain::{SIGNATURE_HEADER, WebhookSecret, verify_delivery};
use tokio::task::JoinHandle;

/// How the receiver answers the `n`th delivery it is sent (from 1).
pub type Answering = fn(u64) -> Answer;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Take,
    Fail500,
    /// Answers after the sender gave up (its limit is five seconds).
    TooLate,
}

/// A delivery the receiver took (answered 2xx): its event, and how long after the event
/// happened it arrived.
#[derive(Clone, Debug)]
pub struct Taken {
    pub event: Value,
    pub lag: Duration,
}

pub struct Receiver {
    address: SocketAddr,
    state: Arc<State>,
    server: Mutex<Option<JoinHandle<()>>>,
}

struct State {
    secret: Mutex<Option<WebhookSecret>>,
    answering: Answering,
    sent: AtomicU64,
    refused: AtomicU64,
    taken: Mutex<Vec<Taken>>,
}

impl Receiver {
    /// Listening on a port of its own, answering as `answering` says.
    pub async fn start(answering: Answering) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(State {
            secret: Mutex::new(None),
            answering,
            sent: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            taken: Mutex::new(Vec::new()),
        });
        let server = serve(listener, state.clone());
        Receiver { address, state, server: Mutex::new(Some(server)) }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/support-chat", self.address)
    }

    /// The secret its subscription was given.
    pub fn trust(&self, secret: &str) {
        *self.state.secret.lock().unwrap() = Some(WebhookSecret::chosen(secret.to_owned()).unwrap());
    }

    /// Stops listening: deliveries find no one.
    pub fn go_down(&self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }

    /// Listens again, on the same port.
    pub fn come_back(&self) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.address).unwrap();
        let listener = socket.listen(128).unwrap();
        *self.server.lock().unwrap() = Some(serve(listener, self.state.clone()));
    }

    /// Every delivery taken, in the order it came.
    pub fn taken(&self) -> Vec<Taken> {
        self.state.taken.lock().unwrap().clone()
    }

    /// Deliveries whose signature did not verify.
    pub fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// Deliveries sent to it, taken or not (not those that found it down).
    pub fn sent(&self) -> u64 {
        self.state.sent.load(Ordering::SeqCst)
    }

    /// Waits until `enough` holds of what it took, up to `limit`: what it took, or past the
    /// limit what it took by then.
    pub async fn taken_until(&self, limit: Duration, enough: impl Fn(&[Taken]) -> bool) -> Result<Vec<Taken>, usize> {
        let deadline = Instant::now() + limit;
        loop {
            let taken = self.taken();
            if enough(&taken) {
                return Ok(taken);
            }
            if Instant::now() > deadline {
                return Err(taken.len());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.go_down();
    }
}

fn serve(listener: tokio::net::TcpListener, state: Arc<State>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let state = state.clone();
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(state.answer(request).await) }
            });
            tokio::spawn(async move {
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}

impl State {
    async fn answer(&self, request: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
        let respond = |status: u16| hyper::Response::builder().status(status).body(Full::new(Bytes::new())).unwrap();
        let n = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
        let signature = request.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let body = String::from_utf8_lossy(&body).into_owned();
        let secret = self.secret.lock().unwrap().clone();
        let verified = match (secret, signature) {
            (Some(secret), Some(signature)) => {
                verify_delivery(&secret, &signature, &body, Timestamp::now().unix_seconds())
            }
            _ => false,
        };
        if !verified {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return respond(400);
        }
        match (self.answering)(n) {
            Answer::Fail500 => return respond(500),
            Answer::TooLate => {
                tokio::time::sleep(Duration::from_secs(7)).await;
                return respond(200);
            }
            Answer::Take => {}
        }
        let event: Value = serde_json::from_str(&body).expect("a delivery is an event's JSON");
        let happened = Timestamp::parse(event["occurred_at"].as_str().unwrap()).unwrap();
        let lag = Duration::from_millis(Timestamp::now().millis_since(happened));
        self.taken.lock().unwrap().push(Taken { event, lag });
        respond(204)
    }
}
