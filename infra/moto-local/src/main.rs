//! `cargo run -p moto-local` runs moto in the foreground, for the local gateway's
//! `--secrets-manager-endpoint`; Ctrl-C stops it.

use std::process::ExitCode;

use clap::Parser;
use moto_local::MotoLocal;

/// Runs moto in server mode on a loopback port until this process ends.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The port to serve on; 0 picks a free one.
    #[arg(long, default_value_t = 5000)]
    port: u16,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match MotoLocal::start_on((args.port != 0).then_some(args.port)) {
        Ok(server) => {
            println!("moto ready: {}", server.endpoint());
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
