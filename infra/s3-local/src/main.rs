//! `s3-local`: a real S3 API on 127.0.0.1 until stopped, for tools pointed at it by hand.

use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Port to serve on (0 picks a free one).
    #[arg(long, default_value_t = 9000)]
    port: u16,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let server = s3_local::S3Local::start(Some(args.port)).await?;
    println!(
        "S3 ready: {} (access key {}, secret {}, region {})",
        server.endpoint(),
        s3_local::ACCESS_KEY_ID,
        s3_local::SECRET_ACCESS_KEY,
        s3_local::REGION
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
