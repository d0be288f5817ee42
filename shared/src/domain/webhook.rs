//! Webhooks: a platform's subscriptions to the events out, what a delivery carries and how
//! it is signed, and when a failed one is tried again.
//!
//! A delivery is a POST of the event's JSON. Its `Support-Chat-Signature` header is
//! `t=<unix seconds>,v1=<hex>`, the hex being HMAC-SHA256, keyed with the subscription's
//! secret, of the bytes `<t>.<body>`: the timestamp, a dot, and the body exactly as sent.
//! Each attempt is signed anew, so a receiver refuses any timestamp older than a few minutes
//! and a replayed delivery with it.

use std::time::Duration;

use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};

use super::ids::SessionId;
use super::outbound::{EventKind, OutboundEvent};
use crate::Timestamp;

/// Subscriptions a deployment keeps at most.
pub const MAX_WEBHOOKS: usize = 25;
pub const MAX_URL_LENGTH: usize = 2048;
/// A secret a platform chooses is at least this long (and at most [`MAX_SECRET_LENGTH`]).
pub const MIN_SECRET_LENGTH: usize = 32;
pub const MAX_SECRET_LENGTH: usize = 256;
/// A receiver answers within this, or the attempt failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long after it was queued a delivery is tried, unless configured; then it is kept as
/// dead, to be replayed.
pub const RETRY_WINDOW_SECONDS: i64 = 24 * 60 * 60;
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY_SECONDS: u64 = 60 * 60;
/// The header that carries a delivery's signature.
pub const SIGNATURE_HEADER: &str = "Support-Chat-Signature";
/// How old a signature's timestamp the example receivers accept.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 5 * 60;
/// The event type that subscribes to every event.
pub const ALL_EVENTS: &str = "*";

/// A subscription, as the platform API shows it: never with its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// Event types (`session.closed`), or `*` for every one.
    pub event_types: Vec<String>,
    pub created_at: Timestamp,
}

impl Webhook {
    /// Whether the subscription asked for events of `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.event_types.iter().any(|wanted| wanted == ALL_EVENTS || wanted == kind.name())
    }
}

/// The key a subscription's deliveries are signed with. Shown once, when the subscription
/// is created; never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl WebhookSecret {
    /// 32 random bytes, in URL-safe base64 behind `whsec_`.
    pub fn generate() -> Self {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the system's random source");
        WebhookSecret(format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A secret the platform chose.
    pub fn chosen(secret: String) -> Result<Self, WebhookInputError> {
        if !(MIN_SECRET_LENGTH..=MAX_SECRET_LENGTH).contains(&secret.len()) || secret.chars().any(char::is_control) {
            return Err(WebhookInputError(format!(
                "secret must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} printable characters"
            )));
        }
        Ok(WebhookSecret(secret))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A subscription with its secret: what a delivery needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: WebhookSecret,
}

/// Why a subscription was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WebhookInputError(String);

/// A new subscription's id: `wh_` and 16 random bytes in hex.
pub fn new_webhook_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system's random source");
    format!("wh_{}", hex::encode(bytes))
}

/// Whether `id` is shaped as [`new_webhook_id`] makes them.
pub fn is_webhook_id(id: &str) -> bool {
    id.strip_prefix("wh_").is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A receiver's URL: HTTPS, or HTTP to this machine (a receiver under development); no
/// user or password (the URL is shown and logged), no fragment.
pub fn check_webhook_url(url: &str) -> Result<String, WebhookInputError> {
    let refused = |why: &str| Err(WebhookInputError(format!("url {why}")));
    if url.len() > MAX_URL_LENGTH {
        return refused(&format!("is longer than {MAX_URL_LENGTH} characters"));
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return refused("is not an absolute URL");
    };
    let loopback = match parsed.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return refused("has no host"),
    };
    if !(parsed.scheme() == "https" || parsed.scheme() == "http" && loopback) {
        return refused("must be https (http only to localhost)");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return refused("must not hold a user or password");
    }
    if parsed.fragment().is_some() {
        return refused("must not have a fragment");
    }
    Ok(parsed.into())
}

/// The event types asked for: known ones or `*`, at least one; sorted, once each.
pub fn check_event_types(types: Vec<String>) -> Result<Vec<String>, WebhookInputError> {
    if types.is_empty() {
        return Err(WebhookInputError("event_types must name at least one event type, or *".into()));
    }
    if let Some(unknown) =
        types.iter().find(|name| *name != ALL_EVENTS && !EventKind::ALL.iter().any(|kind| kind.name() == *name))
    {
        let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.name()).collect();
        return Err(WebhookInputError(format!("unknown event type {unknown:?}: one of {}, or *", known.join(", "))));
    }
    let mut types = types;
    types.sort();
    types.dedup();
    Ok(types)
}

/// The `Support-Chat-Signature` of `body` sent at `timestamp` (unix seconds).
pub fn sign_delivery(secret: &WebhookSecret, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let tag = hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(tag.as_ref()))
}

/// Whether `header` signs `body` with `secret` at a time within the tolerance of `now`
/// (unix seconds): what a receiver checks.
pub fn verify_delivery(secret: &WebhookSecret, header: &str, body: &str, now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return false };
    if (now - timestamp).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return false;
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let signed = format!("{timestamp}.{body}");
    signatures.iter().any(|signature| hmac::verify(&key, signed.as_bytes(), signature).is_ok())
}

/// One event on its way to one subscription: what the delivery queue holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub session_id: SessionId,
    /// The event's place in the table's change stream: the log lists deliveries by it.
    pub sequence: String,
    /// The body as it is posted, byte for byte: the event's JSON.
    pub payload: String,
    /// How often it was replayed after it died.
    #[serde(default)]
    pub replays: u32,
}

impl QueuedDelivery {
    pub fn new(webhook_id: &str, event: &OutboundEvent) -> Self {
        QueuedDelivery {
            webhook_id: webhook_id.to_owned(),
            event_id: event.id.clone(),
            event_type: event.kind.name().to_owned(),
            session_id: event.session_id,
            sequence: event.sequence.clone().unwrap_or_default(),
            payload: serde_json::to_string(event).expect("events serialise to JSON"),
            replays: 0,
        }
    }

    /// Deliveries of one session to one subscription are made one after another, in order.
    pub fn ordering_group(&self) -> String {
        format!("{}:{}", self.webhook_id, self.session_id)
    }

    /// The same event for the same subscription is queued once, however often it is put
    /// (and once per replay).
    pub fn deduplication_id(&self) -> String {
        format!("{}:{}:{}", self.webhook_id, self.event_id, self.replays)
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Delivered,
    /// An attempt failed; the next is at `next_attempt_at`.
    Retrying,
    /// Tried for [`RETRY_WINDOW_SECONDS`]; kept to be replayed.
    Dead,
    /// Replayed after it was dead: queued again.
    Replayed,
}

/// A subscription's delivery log: one entry per event, as its last attempt left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub session_id: SessionId,
    /// The event's place in the table's change stream.
    pub sequence: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The receiver's last HTTP status, if it answered.
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl DeliveryRecord {
    /// The entry of `delivery`, `attempts` made, as it stands at `at`; no answer, no error,
    /// no next attempt.
    pub fn of(delivery: &QueuedDelivery, status: DeliveryStatus, attempts: u32, at: Timestamp) -> Self {
        DeliveryRecord {
            webhook_id: delivery.webhook_id.clone(),
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            session_id: delivery.session_id,
            sequence: delivery.sequence.clone(),
            status,
            attempts,
            last_status_code: None,
            last_error: None,
            next_attempt_at: None,
            updated_at: at,
        }
    }
}

/// What is done after an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    After(Duration),
    /// The window is over: the delivery is dead.
    GiveUp,
}

/// After failed attempt number `attempt` (from 1) of a delivery queued at `queued_at`:
/// exponential backoff from one second, doubling up to an hour, each wait drawn between its
/// half and its whole (`jitter` in 0..1) so that receivers coming back are not hit by every
/// queued delivery at once; none past the retry window of `window_seconds`.
pub fn retry_after(attempt: u32, queued_at: Timestamp, now: Timestamp, window_seconds: i64, jitter: f64) -> Retry {
    let ceiling = 2u64.saturating_pow(attempt.saturating_sub(1)).min(MAX_RETRY_DELAY_SECONDS) as f64;
    let wait = Duration::from_secs_f64(ceiling / 2.0 + ceiling / 2.0 * jitter.clamp(0.0, 1.0));
    let left = window_seconds - now.seconds_since(queued_at);
    if left <= 0 { Retry::GiveUp } else { Retry::After(wait.min(Duration::from_secs(left as u64))) }
}

/// A number in 0..1 from the system's random source, for [`retry_after`].
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the system's random source");
    f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_the_timestamp_and_the_body() {
        let secret = WebhookSecret::chosen("s".repeat(32)).unwrap();
        let header = sign_delivery(&secret, 1_700_000_000, r#"{"id":"message-1"}"#);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify_delivery(&secret, &header, r#"{"id":"message-1"}"#, 1_700_000_100));
        // Another body, another time, another secret, or too old: refused.
        assert!(!verify_delivery(&secret, &header, r#"{"id":"message-2"}"#, 1_700_000_100));
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert!(!verify_delivery(&secret, &moved, r#"{"id":"message-1"}"#, 1_700_000_100));
        let other = WebhookSecret::chosen("t".repeat(32)).unwrap();
        assert!(!verify_delivery(&other, &header, r#"{"id":"message-1"}"#, 1_700_000_100));
        assert!(!verify_delivery(&secret, &header, r#"{"id":"message-1"}"#, 1_700_000_000 + 301));
        assert!(!verify_delivery(&secret, "v1=00", r#"{"id":"message-1"}"#, 1_700_000_000));
    }

    #[test]
    fn the_known_signature_of_a_known_body() {
        // As Python computes it: hmac.new(secret, b"1.{}", hashlib.sha256).hexdigest().
        let secret = WebhookSecret::chosen("0123456789abcdef0123456789abcdef".into()).unwrap();
        assert_eq!(
            sign_delivery(&secret, 1, "{}"),
            "t=1,v1=1642a706b2e4d9fa8663449a8826d942c133b097231992683d5a44c2afc57499"
        );
    }

    #[test]
    fn retries_back_off_exponentially_within_the_window() {
        let start = Timestamp::now();
        let wait = |attempt, jitter| match retry_after(attempt, start, start, RETRY_WINDOW_SECONDS, jitter) {
            Retry::After(wait) => wait.as_secs_f64(),
            Retry::GiveUp => panic!("within the window"),
        };
        assert_eq!((wait(1, 0.0), wait(1, 1.0)), (0.5, 1.0));
        assert_eq!((wait(5, 0.0), wait(5, 1.0)), (8.0, 16.0));
        assert_eq!(wait(40, 1.0), 3600.0);
        // Never past the window, and none after it.
        let late = start.plus_seconds(RETRY_WINDOW_SECONDS - 10);
        assert_eq!(retry_after(30, start, late, RETRY_WINDOW_SECONDS, 1.0), Retry::After(Duration::from_secs(10)));
        let over = start.plus_seconds(RETRY_WINDOW_SECONDS);
        assert_eq!(retry_after(30, start, over, RETRY_WINDOW_SECONDS, 1.0), Retry::GiveUp);
        assert!((0.0..=1.0).contains(&jitter()));
    }

    #[test]
    fn urls_and_event_types_are_checked() {
        assert_eq!(check_webhook_url("https://hooks.example.com/chat").unwrap(), "https://hooks.example.com/chat");
        assert!(check_webhook_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(check_webhook_url("http://localhost/hook").is_ok());
        for bad in ["http://hooks.example.com/", "ftp://x/", "https://user:pw@x.example/", "https://x/#f", "/relative"]
        {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
        assert!(check_webhook_url(&format!("https://x.example/{}", "a".repeat(MAX_URL_LENGTH))).is_err());
        assert_eq!(
            check_event_types(vec!["session.closed".into(), "message.created".into(), "session.closed".into()])
                .unwrap(),
            ["message.created", "session.closed"]
        );
        assert!(check_event_types(vec![]).is_err());
        assert!(check_event_types(vec!["session.exploded".into()]).is_err());
        let hook = Webhook {
            id: new_webhook_id(),
            url: "https://x.example/".into(),
            event_types: vec!["session.closed".into()],
            created_at: Timestamp::now(),
        };
        assert!(is_webhook_id(&hook.id) && !is_webhook_id("wh_1"));
        assert!(hook.wants(EventKind::SessionClosed) && !hook.wants(EventKind::MessageCreated));
        assert!(Webhook { event_types: vec!["*".into()], ..hook }.wants(EventKind::MessageCreated));
        assert!(WebhookSecret::chosen("short".into()).is_err());
        assert!(WebhookSecret::generate().expose().len() > MIN_SECRET_LENGTH);
        assert_eq!(format!("{:?}", WebhookSecret::generate()), "WebhookSecret(…)");
    }
}
