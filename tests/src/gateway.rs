//! The local gateway as a child process, as a developer runs it, with its output captured.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::stack::{binary, unique_name};

/// The project key the test gateways are started with.
pub const PROJECT_KEY: &str = "test-project-key-0123456789";

/// How long the gateway may take to print something a test waits for.
const OUTPUT_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Output {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
}

pub struct Gateway {
    child: Child,
    base: String,
    /// The S3 endpoint attached files are kept at.
    s3: String,
    ws_base: String,
    output: Arc<Output>,
    frames: Arc<AtomicUsize>,
}

/// The WebSocket frames the test's clients sent to one gateway, against the invocations the
/// gateway logged for them. The gateway runs each frame as its own invocation, concurrently,
/// as API Gateway does, so a client learns that its earlier frames are done only here.
#[derive(Clone)]
pub struct FrameLedger {
    output: Arc<Output>,
    frames: Arc<AtomicUsize>,
}

impl FrameLedger {
    pub fn sent_one(&self) {
        self.frames.fetch_add(1, Ordering::SeqCst);
    }

    /// Blocks until every frame sent so far has had its invocation logged: their pushes are
    /// then posted, ahead of anything posted later.
    pub fn wait_until_done(&self) {
        let sent = self.frames.load(Ordering::SeqCst);
        wait_until(&self.output, |lines| (invocations_in(lines).filter(is_frame).count() >= sent).then_some(()));
    }
}

/// An invocation for a WebSocket frame: a route key that is neither an HTTP route
/// (`METHOD /path`) nor `$connect`/`$disconnect`.
fn is_frame(log: &Value) -> bool {
    let route = log["route"].as_str().unwrap_or_default();
    !route.contains(' ') && route != "$connect" && route != "$disconnect"
}

impl Gateway {
    /// On the embedded store, with the cast of [`crate::cast`].
    pub fn start() -> Self {
        Self::spawn(&[])
    }

    /// On the embedded store, with the cast of [`crate::cast`] and `args` besides.
    pub fn start_with(args: &[&str]) -> Self {
        Self::spawn(args)
    }

    /// On `table` in DynamoDB Local, with the cast of [`crate::cast`].
    pub fn start_on_dynamodb(table: &str) -> Self {
        let endpoint = crate::stack::dynamodb().endpoint();
        Self::spawn(&["--dynamodb-endpoint", &endpoint, "--table", table])
    }

    /// On `table` in DynamoDB Local, with the cast and `args` besides.
    pub fn start_on_dynamodb_with(table: &str, args: &[&str]) -> Self {
        let endpoint = crate::stack::dynamodb().endpoint();
        let mut all = vec!["--dynamodb-endpoint", endpoint.as_str(), "--table", table];
        all.extend_from_slice(args);
        Self::spawn(&all)
    }

    /// Runs the scheduled function `name` (its logical id or binary) now, through the Lambda
    /// Invoke API as `aws lambda invoke` would: what it answered.
    pub async fn run_scheduled(&self, name: &str) -> serde_json::Value {
        let url = self.url(&format!("/2015-03-31/functions/{name}/invocations"));
        let response = reqwest::Client::new().post(url).body("{}").send().await.expect("the gateway answers");
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("x-amz-function-error").is_none(), "{name} failed");
        response.json().await.expect("a JSON answer")
    }

    /// On `table` in DynamoDB Local, each function its own binary in processes of its own
    /// (`--lambda`), with `args` besides.
    pub fn start_as_lambda(table: &str, args: &[&str]) -> Self {
        let endpoint = crate::stack::dynamodb().endpoint();
        Self::start_as_lambda_on(&endpoint, table, args)
    }

    /// As [`Self::start_as_lambda`], on the DynamoDB at `endpoint`.
    pub fn start_as_lambda_on(endpoint: &str, table: &str, args: &[&str]) -> Self {
        let mut all = vec!["--lambda", "--dynamodb-endpoint", endpoint, "--table", table];
        all.extend_from_slice(args);
        Self::spawn(&all)
    }

    /// On `table` in DynamoDB Local, run by `tool` (e.g. `valgrind --tool=callgrind`).
    pub fn start_on_dynamodb_under(tool: &[&str], table: &str) -> Self {
        let endpoint = crate::stack::dynamodb().endpoint();
        Self::spawn_under(tool, &["--dynamodb-endpoint", &endpoint, "--table", table])
    }

    /// With the given arguments and no seed file (the demo identities).
    pub fn start_with_args(args: &[&str]) -> Self {
        let mut command = Command::new(binary("local-gateway"));
        command.args(["--http-port", "0", "--ws-port", "0"]).args(args);
        Self::launch(command)
    }

    fn spawn(args: &[&str]) -> Self {
        Self::spawn_under(&[], args)
    }

    fn spawn_under(tool: &[&str], args: &[&str]) -> Self {
        let seed_path = std::env::temp_dir().join(format!("{}.json", unique_name("seed")));
        std::fs::write(&seed_path, serde_json::to_string(&crate::cast::seed()).unwrap()).unwrap();
        let mut command = match tool {
            [] => Command::new(binary("local-gateway")),
            [program, tool_args @ ..] => {
                let mut command = Command::new(program);
                command.args(tool_args).arg(binary("local-gateway"));
                command
            }
        };
        command
            .args(["--http-port", "0", "--ws-port", "0", "--project-key", PROJECT_KEY])
            .args(["--platform-credentials", &crate::platform::PLATFORM_KEY.join(":"), "--seed"])
            .arg(&seed_path)
            .args(args);
        // Tests send as fast as they can: the per-sender limit is off unless a test sets it.
        if !args.contains(&"--messages-per-minute") {
            command.args(["--messages-per-minute", "0"]);
        }
        Self::launch(command)
    }

    fn launch(mut command: Command) -> Self {
        let mut child = command
            .env("LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("local-gateway starts");
        let output = Arc::new(Output::default());
        let stdout = child.stdout.take().expect("stdout is piped");
        let sink = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lines.lock().unwrap().push(line);
                sink.grew.notify_all();
            }
        });
        let frames = Arc::new(AtomicUsize::new(0));
        let mut gateway =
            Gateway { child, base: String::new(), s3: String::new(), ws_base: String::new(), output, frames };
        let ready = gateway.wait_for_line(|line| line.starts_with("local-gateway ready: "));
        let url = ready.trim_start_matches("local-gateway ready: ").split_whitespace().next().unwrap();
        gateway.base = url.to_owned();
        let files = ready.split(", files: ").nth(1).and_then(|rest| rest.split_whitespace().next());
        gateway.s3 = files.expect("the ready line names the S3 endpoint").to_owned();
        let websocket = gateway.wait_for_line(|line| line.starts_with("local-gateway websocket: "));
        let websocket_url =
            websocket.trim_start_matches("local-gateway websocket: ").split_whitespace().next().unwrap();
        gateway.ws_base = websocket_url.to_owned();
        gateway
    }

    /// The gateway process's id (for its CPU time, say).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The programs the gateway runs as its children (with `--lambda`, one per instance of a
    /// function), by file name, sorted.
    pub fn child_programs(&self) -> Vec<String> {
        let mut programs: Vec<String> = children_of(self.child.id()).into_iter().map(|(_, program)| program).collect();
        programs.sort();
        programs
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// The S3 endpoint attached files are kept at.
    pub fn s3_endpoint(&self) -> &str {
        &self.s3
    }

    /// The WebSocket API's URL, e.g. `ws://127.0.0.1:PORT/local`.
    pub fn websocket_url(&self) -> &str {
        &self.ws_base
    }

    /// The WebSocket API's `@connections` endpoint, e.g. `http://127.0.0.1:PORT/local`.
    pub fn management_endpoint(&self) -> String {
        self.ws_base.replacen("ws://", "http://", 1)
    }

    /// Every line printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.output.lines.lock().unwrap().clone()
    }

    /// Blocks until `found` finds something in the lines printed so far, and returns it.
    fn wait_until<T>(&self, found: impl Fn(&[String]) -> Option<T>) -> T {
        wait_until(&self.output, found)
    }

    /// Where this gateway's WebSocket clients count the frames they send.
    pub fn frame_ledger(&self) -> FrameLedger {
        FrameLedger { output: self.output.clone(), frames: self.frames.clone() }
    }

    /// Blocks until a line matching `wanted` has been printed, and returns it.
    pub fn wait_for_line(&self, wanted: impl Fn(&str) -> bool) -> String {
        self.wait_until(|lines| lines.iter().find(|line| wanted(line)).cloned())
    }

    /// Blocks until the per-invocation log lines printed so far give what `found` looks for.
    pub fn wait_for_invocations<T>(&self, found: impl Fn(&[Value]) -> Option<T>) -> T {
        self.wait_until(|lines| found(&invocations_in(lines).collect::<Vec<_>>()))
    }

    /// The per-invocation log lines printed so far.
    pub fn invocations(&self) -> Vec<Value> {
        invocations_in(&self.lines()).collect()
    }

    /// Blocks until the `n`th (1-based) invocation of `route` has been logged, and returns it.
    pub fn invocation_of(&self, route: &str, n: usize) -> Value {
        self.wait_until(|lines| invocations_in(lines).filter(|log| log["route"] == route).nth(n - 1))
    }

    /// Blocks until `n` cold starts of `function` (a binary) have been logged in `--lambda`
    /// mode, and returns every one logged by then.
    pub fn wait_for_cold_starts(&self, function: &str, n: usize) -> Vec<Value> {
        self.wait_until(|lines| {
            let starts: Vec<Value> = lines
                .iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|log| log["message"] == "cold start" && log["function"] == function)
                .collect();
            (starts.len() >= n).then_some(starts)
        })
    }

    /// Blocks until the `n`th (1-based) invocation a request made has been logged (the
    /// table's stream invokes its function meanwhile too), and returns its line.
    pub fn invocation(&self, n: usize) -> Value {
        self.wait_until(|lines| {
            invocations_in(lines).filter(|log| !log["route"].as_str().unwrap_or("").starts_with("stream ")).nth(n - 1)
        })
    }
}

/// Blocks until `found` finds something in the lines `output` holds so far, and returns it.
fn wait_until<T>(output: &Output, found: impl Fn(&[String]) -> Option<T>) -> T {
    let deadline = Instant::now() + OUTPUT_DEADLINE;
    let mut lines = output.lines.lock().unwrap();
    loop {
        if let Some(value) = found(&lines) {
            return value;
        }
        let left = deadline.checked_duration_since(Instant::now()).unwrap_or_else(|| {
            panic!("the gateway did not print what was expected; it printed:\n{}", lines.join("\n"))
        });
        lines = output.grew.wait_timeout(lines, left).unwrap().0;
    }
}

fn invocations_in(lines: &[String]) -> impl Iterator<Item = Value> + '_ {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|log| log["message"] == "invocation")
}

impl Drop for Gateway {
    /// Stops the gateway as a developer does, so that it stops what it started (function
    /// instances, DynamoDB Local) before it exits.
    fn drop(&mut self) {
        let asked = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        if !asked.is_ok_and(|status| status.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The processes whose parent is `parent`: their ids, and their programs by file name.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("procfs").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid …`: the name may hold spaces, so read after its `)`.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1));
        if ppid != Some(&parent.to_string()) {
            continue;
        }
        let Ok(command) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let program = command.split(|&b| b == 0).next().unwrap_or_default();
        let program = std::path::Path::new(std::str::from_utf8(program).unwrap_or_default());
        children.push((pid, program.file_name().unwrap_or_default().to_string_lossy().into_owned()));
    }
    children
}

/// Kills `parent`'s children that run `program` as a crash would (`SIGKILL`): how many.
pub fn kill_children(parent: u32, program: &str) -> usize {
    let kill = |pid: u32| std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    children_of(parent)
        .into_iter()
        .filter(|(pid, name)| name == program && kill(*pid).is_ok_and(|s| s.success()))
        .count()
}

/// One GET from a gateway: status and JSON body.
pub async fn get_json(url: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    exchange(reqwest::Client::new().get(url), token).await
}

/// One POST of `body` to a gateway: status and JSON body.
pub async fn post_json(url: &str, token: Option<&str>, body: &serde_json::Value) -> (u16, serde_json::Value) {
    exchange(reqwest::Client::new().post(url).json(body), token).await
}

/// One POST of `body` as it is (not necessarily JSON) to a gateway: status and JSON body.
pub async fn post_raw(url: &str, token: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let request = reqwest::Client::new().post(url).header("Content-Type", "application/json").body(body.to_owned());
    exchange(request, token).await
}

async fn exchange(mut request: reqwest::RequestBuilder, token: Option<&str>) -> (u16, serde_json::Value) {
    if let Some(token) = token {
        request = request.header("Authorization", format!("Token {token}"));
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "every answer is JSON"
    );
    (status, response.json().await.expect("a JSON body"))
}

/// Runs each scenario (an `async fn(Gateway)`) against a gateway on the embedded store, one
/// on a fresh DynamoDB Local table, and one that runs every function as Lambda does (its own
/// binary, its own processes, `--lambda`) on another fresh table: as `memory::<name>`,
/// `dynamodb::<name>` and `lambda::<name>`.
#[macro_export]
macro_rules! on_every_stack {
    // Each gateway started with the same options besides.
    (with $args:expr; $($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    super::$scenario($crate::gateway::Gateway::start_with($args)).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let table = $crate::stack::fresh_table().await;
                    super::$scenario($crate::gateway::Gateway::start_on_dynamodb_with(&table, $args)).await
                }
            )*
        }
        mod lambda {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let table = $crate::stack::fresh_table().await;
                    super::$scenario($crate::gateway::Gateway::start_as_lambda(&table, $args)).await
                }
            )*
        }
    };
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    super::$scenario($crate::gateway::Gateway::start()).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let table = $crate::stack::fresh_table().await;
                    super::$scenario($crate::gateway::Gateway::start_on_dynamodb(&table)).await
                }
            )*
        }
        mod lambda {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let table = $crate::stack::fresh_table().await;
                    super::$scenario($crate::gateway::Gateway::start_as_lambda(&table, &[])).await
                }
            )*
        }
    };
}
