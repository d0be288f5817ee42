//! `cargo run -p ses-local` runs the SES stand-in in the foreground, for an SES client's
//! endpoint, with the mails it takes shown in a browser; Ctrl-C stops it.

use std::process::ExitCode;

use clap::Parser;
use ses_local::SesLocal;

/// Runs aws-ses-v2-local, a stand-in for the SES v2 API, on a loopback port until this
/// process ends.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The port to serve on; 0 picks a free one. The default is the stand-in's own.
    #[arg(long, default_value_t = 8005)]
    port: u16,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match SesLocal::start_on((args.port != 0).then_some(args.port)) {
        Ok(server) => {
            let endpoint = server.endpoint();
            println!("SES ready: {endpoint} (mails at {endpoint}/)");
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
