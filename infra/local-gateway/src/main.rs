//! API Gateway on one machine. Serves the HTTP API routes of `template.yaml` on 127.0.0.1,
//! fed with API Gateway payload-2.0 events, and its WebSocket API with `$connect`,
//! `$disconnect`, action routes and `@connections`. The functions behind the routes are
//! either linked in (one process, one shared state: quick to start, any storage) or, with
//! `--lambda`, their own built binaries run as Lambda runs them ([`lambda`]).

mod concurrency;
mod cors;
mod event;
mod feed;
mod invoke;
mod queue;
mod request_limits;
mod router;
mod schedule;
mod server;
mod sigv4;
mod stream;
mod web;
mod websocket;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use sam_template::{LocalValues, Template};
use shared::App;
use shared::attachments::Attachments;
use shared::bus::EventBus;
use shared::config::Config;
use shared::deliveries::DeliveryQueue;
use shared::domain::ReportZone;
use shared::identities::SeedFile;
use shared::live::ApiGatewayPush;
use shared::mail::{EmailJobs, Mailer};
use shared::storage::{ChatStore, DynamoStore, MemoryStore};

use invoke::Functions;
use local_gateway::lambda;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Stores, admins and tokens to load; without it one demo store and admin are created.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Port of the HTTP API on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    http_port: u16,
    /// Port of the WebSocket API on 127.0.0.1.
    #[arg(long, default_value_t = 3001)]
    ws_port: u16,
    /// The key `/conversation/sessions` callers must present.
    #[arg(long, env = "PROJECT_KEY")]
    project_key: Option<String>,
    /// The access key a platform signs its requests to the `AWS_IAM` routes with (SigV4),
    /// as `ACCESS_KEY_ID:SECRET_ACCESS_KEY`; without it those routes refuse every request.
    #[arg(long, env = "PLATFORM_CREDENTIALS", hide_env_values = true)]
    platform_credentials: Option<sigv4::PlatformKey>,
    /// Store data in DynamoDB at this endpoint (DynamoDB Local, or AWS) instead of in memory.
    #[arg(long)]
    dynamodb_endpoint: Option<String>,
    /// The table to use (and create if missing) in DynamoDB.
    #[arg(long, default_value = Config::DEFAULT_TABLE_NAME)]
    table: String,
    /// Keep attached files in S3 at this endpoint instead of the S3 server the gateway runs.
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// The bucket of attached files (created if missing).
    #[arg(long, default_value = "support-chat-attachments")]
    bucket: String,
    /// How long download links of attached files work, in seconds (the template's
    /// `AttachmentLinkSeconds`).
    #[arg(long)]
    attachment_link_seconds: Option<u64>,
    /// Origins browsers may call the HTTP API from, comma-separated (the template's
    /// `CorsOrigins`; by default its default).
    #[arg(long)]
    cors_origins: Option<String>,
    /// Run each function as Lambda does: its own built binary, one process per instance,
    /// through the Lambda Runtime API. Storage is DynamoDB (DynamoDB Local is started when
    /// no --dynamodb-endpoint is given).
    #[arg(long)]
    lambda: bool,
    /// With --lambda: where the binaries are, `target/<profile>/` or `sam build`'s
    /// `.aws-sam/build/`. By default the directory this gateway was built into.
    #[arg(long, requires = "lambda")]
    functions: Option<PathBuf>,
    /// With --lambda: instances of one function at once (by default the template's
    /// `ReservedConcurrentExecutions`, else 10).
    #[arg(long, requires = "lambda")]
    max_instances: Option<usize>,
    /// Who gives waiting sessions to admins: `manual` (they claim) or `auto` (the template's
    /// `AssignmentPolicy`).
    #[arg(long, value_parser = ["manual", "auto"])]
    assignment: Option<String>,
    /// How long an admin with no inbox open still counts as there (the template's
    /// `PresenceGraceSeconds`).
    #[arg(long)]
    presence_grace_seconds: Option<u64>,
    /// How long a holder may be offline before what it left unanswered is requeued (the
    /// template's `RequeueDelaySeconds`).
    #[arg(long)]
    requeue_delay_seconds: Option<u64>,
    /// How long a session waits in the queue, within hours, before its away reply (the
    /// template's `AwayReplyAfterSeconds`).
    #[arg(long)]
    away_reply_after_seconds: Option<u64>,
    /// The platform's identity provider whose JWTs are accepted beside tokens: its issuer
    /// (`iss`), with --jwt-audience and --jwt-jwks-url, --jwt-hs256-secret-arn or both (the
    /// template's `JwtIssuer`, …).
    #[arg(long, requires = "jwt_audience")]
    jwt_issuer: Option<String>,
    /// The audience (`aud`) the platform's JWTs must name.
    #[arg(long, requires = "jwt_issuer")]
    jwt_audience: Option<String>,
    /// Where the platform's identity provider publishes its RS256/ES256 keys (a JWKS).
    #[arg(long, requires = "jwt_issuer")]
    jwt_jwks_url: Option<String>,
    /// The Secrets Manager secret holding the HS256 key the platform signs with (its ARN).
    #[arg(long, requires_all = ["jwt_issuer", "secrets_manager_endpoint"])]
    jwt_hs256_secret_arn: Option<String>,
    /// Secrets Manager at this endpoint (moto: `cargo run -p moto-local`, or AWS).
    #[arg(long)]
    secrets_manager_endpoint: Option<String>,
    /// Put events out on an EventBridge bus at this endpoint (moto: `cargo run -p
    /// moto-local`, or AWS); the bus is created if missing, and the table's stream (or the
    /// embedded store's change feed) is read. Without it, nothing reads the stream.
    #[arg(long)]
    event_bus_endpoint: Option<String>,
    /// The event bus's name.
    #[arg(long, default_value = "support-chat", requires = "event_bus_endpoint")]
    event_bus: String,
    /// Deliver webhooks through SQS at this endpoint (moto: `cargo run -p moto-local`): the
    /// FIFO queue `<table>-webhooks.fifo` is created and read as its event source mapping
    /// reads it, and the table's stream (or the embedded store's feed) is read. Without it,
    /// subscriptions are kept and nothing is delivered.
    #[arg(long)]
    queue_endpoint: Option<String>,
    /// How long a webhook delivery is tried before it is kept as dead (the template's
    /// `WebhookRetrySeconds`; a day).
    #[arg(long, requires = "queue_endpoint")]
    webhook_retry_seconds: Option<u64>,
    /// Send mail through SES v2 at this endpoint (`cargo run -p ses-local`, which shows the
    /// mails in a page): the standard queue `<table>-email-jobs` is created on the SQS of
    /// --queue-endpoint and read as its event source mapping reads it.
    #[arg(long, requires = "queue_endpoint")]
    ses_endpoint: Option<String>,
    /// The address mails are sent from (the template's `EmailSender`).
    #[arg(long, default_value = "support@shop.example", requires = "ses_endpoint")]
    email_sender: String,
    /// Where a store continues a conversation, linked from its mails (the template's
    /// `ConversationUrlTemplate`).
    #[arg(long, requires = "ses_endpoint")]
    conversation_url: Option<String>,
    /// How long a team answer may reach none of the store's connections before the store
    /// is mailed it (the template's `DigestAfterSeconds`).
    #[arg(long, requires = "ses_endpoint")]
    digest_after_seconds: Option<u64>,
    /// How long a conversation may wait unassigned, within hours, before the admins on
    /// call are mailed (the template's `OnCallAfterSeconds`).
    #[arg(long, requires = "ses_endpoint")]
    on_call_after_seconds: Option<u64>,
    /// How long after sending a sender may edit or delete its message (the template's
    /// `EditWindowSeconds`).
    #[arg(long)]
    edit_window_seconds: Option<u64>,
    /// How many messages one sender may send into one conversation per minute, 0 for no
    /// limit (the template's `MessagesPerMinute`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    messages_per_minute: Option<u32>,
    /// Days a closed conversation is kept after its last message, 0 for good (the
    /// template's `RetentionDays`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=3650))]
    retention_days: Option<u64>,
    /// The time zone whose days the reports count in, an IANA name (the template's
    /// `ReportTimeZone`).
    #[arg(long, value_parser = report_zone)]
    report_time_zone: Option<String>,
    /// Hands every batch of the table's stream to its functions twice, as Lambda does when
    /// an invocation that did its work is tried again (its answer lost, or its time up):
    /// for tests that what reads the stream counts each change once.
    #[arg(long)]
    redeliver_stream_batches: bool,
    /// With --lambda: an instance idle this many seconds is stopped.
    #[arg(long, default_value_t = 300, requires = "lambda")]
    idle_seconds: u64,
}

/// A time zone's IANA name, checked.
fn report_zone(name: &str) -> Result<String, String> {
    ReportZone::named(name).map(|_| name.to_owned()).ok_or_else(|| format!("{name:?} is not a time zone's IANA name"))
}

/// Where the functions' data lives.
enum Storage {
    Memory(Arc<MemoryStore>),
    DynamoDb { endpoint: String, _local: Option<dynamodb_local::DynamoDbLocal> },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    shared::telemetry::init();
    let args = Args::parse();
    let template = Template::embedded();

    let storage = match (&args.dynamodb_endpoint, args.lambda) {
        (Some(endpoint), _) => Storage::DynamoDb { endpoint: endpoint.clone(), _local: None },
        // Separate processes cannot share the embedded store.
        (None, true) => {
            let local = tokio::task::spawn_blocking(dynamodb_local::DynamoDbLocal::start).await??;
            Storage::DynamoDb { endpoint: local.endpoint(), _local: Some(local) }
        }
        (None, false) => Storage::Memory(Arc::new(MemoryStore::new())),
    };
    let (store, storage_name): (Arc<dyn ChatStore>, String) = match &storage {
        Storage::Memory(store) => (store.clone(), "memory".into()),
        Storage::DynamoDb { endpoint, .. } => {
            let client = DynamoStore::endpoint_client(endpoint).await;
            sam_template::create_table(&client, &args.table, &template.table()?).await?;
            (Arc::new(DynamoStore::new(client, &args.table)), format!("dynamodb {endpoint} table {}", args.table))
        }
    };
    let identities = seed(&args)?;
    identities.load_into(store.as_ref()).await?;
    // The origins browsers may call from, for the HTTP API and the attachments bucket alike.
    let mut api_values = LocalValues::default();
    if let Some(origins) = &args.cors_origins {
        api_values.parameters.insert("CorsOrigins".into(), origins.clone());
    }
    // Attached files: in a real S3 API on this machine unless --s3-endpoint names another.
    let (s3_endpoint, _s3_local) = match &args.s3_endpoint {
        Some(endpoint) => (endpoint.clone(), None),
        None => {
            let server = match template.cors_of_bucket("AttachmentsBucket", &api_values)? {
                Some(rule) => s3_local::S3Local::start_with_cors(None, Arc::new(cors::Cors::new(rule))).await?,
                None => s3_local::S3Local::start(None).await?,
            };
            (server.endpoint(), Some(server))
        }
    };
    let attachments = || {
        let attachments = Attachments::local(&s3_endpoint, &args.bucket);
        match args.attachment_link_seconds {
            Some(seconds) => attachments.with_link_lifetime(std::time::Duration::from_secs(seconds)),
            None => attachments,
        }
    };
    attachments().create_bucket().await?;
    if let Some(endpoint) = &args.event_bus_endpoint {
        stream::create_event_bus(endpoint, &args.event_bus).await?;
    }
    // The webhook delivery queue: its client and URL.
    let webhook_queue = match &args.queue_endpoint {
        Some(endpoint) => {
            let client = queue::client(endpoint);
            let url = queue::create_queue(&client, &format!("{}-webhooks.fifo", args.table), true).await?;
            Some((endpoint.clone(), client, url))
        }
        None => None,
    };
    // The email job queue, on the same SQS, when mail goes out.
    let email_jobs_url = match (&webhook_queue, &args.ses_endpoint) {
        (Some((_, client, _)), Some(_)) => {
            Some(queue::create_queue(client, &format!("{}-email-jobs", args.table), false).await?)
        }
        _ => None,
    };
    let mut queue_urls = std::collections::BTreeMap::new();
    if let Some((_, _, url)) = &webhook_queue {
        queue_urls.insert("WebhookDeliveries".to_owned(), url.clone());
    }
    if let Some(url) = &email_jobs_url {
        queue_urls.insert("EmailJobs".to_owned(), url.clone());
    }
    // Bound first: the mails link to its unsubscribe route.
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.http_port))).await?;
    let http_url = format!("http://{}", listener.local_addr()?);

    let ws_listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.ws_port))).await?;
    let ws_port = ws_listener.local_addr()?.port();
    let websocket_endpoint = websocket::management_endpoint(ws_port);
    let (functions, running) = match &storage {
        Storage::DynamoDb { endpoint, .. } if args.lambda => {
            let urls = (&queue_urls, http_url.as_str());
            let (pool, binaries) = processes(&args, &template, endpoint, &s3_endpoint, &websocket_endpoint, urls)?;
            (Functions::Processes(pool), format!("processes from {}", binaries.display()))
        }
        _ => {
            // The functions push through the real @connections client, at this gateway.
            let push = Arc::new(ApiGatewayPush::local(&websocket_endpoint));
            let config = Config::local(&args.table, args.project_key.clone(), Some(websocket_endpoint.clone()));
            let config = with_email_settings(with_desk_settings(config, &args), &args, &http_url);
            let app = App::with_push(store, config, push).with_attachments(attachments());
            let app = match &args.event_bus_endpoint {
                Some(endpoint) => app.with_event_bus(EventBus::local(endpoint, &args.event_bus)),
                None => app,
            };
            let app = match &webhook_queue {
                Some((endpoint, _, url)) => app.with_webhook_queue(DeliveryQueue::local(endpoint, url)),
                None => app,
            };
            let app = Arc::new(match (&args.queue_endpoint, &email_jobs_url, &args.ses_endpoint) {
                (Some(queue), Some(url), Some(ses)) => {
                    app.with_email(EmailJobs::local(queue, url), Some(Mailer::local(ses, &args.email_sender)))
                }
                _ => app,
            });
            let linked = Functions::linked(app, functions::handler).with_event_driven(
                functions::scheduled,
                functions::streamed,
                functions::queued,
            );
            (linked, "linked in".to_owned())
        }
    };
    let functions = Arc::new(functions);
    let schedules = Arc::new(schedule::Schedules::new(template.scheduled_functions()?));
    schedules.start(functions.clone());
    // The table's change stream, as event source mappings read it: DynamoDB's, or the
    // embedded store's feed. The reports' function always reads it; the events' function
    // when its events have a bus or webhooks to go to.
    let events_go_out = args.event_bus_endpoint.is_some() || webhook_queue.is_some();
    let mappings = template.stream_functions()?.into_iter().filter(|m| events_go_out || m.binary != "table-events");
    let delivered = if args.redeliver_stream_batches { 2 } else { 1 };
    match &storage {
        Storage::Memory(store) => {
            for mapping in mappings {
                feed::start(store.clone(), mapping, functions.clone(), delivered);
            }
        }
        Storage::DynamoDb { endpoint, .. } => {
            let streams = stream::client(endpoint).await;
            let stream_arn = stream::stream_of(endpoint, &args.table).await?;
            for mapping in mappings {
                stream::start(streams.clone(), stream_arn.clone(), mapping, functions.clone(), delivered);
            }
        }
    }
    if let Some((_, client, _)) = &webhook_queue {
        for mapping in template.queue_functions()? {
            // A queue that does not run here (email without --ses-endpoint) is not read.
            let Some(url) = queue_urls.get(&mapping.queue) else { continue };
            let concurrency = mapping.maximum_concurrency;
            queue::start(client.clone(), url.clone(), mapping, concurrency, functions.clone());
        }
    }
    let router = router::Router::from_template(&template, &functions)?;
    let cors = template.cors_of_http_api(&api_values)?.map(cors::Cors::new);
    let websocket_routes = websocket::WebSocketRoutes::from_template(&template, &functions)?;

    println!(
        "local-gateway websocket: {} ({} routes, management API: {websocket_endpoint})",
        websocket::client_url(ws_port),
        websocket_routes.len()
    );
    println!(
        "local-gateway ready: http://{} ({} routes, storage: {storage_name}, files: {s3_endpoint} bucket {}, \
         functions: {running})",
        listener.local_addr()?,
        router.len(),
        args.bucket
    );
    let demo = args.seed.is_none().then_some(&identities);
    let web = web::Web::new(&http_url, &websocket::client_url(ws_port), demo);
    let serving = async {
        tokio::try_join!(
            server::serve(
                listener,
                Arc::new(server::Http {
                    router,
                    functions: functions.clone(),
                    cors,
                    web,
                    schedules,
                    platform_key: args.platform_credentials.clone(),
                })
            ),
            websocket::serve(ws_listener, websocket_routes, functions),
        )
    };
    tokio::select! {
        served = serving => served.map(|_| ()),
        // Returning stops everything the gateway started: function instances, DynamoDB Local.
        stop = stop_requested() => stop.map_err(Into::into),
    }
}

/// Resolves on `SIGINT` (Ctrl-C) or `SIGTERM`.
async fn stop_requested() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted,
        _ = terminate.recv() => Ok(()),
    }
}

/// The functions as Lambda runs them, on the DynamoDB at `dynamodb_endpoint` and the S3 at
/// `s3_endpoint`, pushing through `websocket_endpoint`; and where their binaries are.
fn processes(
    args: &Args,
    template: &Template,
    dynamodb_endpoint: &str,
    s3_endpoint: &str,
    websocket_endpoint: &str,
    (queue_urls, http_url): (&std::collections::BTreeMap<String, String>, &str),
) -> Result<(lambda::Pool, PathBuf), Box<dyn std::error::Error + Send + Sync>> {
    let binaries = match &args.functions {
        Some(dir) => dir.clone(),
        None => {
            let own = std::env::current_exe()?.parent().ok_or("the gateway's own directory")?.to_owned();
            build_functions_under_cargo(&own)?;
            own
        }
    };
    let mut local = LocalValues {
        table_name: args.table.clone(),
        bucket_name: args.bucket.clone(),
        websocket_endpoint: Some(websocket_endpoint.to_owned()),
        event_bus_name: args.event_bus_endpoint.as_ref().map(|_| args.event_bus.clone()).unwrap_or_default(),
        http_api_url: http_url.to_owned(),
        queue_urls: queue_urls.clone(),
        ..LocalValues::default()
    };
    // The functions get the keys' digests, as deployed; none: the route refuses every key.
    let digests = shared::config::ProjectKeys::from_list(args.project_key.as_deref()).digests();
    local.parameters.insert("ProjectKeyDigests".into(), digests);
    if let Ok(level) = std::env::var("LOG_LEVEL") {
        local.parameters.insert("LogLevel".into(), level);
    }
    if let Some(seconds) = args.attachment_link_seconds {
        local.parameters.insert("AttachmentLinkSeconds".into(), seconds.to_string());
    }
    for (parameter, value) in [
        ("AssignmentPolicy", args.assignment.clone()),
        ("PresenceGraceSeconds", args.presence_grace_seconds.map(|s| s.to_string())),
        ("RequeueDelaySeconds", args.requeue_delay_seconds.map(|s| s.to_string())),
        ("AwayReplyAfterSeconds", args.away_reply_after_seconds.map(|s| s.to_string())),
        ("WebhookRetrySeconds", args.webhook_retry_seconds.map(|s| s.to_string())),
        ("EditWindowSeconds", args.edit_window_seconds.map(|s| s.to_string())),
        ("MessagesPerMinute", args.messages_per_minute.map(|n| n.to_string())),
        ("RetentionDays", args.retention_days.map(|n| n.to_string())),
        ("ReportTimeZone", args.report_time_zone.clone()),
        ("JwtIssuer", args.jwt_issuer.clone()),
        ("JwtAudience", args.jwt_audience.clone()),
        ("JwtJwksUrl", args.jwt_jwks_url.clone()),
        ("JwtHs256SecretArn", args.jwt_hs256_secret_arn.clone()),
        ("EmailSender", args.ses_endpoint.as_ref().map(|_| args.email_sender.clone())),
        ("ConversationUrlTemplate", args.conversation_url.clone()),
        ("DigestAfterSeconds", args.digest_after_seconds.map(|s| s.to_string())),
        ("OnCallAfterSeconds", args.on_call_after_seconds.map(|s| s.to_string())),
    ] {
        if let Some(value) = value {
            local.parameters.insert(parameter.into(), value);
        }
    }
    let setup = lambda::Setup {
        template,
        binaries: &binaries,
        local,
        dynamodb_endpoint: dynamodb_endpoint.to_owned(),
        s3_endpoint: s3_endpoint.to_owned(),
        secrets_manager_endpoint: args.secrets_manager_endpoint.clone(),
        event_bus_endpoint: args.event_bus_endpoint.clone(),
        queue_endpoint: args.queue_endpoint.clone(),
        ses_endpoint: args.ses_endpoint.clone(),
        max_instances: args.max_instances,
    };
    let pool = lambda::Pool::new(&setup, route_binaries(template)?, Duration::from_secs(args.idle_seconds))?;
    Ok((pool, binaries))
}

/// `config` with the desk and identity provider settings of the command line, as the
/// template's parameters set them for deployed functions.
fn with_desk_settings(mut config: Config, args: &Args) -> Config {
    if args.assignment.as_deref() == Some("auto") {
        config.assignment = shared::config::AssignmentPolicy::Auto;
    }
    if let Some(seconds) = args.presence_grace_seconds {
        config.presence_grace = Duration::from_secs(seconds);
    }
    if let Some(seconds) = args.requeue_delay_seconds {
        config.requeue_delay = Duration::from_secs(seconds);
    }
    if let Some(seconds) = args.away_reply_after_seconds {
        config.away_reply_after = Duration::from_secs(seconds);
    }
    if let Some(seconds) = args.webhook_retry_seconds {
        config.webhook_retry_window = Duration::from_secs(seconds);
    }
    if let Some(seconds) = args.edit_window_seconds {
        config.edit_window = Duration::from_secs(seconds);
    }
    if let Some(limit) = args.messages_per_minute {
        config.send_limit = shared::domain::SendLimit(limit);
    }
    if let Some(days) = args.retention_days {
        config.retention = (days > 0).then(|| Duration::from_secs(days * 86_400));
    }
    if let Some(zone) = args.report_time_zone.as_deref().and_then(ReportZone::named) {
        config.report_zone = zone;
    }
    if let (Some(issuer), Some(audience)) = (&args.jwt_issuer, &args.jwt_audience) {
        config.jwt = Some(shared::jwt::JwtSettings {
            issuer: issuer.clone(),
            audience: audience.clone(),
            jwks_url: args.jwt_jwks_url.clone(),
            hs256_secret_arn: args.jwt_hs256_secret_arn.clone(),
            secrets_manager_endpoint: args.secrets_manager_endpoint.clone(),
            store_claim: shared::config::DEFAULT_STORE_CLAIM.into(),
            admin_claim: shared::config::DEFAULT_ADMIN_CLAIM.into(),
        });
    }
    config
}

/// `config` with the email settings of the command line, as the template's parameters set
/// them for deployed functions; the unsubscribe route is this gateway's.
fn with_email_settings(mut config: Config, args: &Args, http_url: &str) -> Config {
    if args.ses_endpoint.is_none() {
        return config;
    }
    let email = &mut config.email;
    email.sender = Some(args.email_sender.clone());
    email.conversation_url = args.conversation_url.clone();
    email.unsubscribe_url = format!("{http_url}/v1/email/unsubscribe/");
    if let Some(seconds) = args.digest_after_seconds {
        email.digest_after = Duration::from_secs(seconds);
    }
    if let Some(seconds) = args.on_call_after_seconds {
        email.on_call_after = Duration::from_secs(seconds);
    }
    config
}

/// The identities to load: the seed file's, or one demo store and admin (printed).
fn seed(args: &Args) -> Result<SeedFile, Box<dyn std::error::Error + Send + Sync>> {
    if let Some(path) = &args.seed {
        return Ok(SeedFile::parse(&std::fs::read_to_string(path)?)?);
    }
    let demo = SeedFile::demo();
    for store in &demo.stores {
        println!("demo store {} ({}) token: {}", store.profile.id, store.profile.name, store.token);
    }
    for admin in &demo.admins {
        println!("demo admin {} ({}) token: {}", admin.profile.id, admin.profile.name, admin.token);
    }
    Ok(demo)
}

/// Under `cargo run -p local-gateway`, builds the functions into the gateway's own target
/// directory and profile first (a no-op when they are up to date), so that `--lambda` never
/// runs binaries older than their source. Started any other way, the gateway takes the
/// binaries as they are.
fn build_functions_under_cargo(binaries: &std::path::Path) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (Ok(cargo), Ok(package)) = (std::env::var("CARGO"), std::env::var("CARGO_PKG_NAME")) else {
        return Ok(());
    };
    if package != env!("CARGO_PKG_NAME") {
        return Ok(());
    }
    let profile = match binaries.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(profile) => profile,
        None => return Ok(()),
    };
    println!("local-gateway: building the functions ({profile} profile)");
    let built = std::process::Command::new(cargo)
        .args(["build", "--bins", "--package", "functions", "--profile", profile])
        .status()?;
    if !built.success() {
        return Err(format!("building the functions failed ({built})").into());
    }
    Ok(())
}

/// The binary of every function behind a route of either API, on a schedule, on the
/// table's stream, or on a queue.
fn route_binaries(template: &Template) -> Result<Vec<String>, sam_template::TemplateError> {
    let http = template.http_routes()?.into_iter().map(|route| route.binary);
    let websocket = template.websocket_routes()?.into_iter().map(|route| route.binary);
    let scheduled = template.scheduled_functions()?.into_iter().map(|scheduled| scheduled.binary);
    let streamed = template.stream_functions()?.into_iter().map(|streamed| streamed.binary);
    let queued = template.queue_functions()?.into_iter().map(|queued| queued.binary);
    Ok(http.chain(websocket).chain(scheduled).chain(streamed).chain(queued).collect())
}
