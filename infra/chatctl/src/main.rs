//! Operator CLI for a support-chat table, on AWS or DynamoDB Local: create the table from
//! template.yaml, load a seed file, create stores and admins, set admins' capacity, list the
//! directory, print the team's report, issue, list and revoke tokens, deactivate a store or an
//! admin, manage webhook subscriptions, read their delivery logs and replay their dead
//! deliveries.
//! Tokens are printed once, when issued, and stored only as hashes.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use shared::App;
use shared::attachments::Attachments;
use shared::auth::{TokenHash, generate_token};
use shared::chat::{self, Revocation};
use shared::config::Config;
use shared::deliveries::DeliveryQueue;
use shared::domain::{
    AccountState, AdminId, AdminProfile, DURATION_BUCKETS_SECONDS, Figures, MAX_CAPACITY, Principal, Report,
    ReportQuery, ReportZone, StoreId, StoreProfile,
};
use shared::identities::SeedFile;
use shared::live::{ApiGatewayPush, NoPush, Push};
use shared::storage::{DeskStore, DynamoStore, IdentityStore};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// DynamoDB endpoint; AWS (default credentials and region) when omitted.
    #[arg(long, global = true, env = "DYNAMODB_ENDPOINT")]
    endpoint: Option<String>,
    /// The table, e.g. the stack's `TableName` output.
    #[arg(long, global = true, env = "TABLE_NAME", default_value = shared::config::Config::DEFAULT_TABLE_NAME)]
    table: String,
    /// The WebSocket API's `@connections` endpoint (the stack's `ConnectionsEndpoint`
    /// output, or the local gateway's management API), through which `revoke-token` closes
    /// the token's live connections.
    #[arg(long, global = true, env = "WEBSOCKET_ENDPOINT")]
    websocket_endpoint: Option<String>,
    /// The bucket of attached files (the stack's `AttachmentsBucketName` output), whose
    /// files `erase-store` deletes.
    #[arg(long, global = true, env = "ATTACHMENTS_BUCKET")]
    bucket: Option<String>,
    /// An S3 server on this machine holding that bucket (the local gateway's files endpoint).
    #[arg(long, global = true, requires = "bucket")]
    s3_endpoint: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table as template.yaml defines it (a no-op if it exists).
    CreateTable,
    /// Load stores, admins and tokens from a seed file.
    LoadSeed { file: PathBuf },
    /// Create or update a store.
    CreateStore {
        #[arg(long)]
        id: StoreId,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        logo_url: String,
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Create or update an admin.
    CreateAdmin {
        #[arg(long)]
        id: AdminId,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Issue a new token for a store or an admin and print it (the only time it is shown):
    /// until it is revoked, or for --lifetime-seconds (10 to 86400).
    IssueToken {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        lifetime_seconds: Option<i64>,
    },
    /// The valid tokens of a store or an admin: id (the token's SHA-256), issued, expires.
    Tokens {
        #[command(flatten)]
        who: Who,
    },
    /// Deactivate a store or an admin: its tokens are revoked, its live connections closed
    /// (with --websocket-endpoint), an admin's held sessions go back to the queue.
    Deactivate {
        #[command(flatten)]
        who: Who,
    },
    /// Set how many sessions automatic assignment gives an admin at most (default 5).
    SetCapacity {
        #[arg(long)]
        admin: AdminId,
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_CAPACITY)))]
        capacity: u32,
    },
    /// The admins with their presence, load and capacity.
    Directory,
    /// How the team is doing: per day or week, and per admin, what the reports route and the
    /// inbox's reports page show.
    Report {
        /// The first day, as 2026-11-05 (default: 29 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// The last day (default: today).
        #[arg(long)]
        to: Option<String>,
        /// `day` or `week`.
        #[arg(long, default_value = "day")]
        granularity: String,
        /// One admin's figures only.
        #[arg(long)]
        admin: Option<u64>,
        /// The time zone the deployment counts its days in (the template's `ReportTimeZone`).
        #[arg(long, env = "REPORT_TIME_ZONE", default_value = "UTC")]
        time_zone: String,
    },
    /// The team's business hours: shown, set from a JSON file (as `PUT /v1/platform/hours/`
    /// takes them), or cleared (always within hours).
    Hours {
        #[command(subcommand)]
        command: HoursCommand,
    },
    /// Revoke a token, read from standard input so that it stays out of shell history, and
    /// close the live WebSocket connections opened with it (with --websocket-endpoint).
    RevokeToken,
    /// Complete what this version needs of items an earlier one wrote (the sessions' store
    /// index keys and search text, each party's newest message id, a held session's first
    /// holder). Idempotent; an
    /// interrupted run is resumed by running it again.
    Migrate,
    /// Erase a store: its sessions, messages, notes and files (with --bucket), its tokens
    /// and connections, its profile; recorded in the audit log by id and counts alone.
    /// Idempotent; an interrupted run is finished by running it again.
    EraseStore {
        #[arg(long)]
        id: StoreId,
    },
    /// Export a store's profile and newest 1,000 sessions with their messages, ratings, tags
    /// and files as one ZIP archive in the bucket (--bucket), and print a short-lived link.
    ExportStore {
        #[arg(long)]
        id: StoreId,
    },
    /// Webhook subscriptions: events out, posted signed to a receiver.
    Webhooks {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

#[derive(Subcommand)]
enum HoursCommand {
    /// Print the hours as JSON (`null` when none are set).
    Show,
    /// Set the hours from a file (`-` for standard input): `{"time_zone": "Europe/Berlin",
    /// "week": {"mon": [{"opens": "09:00", "closes": "17:00"}]}, "holidays": ["2026-12-25"],
    /// "expected_reply": "We usually reply within an hour"}`.
    Set { file: PathBuf },
    /// Clear the hours: always within hours.
    Clear,
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Subscribe a receiver; prints its id, then its signing secret (the only time it is shown).
    Create {
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (session.closed,message.created), or * for all.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        events: Vec<String>,
    },
    /// The subscriptions.
    List,
    /// End a subscription.
    Delete { webhook_id: String },
    /// A subscription's delivery log, newest event first.
    Deliveries {
        webhook_id: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Queue a subscription's dead deliveries again (each with a new day of retries).
    Replay {
        webhook_id: String,
        /// The delivery queue (the stack's `WebhookQueueUrl` output).
        #[arg(long, env = "WEBHOOK_QUEUE_URL")]
        queue_url: String,
        /// SQS at this endpoint (moto) rather than AWS's.
        #[arg(long, env = "SQS_ENDPOINT")]
        queue_endpoint: Option<String>,
    },
}

/// A store or an admin, named by one of `--store` and `--admin`.
#[derive(clap::Args, Clone, Copy)]
#[group(required = true, multiple = false)]
struct Who {
    #[arg(long)]
    store: Option<StoreId>,
    #[arg(long)]
    admin: Option<AdminId>,
}

impl Who {
    fn principal(&self) -> Principal {
        match (self.store, self.admin) {
            (Some(id), _) => Principal::Store(id),
            (None, Some(id)) => Principal::Admin(id),
            (None, None) => unreachable!("clap requires one of them"),
        }
    }
}

/// The use cases over the table, closing connections through `websocket_endpoint` if given.
async fn app_over(store: DynamoStore, cli: &Cli) -> App {
    let push: Arc<dyn Push> = match &cli.websocket_endpoint {
        Some(endpoint) => Arc::new(ApiGatewayPush::for_endpoint(endpoint).await),
        None => Arc::new(NoPush),
    };
    let config = Config::local(&cli.table, None, cli.websocket_endpoint.clone());
    let app = App::with_push(Arc::new(store), config, push);
    let attachments = match (&cli.bucket, &cli.s3_endpoint) {
        (Some(bucket), Some(endpoint)) => Some(Attachments::local(endpoint, bucket)),
        (Some(bucket), None) => Some(Attachments::new(&aws_config_defaults().await, bucket)),
        (None, _) => None,
    };
    match attachments {
        Some(attachments) => app.with_attachments(attachments),
        None => app,
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cli = Cli::parse();
    let client = match &cli.endpoint {
        Some(endpoint) => DynamoStore::endpoint_client(endpoint).await,
        None => DynamoStore::client(&aws_config_defaults().await),
    };
    let store = DynamoStore::new(client, &cli.table);
    match cli.command {
        Command::CreateTable => {
            let template = sam_template::Template::embedded();
            let created = sam_template::create_table(store.sdk_client(), &cli.table, &template.table()?).await?;
            println!("table {}: {}", cli.table, if created { "created" } else { "already exists" });
        }
        Command::LoadSeed { file } => {
            let seed = SeedFile::parse(&std::fs::read_to_string(&file)?)?;
            seed.load_into(&store).await?;
            println!("loaded {} stores and {} admins", seed.stores.len(), seed.admins.len());
        }
        Command::CreateStore { id, name, logo_url, email } => {
            store.put_store(&StoreProfile { id, name, logo_url, email }).await?;
            println!("store {id} saved");
        }
        Command::CreateAdmin { id, name, email } => {
            store.put_admin(&AdminProfile { id, name, email }).await?;
            println!("admin {id} saved");
        }
        Command::IssueToken { who, lifetime_seconds: None } => {
            let principal = who.principal();
            if store.account_state(principal).await? != AccountState::Active {
                return Err(format!("no active {}", describe(principal)).into());
            }
            let token = generate_token();
            store.put_token(&TokenHash::of(&token), principal).await?;
            println!("{token}");
        }
        Command::IssueToken { who, lifetime_seconds } => {
            let app = app_over(store, &cli).await;
            let minted = chat::mint_token(&app, who.principal(), lifetime_seconds).await?;
            println!("{}", minted.token);
            eprintln!("expires at {}", minted.expires_at);
        }
        Command::Tokens { who } => {
            let app = app_over(store, &cli).await;
            for token in chat::list_tokens(&app, who.principal()).await?.tokens {
                let expires = token.expires_at.map_or_else(|| "never".to_owned(), |at| at.to_string());
                println!("{}  {}  {expires}", token.token_id, token.issued_at);
            }
        }
        Command::Deactivate { who } => {
            let app = app_over(store, &cli).await;
            let principal = who.principal();
            let answer = chat::deactivate_all(&app, vec![principal]).await?;
            let result = &answer.results[0];
            match result.status {
                chat::ItemStatus::Deactivated => println!("{}: deactivated", describe(principal)),
                _ => {
                    eprintln!("{}: {}", describe(principal), result.error.as_deref().unwrap_or("not deactivated"));
                    std::process::exit(1);
                }
            }
        }
        Command::SetCapacity { admin, capacity } => {
            if !store.set_capacity(admin, capacity).await? {
                eprintln!("no admin {admin}");
                std::process::exit(1);
            }
            println!("admin {admin}: capacity {capacity}");
        }
        Command::ExportStore { id } => {
            let app = app_over(store, &cli).await;
            if app.attachments.is_none() {
                eprintln!("an export is kept in the bucket: name it with --bucket");
                std::process::exit(2);
            }
            let export = chat::export_store(&app, id).await?;
            eprintln!(
                "store {id}: {} sessions, {} messages, {} files; the link works until {}",
                export.sessions, export.messages, export.files, export.expires_at
            );
            println!("{}", export.url);
        }
        Command::EraseStore { id } => {
            let app = app_over(store, &cli).await;
            if app.attachments.is_none() {
                eprintln!("without --bucket, the store's files stay: name the bucket");
                std::process::exit(2);
            }
            loop {
                let record = chat::erase_store(&app, id, shared::domain::ERASE_SESSIONS_PER_CALL).await?;
                let finished = record.finished_at.map_or_else(|| "going on".to_owned(), |at| format!("finished {at}"));
                println!(
                    "store {id}: {} sessions, {} messages, {} files erased; {finished}",
                    record.sessions, record.messages, record.files
                );
                if record.is_finished() {
                    break;
                }
            }
        }
        Command::Migrate => {
            let migrated = store.migrate().await?;
            println!(
                "sessions: {} needed completing, {} completed by this run",
                migrated.sessions_found, migrated.sessions_updated
            );
        }
        Command::Directory => {
            let app = App::new(Arc::new(store), Config::local(&cli.table, None, None));
            println!("{:>8}  {:<24} {:<9} {:>4} {:>8}", "admin", "name", "presence", "load", "capacity");
            for admin in chat::directory(&app).await?.admins {
                let presence = serde_json::to_value(admin.presence)?;
                let presence = presence.as_str().unwrap_or_default();
                println!(
                    "{:>8}  {:<24} {presence:<9} {:>4} {:>8}",
                    admin.admin_id, admin.name, admin.load, admin.capacity
                );
            }
        }
        Command::Report { ref from, ref to, ref granularity, admin, ref time_zone } => {
            let zone = ReportZone::named(time_zone).ok_or_else(|| format!("{time_zone:?} is not a time zone"))?;
            let config = Config { report_zone: zone, ..Config::local(&cli.table, None, None) };
            let app = App::new(Arc::new(store), config);
            let (from, to, admin) = (from.as_deref(), to.as_deref(), admin.map(AdminId));
            let query = ReportQuery::parse(from, to, Some(granularity), admin, chat::today(&app))?;
            print_report(&app, &chat::report(&app, &query).await?).await?;
        }
        Command::Hours { ref command } => {
            let app = App::new(Arc::new(store), Config::local(&cli.table, None, None));
            let hours = match command {
                HoursCommand::Show => chat::business_hours(&app).await?,
                HoursCommand::Set { file } => {
                    let text = match file.to_str() {
                        Some("-") => std::io::read_to_string(std::io::stdin())?,
                        _ => std::fs::read_to_string(file)?,
                    };
                    match chat::set_business_hours(&app, Some(serde_json::from_str(&text)?)).await {
                        Ok(hours) => hours,
                        Err(error) => {
                            eprintln!("{error}");
                            std::process::exit(1);
                        }
                    }
                }
                HoursCommand::Clear => chat::set_business_hours(&app, None).await?,
            };
            println!("{}", serde_json::to_string_pretty(&hours.hours)?);
        }
        Command::Webhooks { ref command } => {
            let app = App::new(Arc::new(store), Config::local(&cli.table, None, None));
            webhooks(app, command).await?;
        }
        Command::RevokeToken => {
            let mut token = String::new();
            std::io::stdin().lock().read_line(&mut token)?;
            let app = app_over(store, &cli).await;
            let revocation = chat::revoke_token(&app, &TokenHash::of(token.trim())).await?;
            if !revocation.revoked {
                println!("no such token");
                std::process::exit(1);
            }
            println!("revoked");
            match (&cli.websocket_endpoint, revocation) {
                (Some(_), Revocation { closed, not_closed: 0, .. }) => println!("live connections closed: {closed}"),
                (Some(_), Revocation { closed, not_closed, .. }) => {
                    eprintln!("live connections closed: {closed}; not closed: {not_closed}");
                    std::process::exit(1);
                }
                (None, Revocation { closed, .. }) => eprintln!(
                    "live connections forgotten: {closed}; they get no more events and are closed at \
                     their next frame (pass --websocket-endpoint to close them now)"
                ),
            }
        }
    }
    Ok(())
}

/// A report as tables: the periods and their total, each admin (by name), what waits now.
async fn print_report(app: &App, report: &Report) -> Result<(), Error> {
    let whose = match report.admin_id {
        Some(admin) => format!("admin {admin}"),
        None => "the whole team".to_owned(),
    };
    let per = serde_json::to_value(report.granularity)?;
    println!(
        "{} to {}, per {}, {whose}; days in {}",
        report.from,
        report.to,
        per.as_str().unwrap_or(""),
        report.time_zone
    );
    println!();
    println!(
        "{:<23} {:>7} {:>8} {:>7} {:>11} {:>9} {:>11} {:>9} {:>11} {:>7} {:>7}",
        "period",
        "opened",
        "assigned",
        "closed",
        "from stores",
        "from team",
        "1st answer",
        "p90",
        "to close",
        "ratings",
        "average"
    );
    let row = |label: String, figures: &Figures| {
        println!(
            "{label:<23} {:>7} {:>8} {:>7} {:>11} {:>9} {:>11} {:>9} {:>11} {:>7} {:>7}",
            figures.opened,
            figures.assigned,
            figures.closed,
            figures.messages_from_stores,
            figures.messages_from_team,
            took(figures.first_response.median_seconds),
            took(figures.first_response.p90_seconds),
            took(figures.resolution.median_seconds),
            figures.ratings.count,
            figures.ratings.average.map_or("-".to_owned(), |average| format!("{average:.2}")),
        )
    };
    for period in &report.series {
        let label = match period.start == period.end {
            true => period.start.to_string(),
            false => format!("{} to {}", period.start, period.end),
        };
        row(label, &period.figures);
    }
    row("total".to_owned(), &report.totals);
    println!();
    println!(
        "{:>8}  {:<24} {:>8} {:>7} {:>9} {:>11} {:>7} {:>7}",
        "admin", "name", "assigned", "handled", "messages", "1st answer", "ratings", "average"
    );
    for admin in &report.admins {
        let name = app.store.admin_profile(admin.admin_id).await?.map(|profile| profile.name).unwrap_or_default();
        let figures = &admin.figures;
        println!(
            "{:>8}  {name:<24} {:>8} {:>7} {:>9} {:>11} {:>7} {:>7}",
            admin.admin_id,
            figures.assigned,
            figures.closed,
            figures.messages_from_team,
            took(figures.first_response.median_seconds),
            figures.ratings.count,
            figures.ratings.average.map_or("-".to_owned(), |average| format!("{average:.2}")),
        );
    }
    println!();
    println!("waiting now: {}", report.waiting_now);
    Ok(())
}

/// A duration as a person reads it, as the inbox says it: < 1 s, 45 s, 1 min 5 s (under ten
/// minutes), 12 min, 1 h 20 min, 2 d 3 h; a percentile in the open last bucket as over its
/// bound; `-` for none.
fn took(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds else { return "-".to_owned() };
    let longest = DURATION_BUCKETS_SECONDS[DURATION_BUCKETS_SECONDS.len() - 1];
    if seconds >= longest as f64 {
        return format!("over {} d", longest / 86_400);
    }
    if seconds > 0.0 && seconds < 0.5 {
        return "< 1 s".to_owned();
    }
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| match small {
        0 => format!("{big} {big_unit}"),
        _ => format!("{big} {big_unit} {small} {small_unit}"),
    };
    let minutes = (seconds / 60.0).round() as u64;
    let hours = (seconds / 3600.0).round() as u64;
    match seconds.round() as u64 {
        whole @ 0..60 => format!("{whole} s"),
        whole @ 60..600 => two(whole / 60, "min", whole % 60, "s"),
        _ if minutes < 60 => format!("{minutes} min"),
        _ if minutes < 24 * 60 => two(minutes / 60, "h", minutes % 60, "min"),
        _ => two(hours / 24, "d", hours % 24, "h"),
    }
}

async fn webhooks(app: App, command: &WebhookCommand) -> Result<(), Error> {
    match command {
        WebhookCommand::Create { url, events } => {
            let created = chat::create_webhook(&app, url, events.clone(), None).await?;
            println!("{}", created.webhook.id);
            println!("{}", created.secret.expose());
        }
        WebhookCommand::List => {
            for webhook in chat::list_webhooks(&app).await?.webhooks {
                println!("{}  {}  {}  {}", webhook.id, webhook.created_at, webhook.event_types.join(","), webhook.url);
            }
        }
        WebhookCommand::Delete { webhook_id } => {
            chat::delete_webhook(&app, webhook_id).await?;
            println!("{webhook_id}: deleted");
        }
        WebhookCommand::Deliveries { webhook_id, limit } => {
            let log = chat::webhook_deliveries(&app, webhook_id, None, Some(*limit)).await?;
            println!(
                "{:<40} {:<20} {:<9} {:>8} {:<24} last error",
                "event", "type", "status", "attempts", "next attempt"
            );
            for entry in log.deliveries {
                let status = serde_json::to_value(entry.status)?;
                let next = entry.next_attempt_at.map(|at| at.to_string()).unwrap_or_default();
                println!(
                    "{:<40} {:<20} {:<9} {:>8} {next:<24} {}",
                    entry.event_id,
                    entry.event_type,
                    status.as_str().unwrap_or_default(),
                    entry.attempts,
                    entry.last_error.unwrap_or_default()
                );
            }
        }
        WebhookCommand::Replay { webhook_id, queue_url, queue_endpoint } => {
            let queue = match queue_endpoint {
                Some(endpoint) => DeliveryQueue::local(endpoint, queue_url),
                None => DeliveryQueue::new(&aws_config_defaults().await, queue_url),
            };
            let replayed = chat::replay_dead_deliveries(&app.with_webhook_queue(queue), webhook_id).await?;
            println!("{webhook_id}: {} dead deliveries queued again", replayed.replayed);
            if replayed.more {
                println!("more are left: replay again");
            }
        }
    }
    Ok(())
}

fn describe(principal: Principal) -> String {
    match principal {
        Principal::Store(id) => format!("store {id}"),
        Principal::Admin(id) => format!("admin {id}"),
    }
}

async fn aws_config_defaults() -> aws_config::SdkConfig {
    shared::deadline::aws_config_loader().load().await
}
