//! The functions as Lambda runs them: each function's own built binary, one OS process per
//! instance, driven through the Lambda Runtime API with the environment `template.yaml`
//! gives it. An instance takes one invocation at a time; an invocation that finds every
//! instance busy starts another, up to the function's cap, and waits beyond it. Idle
//! instances are reused (warm) and stopped after an idle time; an invocation past the
//! function's `Timeout` is stopped with its instance, and an instance that dies is replaced
//! by the next cold start.

mod instance;
mod runtime_api;
mod spec;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;

use instance::Instance;
pub use runtime_api::{Outcome, Phase, RuntimeApi};
pub use spec::{FunctionSpec, Setup};

/// Why an invocation has no answer.
#[derive(Debug)]
pub enum Failure {
    /// No instance could be started.
    NotStarted(String),
    /// The function reported an error.
    Error(Value),
    /// It ran past its `Timeout`; the instance was stopped.
    TimedOut(Duration),
    /// The instance died during the invocation.
    Crashed(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NotStarted(why) => write!(f, "no instance could start: {why}"),
            Failure::Error(report) => write!(f, "the function failed: {report}"),
            Failure::TimedOut(after) => write!(f, "Task timed out after {:.2} seconds", after.as_secs_f64()),
            Failure::Crashed(status) => write!(f, "the instance died: {status}"),
        }
    }
}

/// One function's instances.
struct Function {
    spec: FunctionSpec,
    /// One permit per instance that may run: held for an invocation's length.
    slots: Semaphore,
    idle: Mutex<Vec<Instance>>,
    started: AtomicU32,
}

impl Function {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn invoke(&self, event: Value) -> Result<Value, Failure> {
        let _slot = self.slots.acquire().await.expect("the semaphore is never closed");
        // The most recently used first: the others go idle long enough to be stopped.
        let warm = self.idle().pop();
        let mut instance = match warm {
            Some(instance) => instance,
            None => self.cold_start().await?,
        };
        let result = instance.invoke(event, self.spec.timeout).await;
        match &result {
            Ok(_) | Err(Failure::Error(_)) => {
                instance.last_used = Instant::now();
                self.idle().push(instance);
            }
            // Lambda does not reuse an instance whose invocation timed out or that died.
            Err(failure) => {
                tracing::warn!(function = %self.spec.binary, instance = instance.number, %failure, "instance stopped");
                instance.stop().await;
            }
        }
        result
    }

    async fn cold_start(&self) -> Result<Instance, Failure> {
        let number = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        let (instance, init) = Instance::start(&self.spec, number).await.inspect_err(
            |failure| tracing::error!(function = %self.spec.binary, instance = number, %failure, "cold start failed"),
        )?;
        tracing::info!(
            function = %self.spec.binary,
            instance = number,
            pid = instance.pid(),
            init_ms = init.as_secs_f64() * 1000.0,
            "cold start"
        );
        Ok(instance)
    }

    /// Stops the instances idle for longer than `idle`.
    async fn stop_idle(&self, idle: Duration) {
        let stopped: Vec<Instance> = {
            let mut instances = self.idle();
            let (stale, fresh) = instances.drain(..).partition(|instance| instance.last_used.elapsed() >= idle);
            *instances = fresh;
            stale
        };
        for instance in stopped {
            tracing::info!(function = %self.spec.binary, instance = instance.number, "idle instance stopped");
            instance.stop().await;
        }
    }
}

/// Every function of the gateway, by binary.
pub struct Pool {
    functions: HashMap<String, Arc<Function>>,
}

impl Pool {
    /// The functions of `binaries`; instances idle for `idle` are stopped.
    pub fn new(setup: &Setup, binaries: impl IntoIterator<Item = String>, idle: Duration) -> Result<Self, String> {
        let mut specs: Vec<FunctionSpec> = Vec::new();
        for binary in binaries {
            if !specs.iter().any(|spec| spec.binary == binary) {
                specs.push(setup.spec(&binary)?);
            }
        }
        Ok(Self::of(specs, idle))
    }

    fn of(specs: Vec<FunctionSpec>, idle: Duration) -> Self {
        let functions: HashMap<String, Arc<Function>> = specs
            .into_iter()
            .map(|spec| {
                let function = Function {
                    slots: Semaphore::new(spec.max_instances),
                    idle: Mutex::default(),
                    started: AtomicU32::new(0),
                    spec,
                };
                (function.spec.binary.clone(), Arc::new(function))
            })
            .collect();
        let watched: Vec<Arc<Function>> = functions.values().cloned().collect();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval((idle / 4).max(Duration::from_millis(100)));
            loop {
                ticks.tick().await;
                for function in &watched {
                    function.stop_idle(idle).await;
                }
            }
        });
        Pool { functions }
    }

    pub fn runs(&self, binary: &str) -> bool {
        self.functions.contains_key(binary)
    }

    /// Runs `binary` on `event` in one of its instances: the function's response document.
    /// The invocation runs to its end even if the caller stops waiting, as in Lambda, where a
    /// client that hangs up does not stop the function.
    pub async fn invoke(&self, binary: &str, event: Value) -> Result<Value, Failure> {
        let function =
            self.functions.get(binary).ok_or_else(|| Failure::NotStarted(format!("no function {binary}")))?.clone();
        tokio::spawn(async move { function.invoke(event).await })
            .await
            .unwrap_or_else(|error| Err(Failure::Crashed(format!("the invocation failed in the gateway: {error}"))))
    }
}
