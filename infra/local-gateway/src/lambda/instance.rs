//! One instance of a function: its binary as a process of its own, with the environment
//! Lambda gives it, taking one event at a time through its own Runtime API.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use super::Failure;
use super::runtime_api::{Outcome, Phase, RuntimeApi};
use super::spec::FunctionSpec;

/// Lambda's limit on a function's initialisation.
const INIT_LIMIT: Duration = Duration::from_secs(10);

pub struct Instance {
    pub number: u32,
    process: Child,
    api: RuntimeApi,
    pub last_used: Instant,
}

impl Instance {
    /// Starts the binary and waits until it asks for its first event; returns the instance
    /// and how long its initialisation took.
    pub async fn start(spec: &FunctionSpec, number: u32) -> Result<(Self, Duration), Failure> {
        let mut api = RuntimeApi::start(&spec.logical_id)
            .await
            .map_err(|error| Failure::NotStarted(format!("no port for its Runtime API: {error}")))?;
        let started = Instant::now();
        let mut process = Command::new(&spec.path)
            .env_clear()
            .envs(&spec.environment)
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{number}"))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| Failure::NotStarted(format!("{}: {error}", spec.path.display())))?;
        let phase = tokio::select! {
            phase = api.started() => phase,
            status = process.wait() => {
                return Err(Failure::NotStarted(format!("it exited while starting ({})", describe(status))));
            }
            _ = tokio::time::sleep(INIT_LIMIT) => {
                return Err(Failure::NotStarted(format!("it did not start within {} s", INIT_LIMIT.as_secs())));
            }
        };
        match phase {
            Phase::Ready => {
                let init = started.elapsed();
                Ok((Instance { number, process, api, last_used: Instant::now() }, init))
            }
            Phase::InitFailed(report) => Err(Failure::NotStarted(format!("it reported {report}"))),
            Phase::Initialising => Err(Failure::NotStarted("its Runtime API stopped".into())),
        }
    }

    /// The OS process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    /// Stops the process and waits until it is gone.
    pub async fn stop(mut self) {
        let _ = self.process.kill().await;
    }

    /// Hands `event` to the function and waits for its answer, at most `timeout`.
    pub async fn invoke(&mut self, event: Value, timeout: Duration) -> Result<Value, Failure> {
        let answer = self.api.invoke(event, timeout).await;
        tokio::select! {
            outcome = answer => match outcome {
                Ok(Outcome::Response(response)) => Ok(response),
                Ok(Outcome::Error(report)) => Err(Failure::Error(report)),
                Err(_) => Err(Failure::Crashed("its Runtime API stopped".into())),
            },
            status = self.process.wait() => Err(Failure::Crashed(describe(status))),
            _ = tokio::time::sleep(timeout) => Err(Failure::TimedOut(timeout)),
        }
    }
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(error) => error.to_string(),
    }
}
