//! Operator CLI for a support-chat table, on AWS or DynamoDB Local: create the table from
//! template.yaml, load a seed file, create stores and admins, set admins' capacity, list the
//! directory, issue and revoke tokens.
//! Tokens are printed once, when issued, and stored only as hashes.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use shared::App;
use shared::auth::{TokenHash, generate_token};
use shared::chat::{self, Revocation};
use shared::config::Config;
use shared::domain::{AdminId, AdminProfile, MAX_CAPACITY, Principal, StoreId, StoreProfile};
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
    /// Issue a new token for a store or an admin and print it (the only time it is shown).
    IssueToken {
        #[arg(long, conflicts_with = "admin", required_unless_present = "admin")]
        store: Option<StoreId>,
        #[arg(long)]
        admin: Option<AdminId>,
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
    /// Revoke a token, read from standard input so that it stays out of shell history, and
    /// close the live WebSocket connections opened with it (with --websocket-endpoint).
    RevokeToken,
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
        Command::IssueToken { store: store_id, admin } => {
            let principal = match (store_id, admin) {
                (Some(id), _) => {
                    store.store_profile(id).await?.ok_or_else(|| format!("no store {id}"))?;
                    Principal::Store(id)
                }
                (None, Some(id)) => {
                    store.admin_profile(id).await?.ok_or_else(|| format!("no admin {id}"))?;
                    Principal::Admin(id)
                }
                (None, None) => unreachable!("clap requires one of them"),
            };
            let token = generate_token();
            store.put_token(&TokenHash::of(&token), principal).await?;
            println!("{token}");
        }
        Command::SetCapacity { admin, capacity } => {
            if !store.set_capacity(admin, capacity).await? {
                eprintln!("no admin {admin}");
                std::process::exit(1);
            }
            println!("admin {admin}: capacity {capacity}");
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
        Command::RevokeToken => {
            let mut token = String::new();
            std::io::stdin().lock().read_line(&mut token)?;
            let push: Arc<dyn Push> = match &cli.websocket_endpoint {
                Some(endpoint) => Arc::new(ApiGatewayPush::for_endpoint(endpoint).await),
                None => Arc::new(NoPush),
            };
            let config = Config::local(&cli.table, None, cli.websocket_endpoint.clone());
            let app = App::with_push(Arc::new(store), config, push);
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

async fn aws_config_defaults() -> aws_config::SdkConfig {
    shared::deadline::aws_config_loader().load().await
}
