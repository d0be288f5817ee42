//! API Gateway on one machine. Serves the HTTP API routes of `template.yaml` on 127.0.0.1
//! with the very handlers the Lambda functions run, fed with API Gateway payload-2.0 events,
//! and its WebSocket API with `$connect`, `$disconnect`, action routes and `@connections`.

mod concurrency;
mod event;
mod request_limits;
mod router;
mod server;
mod websocket;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use shared::App;
use shared::config::Config;
use shared::identities::SeedFile;
use shared::live::ApiGatewayPush;
use shared::storage::{ChatStore, DynamoStore, MemoryStore};

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
    /// Store data in DynamoDB at this endpoint (DynamoDB Local, or AWS) instead of in memory.
    #[arg(long)]
    dynamodb_endpoint: Option<String>,
    /// The table to use (and create if missing) at --dynamodb-endpoint.
    #[arg(long, default_value = Config::DEFAULT_TABLE_NAME, requires = "dynamodb_endpoint")]
    table: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    shared::telemetry::init();
    let args = Args::parse();
    let template = sam_template::Template::embedded();
    let router = router::Router::from_template(&template)?;
    let websocket_routes = websocket::WebSocketRoutes::from_template(&template, functions::handler)?;

    let (store, storage): (Arc<dyn ChatStore>, String) = match &args.dynamodb_endpoint {
        None => (Arc::new(MemoryStore::new()), "memory".into()),
        Some(endpoint) => {
            let client = DynamoStore::endpoint_client(endpoint).await;
            sam_template::create_table(&client, &args.table, &template.table()?).await?;
            (Arc::new(DynamoStore::new(client, &args.table)), format!("dynamodb {endpoint} table {}", args.table))
        }
    };

    let seed = match &args.seed {
        Some(path) => SeedFile::parse(&std::fs::read_to_string(path)?)?,
        None => {
            let demo = SeedFile::demo();
            for store in &demo.stores {
                println!("demo store {} ({}) token: {}", store.profile.id, store.profile.name, store.token);
            }
            for admin in &demo.admins {
                println!("demo admin {} ({}) token: {}", admin.profile.id, admin.profile.name, admin.token);
            }
            demo
        }
    };
    seed.load_into(store.as_ref()).await?;

    let ws_listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.ws_port))).await?;
    let ws_port = ws_listener.local_addr()?.port();
    let websocket_endpoint = websocket::management_endpoint(ws_port);
    // The functions push through the real @connections client, at this gateway.
    let push = Arc::new(ApiGatewayPush::local(&websocket_endpoint));
    let config = Config::local(&args.table, args.project_key, Some(websocket_endpoint.clone()));
    let app = Arc::new(App::with_push(store, config, push));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.http_port))).await?;
    println!(
        "local-gateway websocket: {} ({} routes, management API: {websocket_endpoint})",
        websocket::client_url(ws_port),
        websocket_routes.len()
    );
    println!("local-gateway ready: http://{} ({} routes, storage: {storage})", listener.local_addr()?, router.len());
    tokio::try_join!(
        server::serve(listener, Arc::new(server::Http { router, app: app.clone(), concurrency: Default::default() })),
        websocket::serve(ws_listener, websocket_routes, app),
    )?;
    Ok(())
}
