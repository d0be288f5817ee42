//! moto in server mode for tests and local runs: one process answering the AWS APIs that
//! have no local implementation of AWS's own (Secrets Manager, SQS, EventBridge, Scheduler),
//! on a loopback port, gone with its owner. It is the PyPI package pinned in
//! `infra/requirements.txt`, installed by the test command into `.cache/venv`.

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use dynamodb_local::probe::{answers_http, free_port, log_tail};

/// A Python server importing every AWS service's models takes a moment on a busy machine.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Ports are only reserved until they are handed over, so another process can win one.
const PORT_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0} is missing: install the Python tools with `infra/test.sh`, or `pip install -r infra/requirements.txt` into .cache/venv"
    )]
    NotInstalled(PathBuf),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("moto did not answer on {endpoint} within {waited:?}; log {log}:\n{tail}")]
    NotReady { endpoint: String, waited: Duration, log: PathBuf, tail: String },
}

/// A running moto server. Dropping it stops the server; if it is never dropped, the server
/// still stops when this process exits.
#[derive(Debug)]
pub struct MotoLocal {
    /// The wrapper shell; its stdin is the pipe whose closing stops the server.
    wrapper: Child,
    port: u16,
}

/// The `moto_server` of the workspace's Python tools.
pub fn moto_server() -> PathBuf {
    dynamodb_local::workspace_root().join(".cache/venv/bin/moto_server")
}

impl MotoLocal {
    /// Starts a fresh moto on `port`, or on a free one, returning once it answers.
    pub fn start_on(port: Option<u16>) -> Result<Self, Error> {
        let program = moto_server();
        if !program.is_file() {
            return Err(Error::NotInstalled(program));
        }
        let logs = dynamodb_local::workspace_root().join(".cache/moto/logs");
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
            let wrapper = dynamodb_local::tied_to_this_process("moto-local", &program)
                .args(["-H", "127.0.0.1", "-p", &chosen.to_string()])
                .stdin(Stdio::piped())
                .stdout(output)
                .stderr(errors)
                .spawn()
                .map_err(|source| Error::Io { context: "starting moto through sh".into(), source })?;
            let mut server = MotoLocal { wrapper, port: chosen };
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

    /// The URL to give an SDK client as its endpoint (any region, any credentials).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for MotoLocal {
    fn drop(&mut self) {
        // Closing the pipe is what stops the server; the wrapper exits once it is gone.
        drop(self.wrapper.stdin.take());
        let _ = self.wrapper.wait();
    }
}
