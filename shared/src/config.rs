//! Configuration from the environment, read once per Lambda instance.

use crate::domain::{DEFAULT_SENDS_PER_MINUTE, ReportZone, SendLimit};
use crate::jwt::JwtSettings;
use std::time::Duration;

/// How long a download link of an attached file works unless the deployment says otherwise
/// (`ATTACHMENT_LINK_SECONDS`).
pub const DEFAULT_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The longest a download link may work: a link signed with a function's temporary
/// credentials stops working when they expire anyway.
const MAX_LINK_SECONDS: u64 = 3600;

/// How long an admin with no inbox open still counts as there (`PRESENCE_GRACE_SECONDS`):
/// a reload is not a leave.
pub const DEFAULT_PRESENCE_GRACE: Duration = Duration::from_secs(60);
/// How long a holder may be offline before what it holds unanswered goes back to the queue
/// (`REQUEUE_DELAY_SECONDS`).
pub const DEFAULT_REQUEUE_DELAY: Duration = Duration::from_secs(120);
/// How long a store waits in the queue, within hours, before it is told nobody is free yet.
pub const DEFAULT_AWAY_REPLY_AFTER: Duration = Duration::from_secs(5 * 60);
/// How long a team answer may go undelivered before the store is mailed it
/// (`DIGEST_AFTER_SECONDS`).
pub const DEFAULT_DIGEST_AFTER: Duration = Duration::from_secs(5 * 60);
/// How long a session may wait unassigned, within hours, before the admins on call are
/// mailed (`ON_CALL_AFTER_SECONDS`).
pub const DEFAULT_ON_CALL_AFTER: Duration = Duration::from_secs(10 * 60);
/// Email waits are SQS delays, which go up to a quarter hour.
const MAX_EMAIL_WAIT_SECONDS: u64 = 900;
pub const DEFAULT_WEBHOOK_RETRY_WINDOW: Duration =
    Duration::from_secs(crate::domain::RETRY_WINDOW_SECONDS.unsigned_abs());

/// The project keys a deployment accepts, as SHA-256 digests: a key is never kept in clear
/// once read, and one presented is compared with each in constant time.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProjectKeys(Vec<[u8; 32]>);

impl ProjectKeys {
    /// From a comma-separated list of hex digests; `None` if one is not a digest.
    pub fn from_digests(list: Option<&str>) -> Option<Self> {
        let digests = list.into_iter().flat_map(|list| list.split(',')).map(str::trim).filter(|d| !d.is_empty());
        let decoded = digests.map(|digest| hex::decode(digest).ok()?.try_into().ok());
        decoded.collect::<Option<Vec<[u8; 32]>>>().map(ProjectKeys)
    }

    /// The digests as the deployment takes them (`PROJECT_KEY_SHA256`, the template's
    /// `ProjectKeyDigests`).
    pub fn digests(&self) -> String {
        self.0.iter().map(hex::encode).collect::<Vec<_>>().join(",")
    }

    /// From a comma-separated list of keys (a local stack's); blanks are no keys.
    pub fn from_list(list: Option<&str>) -> Self {
        use sha2::{Digest, Sha256};
        let keys = list.into_iter().flat_map(|list| list.split(',')).map(str::trim).filter(|key| !key.is_empty());
        ProjectKeys(keys.map(|key| Sha256::digest(key.as_bytes()).into()).collect())
    }

    /// Whether `presented` is one of the keys (none is accepted when there are none).
    pub fn accept(&self, presented: &str) -> bool {
        use sha2::{Digest, Sha256};
        use subtle::ConstantTimeEq;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Every key is compared, whichever matches: the time says nothing of which did.
        self.0.iter().fold(subtle::Choice::from(0), |found, key| found | key.ct_eq(&digest)).into()
    }
}

// Digests are not secrets, but nothing gains from them in a log.
impl std::fmt::Debug for ProjectKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProjectKeys({} keys)", self.0.len())
    }
}

/// Who gives waiting sessions to admins (`ASSIGNMENT_POLICY`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AssignmentPolicy {
    /// Admins claim from the shared queue.
    #[default]
    Manual,
    /// Each waiting session goes to an available admin within its capacity; claims by hand
    /// still work.
    Auto,
}

/// What a function needs to know about its deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The keys `/conversation/sessions` callers may present, as their SHA-256 digests
    /// (`PROJECT_KEY_SHA256`, hex, comma-separated: the new one and the old one while a
    /// rotation is under way). A deployed function never sees a key itself.
    pub project_keys: ProjectKeys,
    /// The WebSocket API's `@connections` endpoint (`WEBSOCKET_ENDPOINT`); without it
    /// nothing is pushed.
    pub websocket_endpoint: Option<String>,
    /// The bucket of attached files (`ATTACHMENTS_BUCKET`); without it nothing can be
    /// uploaded.
    pub attachments_bucket: Option<String>,
    /// How long the download links of attached files work (`ATTACHMENT_LINK_SECONDS`).
    pub attachment_link_lifetime: Duration,
    pub assignment: AssignmentPolicy,
    pub presence_grace: Duration,
    pub requeue_delay: Duration,
    /// How long a session may wait in the queue, within hours, before its away reply.
    pub away_reply_after: Duration,
    /// The platform's identity provider whose JWTs are accepted beside our tokens
    /// (`JWT_ISSUER` and `JWT_AUDIENCE` with `JWT_JWKS_URL`, `JWT_HS256_SECRET_ARN` or both;
    /// or none; `JWT_STORE_CLAIM`, `JWT_ADMIN_CLAIM`).
    pub jwt: Option<JwtSettings>,
    /// The EventBridge bus every event out goes to (`EVENT_BUS_NAME`); without it they go
    /// nowhere.
    pub event_bus_name: Option<String>,
    /// The SQS FIFO queue webhook deliveries wait in (`WEBHOOK_QUEUE_URL`); without it,
    /// subscriptions are kept but nothing is delivered.
    pub webhook_queue_url: Option<String>,
    /// How long a webhook delivery is tried before it is kept as dead
    /// (`WEBHOOK_RETRY_SECONDS`; a day unless set).
    pub webhook_retry_window: Duration,
    pub email: EmailSettings,
    /// How long after sending a sender may edit or delete its message
    /// (`EDIT_WINDOW_SECONDS`; 15 minutes unless set, a day at most).
    pub edit_window: Duration,
    /// How many messages one sender may send into one session per minute
    /// (`SEND_LIMIT_PER_MINUTE`; 30 unless set, 0 for no limit).
    pub send_limit: SendLimit,
    /// How long a closed session is kept after its last activity, with its messages, notes
    /// and files (`RETENTION_DAYS`; kept for good unless set, or set to 0).
    pub retention: Option<Duration>,
    /// Where the reports' days begin and end (`REPORT_TIME_ZONE`, an IANA name; UTC unless
    /// set).
    pub report_zone: ReportZone,
}

/// Email to people who are not there; off unless a job queue is configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailSettings {
    /// The SQS queue email jobs wait in until due (`EMAIL_JOBS_QUEUE_URL`).
    pub jobs_queue_url: Option<String>,
    /// The verified SES identity mails are sent from (`EMAIL_SENDER`); without it nothing
    /// is sent.
    pub sender: Option<String>,
    /// The SES configuration set sends go through (`EMAIL_CONFIGURATION_SET`).
    pub configuration_set: Option<String>,
    /// Where a store continues a conversation, `{session_id}` and `{store_id}` filled in
    /// (`CONVERSATION_URL_TEMPLATE`); without it mails hold no such link.
    pub conversation_url: Option<String>,
    /// The unsubscribe route's public URL (`UNSUBSCRIBE_URL`).
    pub unsubscribe_url: String,
    pub digest_after: Duration,
    pub on_call_after: Duration,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            jobs_queue_url: None,
            sender: None,
            configuration_set: None,
            conversation_url: None,
            unsubscribe_url: String::new(),
            digest_after: DEFAULT_DIGEST_AFTER,
            on_call_after: DEFAULT_ON_CALL_AFTER,
        }
    }
}

impl EmailSettings {
    /// The link to a store's conversation, when the platform gave a template.
    pub fn conversation_link(
        &self,
        session: crate::domain::SessionId,
        store: crate::domain::StoreId,
    ) -> Option<String> {
        let template = self.conversation_url.as_deref()?;
        Some(template.replace("{session_id}", &session.to_string()).replace("{store_id}", &store.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {0} is not {1}")]
    Invalid(&'static str, &'static str),
}

/// The claims that name a store or an admin in a platform's JWT, unless configured.
pub const DEFAULT_STORE_CLAIM: &str = "store_id";
pub const DEFAULT_ADMIN_CLAIM: &str = "admin_id";

impl Config {
    pub const DEFAULT_TABLE_NAME: &'static str = "support-chat";

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |name: &str| get(name).filter(|value| !value.is_empty());
        Ok(Config {
            table_name: non_empty("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?,
            project_keys: ProjectKeys::from_digests(non_empty("PROJECT_KEY_SHA256").as_deref())
                .ok_or(ConfigError::Invalid("PROJECT_KEY_SHA256", "SHA-256 digests in hex, comma-separated"))?,
            websocket_endpoint: non_empty("WEBSOCKET_ENDPOINT"),
            attachments_bucket: non_empty("ATTACHMENTS_BUCKET"),
            attachment_link_lifetime: match non_empty("ATTACHMENT_LINK_SECONDS") {
                None => DEFAULT_LINK_LIFETIME,
                Some(seconds) => seconds
                    .parse()
                    .ok()
                    .filter(|seconds| (1..=MAX_LINK_SECONDS).contains(seconds))
                    .map(Duration::from_secs)
                    .ok_or(ConfigError::Invalid("ATTACHMENT_LINK_SECONDS", "a number of seconds from 1 to 3600"))?,
            },
            assignment: match non_empty("ASSIGNMENT_POLICY").as_deref() {
                None | Some("manual") => AssignmentPolicy::Manual,
                Some("auto") => AssignmentPolicy::Auto,
                Some(_) => return Err(ConfigError::Invalid("ASSIGNMENT_POLICY", "manual or auto")),
            },
            presence_grace: seconds(
                non_empty("PRESENCE_GRACE_SECONDS"),
                "PRESENCE_GRACE_SECONDS",
                DEFAULT_PRESENCE_GRACE,
            )?,
            requeue_delay: seconds(non_empty("REQUEUE_DELAY_SECONDS"), "REQUEUE_DELAY_SECONDS", DEFAULT_REQUEUE_DELAY)?,
            away_reply_after: seconds(
                non_empty("AWAY_REPLY_AFTER_SECONDS"),
                "AWAY_REPLY_AFTER_SECONDS",
                DEFAULT_AWAY_REPLY_AFTER,
            )?,
            jwt: jwt_settings(&non_empty)?,
            event_bus_name: non_empty("EVENT_BUS_NAME"),
            webhook_queue_url: non_empty("WEBHOOK_QUEUE_URL"),
            webhook_retry_window: seconds(
                non_empty("WEBHOOK_RETRY_SECONDS"),
                "WEBHOOK_RETRY_SECONDS",
                DEFAULT_WEBHOOK_RETRY_WINDOW,
            )?,
            email: EmailSettings {
                jobs_queue_url: non_empty("EMAIL_JOBS_QUEUE_URL"),
                sender: non_empty("EMAIL_SENDER"),
                configuration_set: non_empty("EMAIL_CONFIGURATION_SET"),
                conversation_url: non_empty("CONVERSATION_URL_TEMPLATE"),
                unsubscribe_url: non_empty("UNSUBSCRIBE_URL").unwrap_or_default(),
                digest_after: email_wait(
                    non_empty("DIGEST_AFTER_SECONDS"),
                    "DIGEST_AFTER_SECONDS",
                    DEFAULT_DIGEST_AFTER,
                )?,
                on_call_after: email_wait(
                    non_empty("ON_CALL_AFTER_SECONDS"),
                    "ON_CALL_AFTER_SECONDS",
                    DEFAULT_ON_CALL_AFTER,
                )?,
            },
            edit_window: seconds(
                non_empty("EDIT_WINDOW_SECONDS"),
                "EDIT_WINDOW_SECONDS",
                Duration::from_secs(crate::domain::DEFAULT_EDIT_WINDOW_SECONDS),
            )?,
            send_limit: send_limit(non_empty("SEND_LIMIT_PER_MINUTE"))?,
            retention: retention(non_empty("RETENTION_DAYS"))?,
            report_zone: match non_empty("REPORT_TIME_ZONE") {
                None => ReportZone::default(),
                Some(name) => ReportZone::named(&name)
                    .ok_or(ConfigError::Invalid("REPORT_TIME_ZONE", "a time zone's IANA name (Europe/Berlin)"))?,
            },
        })
    }

    /// The configuration of a local stack.
    pub fn local(table_name: &str, project_key: Option<String>, websocket_endpoint: Option<String>) -> Self {
        Config {
            table_name: table_name.to_owned(),
            project_keys: ProjectKeys::from_list(project_key.as_deref()),
            websocket_endpoint,
            attachments_bucket: None,
            attachment_link_lifetime: DEFAULT_LINK_LIFETIME,
            assignment: AssignmentPolicy::Manual,
            presence_grace: DEFAULT_PRESENCE_GRACE,
            requeue_delay: DEFAULT_REQUEUE_DELAY,
            away_reply_after: DEFAULT_AWAY_REPLY_AFTER,
            jwt: None,
            event_bus_name: None,
            webhook_queue_url: None,
            webhook_retry_window: DEFAULT_WEBHOOK_RETRY_WINDOW,
            email: EmailSettings::default(),
            edit_window: Duration::from_secs(crate::domain::DEFAULT_EDIT_WINDOW_SECONDS),
            send_limit: SendLimit(DEFAULT_SENDS_PER_MINUTE),
            retention: None,
            report_zone: ReportZone::default(),
        }
    }
}

/// A wait before an email job, from 1 s to SQS's longest delay.
fn email_wait(value: Option<String>, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => text
            .parse()
            .ok()
            .filter(|seconds| (1..=MAX_EMAIL_WAIT_SECONDS).contains(seconds))
            .map(Duration::from_secs)
            .ok_or(ConfigError::Invalid(name, "a number of seconds from 1 to 900")),
    }
}

/// The platform's identity provider: its issuer and audience, with its JWKS URL, its HS256
/// secret's ARN, or both; none of them for none.
fn jwt_settings(non_empty: &impl Fn(&str) -> Option<String>) -> Result<Option<JwtSettings>, ConfigError> {
    let (jwks_url, hs256_secret_arn) = (non_empty("JWT_JWKS_URL"), non_empty("JWT_HS256_SECRET_ARN"));
    match (non_empty("JWT_ISSUER"), non_empty("JWT_AUDIENCE")) {
        (None, None) if jwks_url.is_none() && hs256_secret_arn.is_none() => Ok(None),
        (Some(issuer), Some(audience)) if jwks_url.is_some() || hs256_secret_arn.is_some() => Ok(Some(JwtSettings {
            issuer,
            audience,
            jwks_url,
            hs256_secret_arn,
            // The SDK takes a local one from `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
            secrets_manager_endpoint: None,
            store_claim: non_empty("JWT_STORE_CLAIM").unwrap_or_else(|| DEFAULT_STORE_CLAIM.into()),
            admin_claim: non_empty("JWT_ADMIN_CLAIM").unwrap_or_else(|| DEFAULT_ADMIN_CLAIM.into()),
        })),
        _ => Err(ConfigError::Invalid(
            "JWT_ISSUER",
            "set with JWT_AUDIENCE and JWT_JWKS_URL or JWT_HS256_SECRET_ARN, or none of them",
        )),
    }
}

/// Days a closed session is kept, up to ten years; 0 (or unset) keeps it for good.
fn retention(value: Option<String>) -> Result<Option<Duration>, ConfigError> {
    let Some(text) = value else { return Ok(None) };
    let days: u64 = text
        .parse()
        .ok()
        .filter(|days| *days <= MAX_RETENTION_DAYS)
        .ok_or(ConfigError::Invalid("RETENTION_DAYS", "a number of days from 0 to 3650"))?;
    Ok((days > 0).then(|| Duration::from_secs(days * 86_400)))
}

/// The longest retention: ten years.
pub const MAX_RETENTION_DAYS: u64 = 3650;

/// Messages per sender, session and minute: up to 10,000, 0 for none.
fn send_limit(value: Option<String>) -> Result<SendLimit, ConfigError> {
    match value {
        None => Ok(SendLimit(DEFAULT_SENDS_PER_MINUTE)),
        Some(text) => text
            .parse()
            .ok()
            .filter(|limit| *limit <= 10_000)
            .map(SendLimit)
            .ok_or(ConfigError::Invalid("SEND_LIMIT_PER_MINUTE", "a number of messages from 0 to 10000")),
    }
}

/// A number of seconds up to a day (0: at once), or `default` when unset.
fn seconds(value: Option<String>, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => text
            .parse()
            .ok()
            .filter(|seconds| *seconds <= 86_400)
            .map(Duration::from_secs)
            .ok_or(ConfigError::Invalid(name, "a number of seconds from 0 to 86400")),
    }
}

/// Whether `endpoint` (a URL) is on this machine: a local stand-in for an AWS service,
/// which takes fixed dummy credentials instead of the SDK's default chain.
pub fn is_loopback_endpoint(endpoint: &str) -> bool {
    let host = endpoint.split("://").nth(1).unwrap_or(endpoint).split(['/', ':']).next().unwrap_or_default();
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_name_is_required_and_project_key_optional() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert!(matches!(Config::from_lookup(env(&[])), Err(ConfigError::Missing("TABLE_NAME"))));
        assert!(Config::from_lookup(env(&[("TABLE_NAME", "")])).is_err());
        let config = Config::from_lookup(env(&[("TABLE_NAME", "chat"), ("PROJECT_KEY_SHA256", "")])).unwrap();
        assert_eq!(config, Config::local("chat", None, None));
    }

    #[test]
    fn link_lifetime_is_a_number_of_seconds_within_an_hour() {
        let with = |seconds: &'static str| {
            Config::from_lookup(move |name: &str| match name {
                "TABLE_NAME" => Some("chat".into()),
                "ATTACHMENT_LINK_SECONDS" => Some(seconds.into()),
                _ => None,
            })
        };
        assert_eq!(with("").unwrap().attachment_link_lifetime, DEFAULT_LINK_LIFETIME);
        assert_eq!(with("2").unwrap().attachment_link_lifetime, Duration::from_secs(2));
        for wrong in ["0", "3601", "soon", "-5"] {
            assert!(matches!(with(wrong), Err(ConfigError::Invalid("ATTACHMENT_LINK_SECONDS", _))), "{wrong}");
        }
    }

    #[test]
    fn an_identity_provider_has_an_issuer_an_audience_and_keys() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let pairs = pairs.to_vec();
            Config::from_lookup(move |name: &str| match name {
                "TABLE_NAME" => Some("chat".into()),
                name => pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()),
            })
        };
        let issuer = [("JWT_ISSUER", "https://id.example/"), ("JWT_AUDIENCE", "chat")];
        assert_eq!(with(&[]).unwrap().jwt, None);
        let secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf";
        let hs256 = [issuer[0], issuer[1], ("JWT_HS256_SECRET_ARN", secret)];
        let jwt = with(&hs256).unwrap().jwt.unwrap();
        assert_eq!((jwt.jwks_url, jwt.hs256_secret_arn.as_deref()), (None, Some(secret)));
        let both = [issuer[0], issuer[1], ("JWT_HS256_SECRET_ARN", secret), ("JWT_JWKS_URL", "https://id.example/k")];
        assert!(with(&both).unwrap().jwt.unwrap().jwks_url.is_some());
        for wrong in [&issuer[..], &hs256[1..], &[("JWT_JWKS_URL", "https://id.example/k")][..]] {
            assert!(matches!(with(wrong), Err(ConfigError::Invalid("JWT_ISSUER", _))), "{wrong:?}");
        }
    }

    #[test]
    fn project_keys_are_several_for_rotation_and_kept_hashed() {
        let keys = ProjectKeys::from_list(Some(" new-key-0123456789 , old-key-0123456789,,"));
        assert!(keys.accept("new-key-0123456789") && keys.accept("old-key-0123456789"));
        assert!(!keys.accept("new-key-012345678") && !keys.accept("") && !keys.accept(" new-key-0123456789"));
        assert!(!ProjectKeys::from_list(None).accept(""), "no key accepts nothing");
        assert!(!format!("{keys:?}").contains("key-0123"));
        // As deployed: the digests only.
        let deployed = ProjectKeys::from_digests(Some(&keys.digests())).unwrap();
        assert!(deployed == keys && deployed.accept("old-key-0123456789"));
        assert_eq!(ProjectKeys::from_digests(Some("abc")), None);
        let env = |name: &str| match name {
            "TABLE_NAME" => Some("chat".to_owned()),
            "PROJECT_KEY_SHA256" => Some(keys.digests()),
            _ => None,
        };
        assert!(Config::from_lookup(env).unwrap().project_keys.accept("new-key-0123456789"));
    }

    #[test]
    fn loopback_endpoints() {
        assert!(is_loopback_endpoint("http://127.0.0.1:8000"));
        assert!(is_loopback_endpoint("http://localhost:3001/local"));
        assert!(!is_loopback_endpoint("https://abc.execute-api.eu-west-1.amazonaws.com/prod"));
        assert!(!is_loopback_endpoint("https://dynamodb.us-east-1.amazonaws.com"));
    }
}
