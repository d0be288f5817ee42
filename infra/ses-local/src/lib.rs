//! aws-ses-v2-local for tests and local runs: one Node.js process answering the SES v2 API
//! (and SES v1's send calls) on a loopback port, gone with its owner. It sends nothing: it
//! keeps every mail in memory, lists them as JSON at `/store` and shows them at `/`. It is
//! the npm package pinned in `infra/ses-local/package-lock.json`, installed by the test
//! command into `infra/ses-local/node_modules`.

use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use dynamodb_local::probe::{answers_http, free_port, log_tail};

/// Node.js starts in well under a second, but not always on a machine busy compiling.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Ports are only reserved until they are handed over, so another process can win one.
const PORT_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} is missing: install the SES stand-in with `infra/test.sh`, or `npm ci --prefix infra/ses-local`")]
    NotInstalled(PathBuf),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("port {port} is already in use on 127.0.0.1")]
    PortTaken { port: u16 },
    #[error("the SES stand-in did not answer on {endpoint} within {waited:?}; log {log}:\n{tail}")]
    NotReady { endpoint: String, waited: Duration, log: PathBuf, tail: String },
}

/// A running SES stand-in. Dropping it stops the server, and the mails it kept go with it;
/// if it is never dropped, the server still stops when this process exits.
#[derive(Debug)]
pub struct SesLocal {
    /// The wrapper shell; its stdin is the pipe whose closing stops the server.
    wrapper: Child,
    port: u16,
}

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
        let logs = dynamodb_local::workspace_root().join(".cache/ses-local/logs");
        fs::create_dir_all(&logs)
            .map_err(|source| Error::Io { context: format!("creating {}", logs.display()), source })?;
        let mut attempt = 1;
        loop {
            let chosen = match port {
                Some(port) => port,
                None => {
                    free_port().map_err(|source| Error::Io { context: "looking for a free port".into(), source })?
                }
            };
            let log = logs.join(format!("{chosen}.log"));
            let output = File::create(&log)
                .map_err(|source| Error::Io { context: format!("creating {}", log.display()), source })?;
            let errors =
                output.try_clone().map_err(|source| Error::Io { context: "opening the log".into(), source })?;
            let wrapper = dynamodb_local::tied_to_this_process("ses-local", "node")
                .arg(&script)
                .args(["--host", "127.0.0.1", "--port", &chosen.to_string()])
                // The stand-in relays every mail to the SMTP server this names; mails from
                // tests and local runs are to stay in it.
                .env_remove("SMTP_TRANSPORT")
                .stdin(Stdio::piped())
                .stdout(output)
                .stderr(errors)
                .spawn()
                .map_err(|source| Error::Io { context: "starting the SES stand-in through sh".into(), source })?;
            let mut server = SesLocal { wrapper, port: chosen };
            let deadline = Instant::now() + READY_TIMEOUT;
            loop {
                if answers_http(chosen) {
                    return Ok(server);
                }
                let exited = server.wrapper.try_wait().ok().flatten().is_some();
                if exited && port.is_none() && attempt < PORT_ATTEMPTS {
                    break;
                }
                if exited || Instant::now() >= deadline {
                    let endpoint = server.endpoint();
                    return Err(Error::NotReady { endpoint, waited: READY_TIMEOUT, tail: log_tail(&log), log });
                }
                thread::sleep(POLL_INTERVAL);
            }
            attempt += 1;
        }
    }

    /// As [`Self::start_on`], on a free port.
    pub fn start() -> Result<Self, Error> {
        Self::start_on(None)
    }

    /// The URL to give an SDK client as its endpoint (any region, any credentials); the
    /// same URL, opened in a browser, shows the mails sent.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for SesLocal {
    fn drop(&mut self) {
        // Closing the pipe is what stops the server; the wrapper exits once it is gone.
        drop(self.wrapper.stdin.take());
        let _ = self.wrapper.wait();
    }
}
