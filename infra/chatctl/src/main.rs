//! Operator CLI for a support-chat table, on AWS or DynamoDB Local: create the table from
//! template.yaml, load a seed file, create stores and admins, issue and revoke tokens.
//! Tokens are printed once, when issued, and stored only as hashes.

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use shared::auth::{TokenHash, generate_token};
use shared::domain::{AdminProfile, Principal, StoreProfile};
use shared::identities::SeedFile;
use shared::storage::{ChatStore, DynamoStore};

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
        id: u64,
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
        id: u64,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Issue a new token for a store or an admin and print it (the only time it is shown).
    IssueToken {
        #[arg(long, conflicts_with = "admin", required_unless_present = "admin")]
        store: Option<u64>,
        #[arg(long)]
        admin: Option<u64>,
    },
    /// Revoke a token, read from standard input so that it stays out of shell history.
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
        Command::RevokeToken => {
            let mut token = String::new();
            std::io::stdin().lock().read_line(&mut token)?;
            let revoked = store.revoke_token(&TokenHash::of(token.trim())).await?;
            println!("{}", if revoked { "revoked" } else { "no such token" });
            if !revoked {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

async fn aws_config_defaults() -> aws_config::SdkConfig {
    shared::deadline::aws_config_loader().load().await
}
