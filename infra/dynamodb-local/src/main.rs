//! `cargo run -p dynamodb-local` runs DynamoDB Local in the foreground, for
//! `local-gateway --dynamodb-endpoint`; Ctrl-C stops it. `--install-only` installs it and exits.

use std::process::ExitCode;

use dynamodb_local::{DynamoDbLocal, install};

fn main() -> ExitCode {
    if std::env::args().skip(1).any(|arg| arg == "--install-only") {
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
