//! A stand-in for an AWS service that is a server process of its own (moto, the SES
//! stand-in): started on a loopback port, tied to this process, its output in a log, and
//! known to be up once it answers HTTP.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::probe::{answers_http, free_port, log_tail};
use crate::{tied_to_this_process, workspace_root};

const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Ports are only reserved until they are handed over, so another process can win one.
const PORT_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} did not answer on {endpoint} within {waited:?}; log {log}:\n{tail}")]
    NotReady { name: String, endpoint: String, waited: Duration, log: PathBuf, tail: String },
}

/// A running stand-in. Dropping it stops the server; if it is never dropped, the server
/// still stops when this process exits.
#[derive(Debug)]
pub struct StandIn {
    /// The wrapper shell; its stdin is the pipe whose closing stops the server.
    wrapper: Child,
    port: u16,
}

impl StandIn {
    /// Starts `program` as `name`, with the arguments (and environment) `on_port` gives it
    /// for a port, on `port` or a free one; returns once it answers, within `ready_timeout`.
    /// Its output goes to `.cache/<name>/logs/<port>.log`.
    pub fn start(
        name: &str,
        program: &Path,
        port: Option<u16>,
        ready_timeout: Duration,
        on_port: impl Fn(&mut Command, u16),
    ) -> Result<Self, LaunchError> {
        let io = |context: String| move |source| LaunchError::Io { context, source };
        let logs = workspace_root().join(format!(".cache/{name}/logs"));
        fs::create_dir_all(&logs).map_err(io(format!("creating {}", logs.display())))?;
        let mut attempt = 1;
        loop {
            let chosen = match port {
                Some(port) => port,
                None => free_port().map_err(io("looking for a free port".into()))?,
            };
            let log = logs.join(format!("{chosen}.log"));
            let output = File::create(&log).map_err(io(format!("creating {}", log.display())))?;
            let errors = output.try_clone().map_err(io("opening the log".into()))?;
            let mut command = tied_to_this_process(name, program);
            on_port(&mut command, chosen);
            let wrapper = command
                .stdin(Stdio::piped())
                .stdout(output)
                .stderr(errors)
                .spawn()
                .map_err(io(format!("starting {name} through sh")))?;
            let mut server = StandIn { wrapper, port: chosen };
            let deadline = Instant::now() + ready_timeout;
            loop {
                if answers_http(chosen) {
                    return Ok(server);
                }
                let exited = server.wrapper.try_wait().ok().flatten().is_some();
                if exited && port.is_none() && attempt < PORT_ATTEMPTS {
                    break;
                }
                if exited || Instant::now() >= deadline {
                    let (name, endpoint, tail) = (name.to_owned(), server.endpoint(), log_tail(&log));
                    return Err(LaunchError::NotReady { name, endpoint, waited: ready_timeout, log, tail });
                }
                thread::sleep(POLL_INTERVAL);
            }
            attempt += 1;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        // Closing the pipe is what stops the server; the wrapper exits once it is gone.
        drop(self.wrapper.stdin.take());
        let _ = self.wrapper.wait();
    }
}
