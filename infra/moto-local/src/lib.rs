//! moto in server mode for tests and local runs: one process answering the AWS APIs that
//! have no local implementation of AWS's own (Secrets Manager, SQS, EventBridge, Scheduler),
//! on a loopback port, gone with its owner. It is the PyPI package pinned in
//! `infra/requirements.txt`, installed by the test command into `.cache/venv`.

use std::path::PathBuf;
use std::time::Duration;

use dynamodb_local::stand_in::{LaunchError, StandIn};

/// A Python server importing every AWS service's models takes a moment on a busy machine.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0} is missing: install the Python tools with `infra/test.sh`, or `pip install -r infra/requirements.txt` into .cache/venv"
    )]
    NotInstalled(PathBuf),
    #[error(transparent)]
    Launch(#[from] LaunchError),
}

/// A running moto server. Dropping it stops the server; if it is never dropped, the server
/// still stops when this process exits.
#[derive(Debug)]
pub struct MotoLocal(StandIn);

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
        let server = StandIn::start("moto", &program, port, READY_TIMEOUT, |command, port| {
            command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        })?;
        Ok(MotoLocal(server))
    }

    /// As [`Self::start_on`], on a free port.
    pub fn start() -> Result<Self, Error> {
        Self::start_on(None)
    }

    /// The URL to give an SDK client as its endpoint (any region, any credentials).
    pub fn endpoint(&self) -> String {
        self.0.endpoint()
    }
}
