//! aws-ses-v2-local for tests and local runs: one Node.js process answering the SES v2 API
//! (and SES v1's send calls) on a loopback port, gone with its owner. It sends nothing: it
//! keeps every mail in memory, lists them as JSON at `/store` and shows them at `/`. It is
//! the npm package pinned in `infra/ses-local/package-lock.json`, installed by the test
//! command into `infra/ses-local/node_modules`.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use dynamodb_local::stand_in::{LaunchError, StandIn};

/// Node.js starts in well under a second, but not always on a machine busy compiling.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} is missing: install the SES stand-in with `infra/test.sh`, or `npm ci --prefix infra/ses-local`")]
    NotInstalled(PathBuf),
    #[error("port {port} is already in use on 127.0.0.1")]
    PortTaken { port: u16 },
    #[error(transparent)]
    Launch(#[from] LaunchError),
}

/// A running SES stand-in. Dropping it stops the server, and the mails it kept go with it;
/// if it is never dropped, the server still stops when this process exits.
#[derive(Debug)]
pub struct SesLocal(StandIn);

/// Where the stand-in's npm package is installed: `node_modules` of this directory.
pub fn install_dir() -> PathBuf {
    dynamodb_local::workspace_root().join("infra/ses-local")
}

/// The package's command-line entry point, run with `node` rather than through
/// `node_modules/.bin` so that only the script, not its link, has to be in place.
fn cli_script() -> PathBuf {
    install_dir().join("node_modules/aws-ses-v2-local/dist/cli.js")
}

impl SesLocal {
    /// Starts a fresh, empty stand-in on `port`, or on a free one, returning once it answers.
    pub fn start_on(port: Option<u16>) -> Result<Self, Error> {
        let script = cli_script();
        if !script.is_file() {
            return Err(Error::NotInstalled(script));
        }
        // A server already on the port would answer for the new one while it fails to bind.
        if let Some(port) = port
            && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err()
        {
            return Err(Error::PortTaken { port });
        }
        let server = StandIn::start("ses-local", "node".as_ref(), port, READY_TIMEOUT, |command, port| {
            command
                .arg(&script)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                // The stand-in relays every mail to the SMTP server this names; mails from
                // tests and local runs are to stay in it.
                .env_remove("SMTP_TRANSPORT");
        })?;
        Ok(SesLocal(server))
    }

    /// As [`Self::start_on`], on a free port.
    pub fn start() -> Result<Self, Error> {
        Self::start_on(None)
    }

    /// The URL to give an SDK client as its endpoint (any region, any credentials); the
    /// same URL, opened in a browser, shows the mails sent.
    pub fn endpoint(&self) -> String {
        self.0.endpoint()
    }
}
