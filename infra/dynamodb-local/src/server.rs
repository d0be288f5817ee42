//! Running DynamoDB Local as a child that cannot outlive the process that started it.

use std::env;
use std::ffi::OsString;
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::install::{JAR, NATIVE_LIBS};
use crate::probe::{answers_http, free_port, log_tail};
use crate::{Error, cache_dir, install};

/// A cold JVM on a busy machine, e.g. while other test binaries compile, can be slow.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Ports are only reserved until they are handed over, so another process can win one.
const PORT_ATTEMPTS: usize = 3;

/// Runs the server (`"$@"`) and stops it as soon as its stdin reaches end of file, which
/// happens when the process holding the write end exits, however it exits: destructors
/// of values in statics never run, and a crash or `kill -9` runs nothing at all.
///
/// The watch runs in a subshell so that the wrapper itself can wait on the server and
/// exit with it if it dies early. The server ignores SIGINT (the shell does that for
/// background jobs), so Ctrl-C reaches it only through the closed pipe; the trap covers
/// the wrapper being signalled on its own.
const WRAPPER: &str = r#"
exec 3<&0 </dev/null
"$@" 3<&- &
server=$!
{ read _ignored <&3; kill "$server" 2>/dev/null; } &
watcher=$!
exec 3<&-
trap 'kill "$server" 2>/dev/null' HUP INT TERM
while :; do
    wait "$server"
    status=$?
    kill -0 "$server" 2>/dev/null || break
done
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// A command that runs `program` (with the arguments added to it) as a child that stops
/// when this process exits, however it exits (see [`WRAPPER`]); its stdin must be piped.
pub fn tied_to_this_process(name: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", WRAPPER, name]).arg(program);
    command
}

/// A running DynamoDB Local, in memory, with one database for every region and access
/// key so that clients configured differently still see the same tables.
///
/// Dropping it stops the server and waits until it is gone. If it is never dropped, the
/// server still stops when this process exits.
#[derive(Debug)]
pub struct DynamoDbLocal {
    /// The wrapper shell; its stdin is the pipe whose closing stops the server.
    wrapper: Child,
    port: u16,
}

impl DynamoDbLocal {
    /// Installs DynamoDB Local if needed and starts a fresh, empty instance on a free
    /// port, returning once it answers HTTP requests.
    pub fn start() -> Result<Self, Error> {
        Self::start_on(None)
    }

    /// As [`Self::start`], on `port` when one is given (for clients configured ahead, such as
    /// `sam local`'s containers through `events/env.json`), else on a free one. The server
    /// listens on every interface, so a container reaches it at `host.docker.internal`.
    pub fn start_on(port: Option<u16>) -> Result<Self, Error> {
        let java = find_on_path("java").ok_or(Error::JavaMissing)?;
        let dir = install()?;
        let logs = cache_dir().join("logs");
        fs::create_dir_all(&logs).map_err(Error::io(format!("creating {}", logs.display())))?;
        // A server already on the port would answer for the new one while it fails to bind.
        if let Some(port) = port
            && std::net::TcpListener::bind(("0.0.0.0", port)).is_err()
        {
            return Err(Error::PortTaken { port });
        }
        let mut attempt = 1;
        loop {
            let chosen = match port {
                Some(port) => port,
                None => free_port().map_err(Error::io("looking for a free port"))?,
            };
            let log = logs.join(format!("{chosen}.log"));
            let mut server = Self::spawn(&java, &dir, chosen, &log)?;
            match server.wait_until_ready(&log) {
                Ok(()) => return Ok(server),
                Err(Startup::PortTaken) if port.is_some() => return Err(Error::PortTaken { port: chosen }),
                Err(Startup::PortTaken) if attempt < PORT_ATTEMPTS => attempt += 1,
                Err(Startup::PortTaken) => {
                    return Err(failed(&log, "could not bind a free port"));
                }
                Err(Startup::Failed(error)) => return Err(error),
            }
        }
    }

    /// The URL to give an SDK client as its endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server's process (`SIGSTOP`) until the returned guard is dropped
    /// (`SIGCONT`): a dependency that still accepts connections but answers nothing, as a
    /// stalled one does. For fault tests.
    pub fn freeze(&self) -> Result<Frozen, Error> {
        let pid = self.server_pid().ok_or_else(|| Error::Io {
            context: "finding DynamoDB Local's process".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })?;
        signal(pid, "STOP")?;
        Ok(Frozen { pid })
    }

    /// The JVM's process id: the wrapper's child that runs `java`.
    fn server_pid(&self) -> Option<u32> {
        let wrapper = self.wrapper.id();
        let children = fs::read_to_string(format!("/proc/{wrapper}/task/{wrapper}/children")).ok()?;
        children
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .find(|pid: &u32| fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim() == "java"))
    }

    fn spawn(java: &Path, dir: &Path, port: u16, log: &Path) -> Result<Self, Error> {
        let output = File::create(log).map_err(Error::io(format!("creating {}", log.display())))?;
        let errors = output.try_clone().map_err(Error::io(format!("opening {}", log.display())))?;
        let mut library_path = OsString::from("-Djava.library.path=");
        library_path.push(dir.join(NATIVE_LIBS));
        let wrapper = tied_to_this_process("dynamodb-local", java)
            .arg(library_path)
            .arg("-jar")
            .arg(dir.join(JAR))
            .args(["-inMemory", "-sharedDb", "-disableTelemetry", "-port"])
            .arg(port.to_string())
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .map_err(Error::io("starting DynamoDB Local through sh"))?;
        Ok(DynamoDbLocal { wrapper, port })
    }

    /// Readiness of an external process can only be polled; the deadline keeps a wedged
    /// JVM from hanging the caller.
    fn wait_until_ready(&mut self, log: &Path) -> Result<(), Startup> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            // A failed bind leaves the JVM running without a server, so the log is the
            // only sign of it.
            let text = fs::read_to_string(log).unwrap_or_default();
            if text.contains("Failed to bind") {
                return Err(Startup::PortTaken);
            }
            if text.contains("Exception in thread \"main\"") {
                return Err(Startup::Failed(failed(log, "failed during startup")));
            }
            match self.wrapper.try_wait() {
                Ok(Some(status)) => {
                    let reason = format!("exited during startup ({status})");
                    return Err(Startup::Failed(failed(log, &reason)));
                }
                Ok(None) => {}
                Err(source) => {
                    let context = "checking on DynamoDB Local".to_owned();
                    return Err(Startup::Failed(Error::Io { context, source }));
                }
            }
            if answers_http(self.port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Startup::Failed(Error::NotReady {
                    endpoint: self.endpoint(),
                    waited: READY_TIMEOUT,
                    log: log.to_owned(),
                    tail: log_tail(log),
                }));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        // Closing the pipe is what stops the server; the wrapper exits once it is gone.
        drop(self.wrapper.stdin.take());
        let _ = self.wrapper.wait();
    }
}

/// A frozen DynamoDB Local; dropping it lets the server run on.
#[must_use = "the server runs on as soon as this is dropped"]
#[derive(Debug)]
pub struct Frozen {
    pid: u32,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if let Err(error) = signal(self.pid, "CONT") {
            eprintln!("could not thaw DynamoDB Local: {error}");
        }
    }
}

fn signal(pid: u32, name: &str) -> Result<(), Error> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .map_err(Error::io(format!("sending SIG{name} to DynamoDB Local")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Io {
            context: format!("sending SIG{name} to DynamoDB Local"),
            source: std::io::Error::other(format!("kill exited with {status}")),
        })
    }
}

enum Startup {
    PortTaken,
    Failed(Error),
}

fn failed(log: &Path, reason: &str) -> Error {
    Error::Failed { reason: reason.to_owned(), log: log.to_owned(), tail: log_tail(log) }
}

/// Looked up here rather than left to the shell so that a missing Java is reported as
/// such instead of as a server that exited with status 127.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| {
        fs::metadata(candidate).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}
