//! Instances of a function that is a small script speaking the Runtime API, told by each
//! event what to do: answer, fail, hang or die.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use super::*;

const SCRIPT: &str = r#"
import json, os, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
def post(path, body):
    urllib.request.urlopen(urllib.request.Request(api + path, data=json.dumps(body).encode(), method="POST"))
if os.environ.get("START") == "fail":
    post("/init/error", {"errorType": "Boom", "errorMessage": "no config"})
    sys.exit(1)
while True:
    with urllib.request.urlopen(api + "/invocation/next") as answer:
        request_id = answer.headers["lambda-runtime-aws-request-id"]
        deadline = int(answer.headers["lambda-runtime-deadline-ms"])
        event = json.load(answer)
    if event["do"] == "hang":
        time.sleep(3600)
    if event["do"] == "die":
        os._exit(3)
    kind = "error" if event["do"] == "fail" else "response"
    post("/invocation/%s/%s" % (request_id, kind), {"pid": os.getpid(), "deadline_ms": deadline})
"#;

/// The script as an executable of its own, as a function's binary is. It is written once, before
/// any test starts a process: a file open for writing while another thread forks stays open in
/// that child until it execs, and running the file meanwhile fails with "Text file busy".
fn script() -> &'static PathBuf {
    static SCRIPT_PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SCRIPT_PATH.get_or_init(|| {
        let python = std::process::Command::new("sh").args(["-c", "command -v python3"]).output().expect("a shell");
        let python = String::from_utf8(python.stdout).unwrap().trim().to_owned();
        assert!(!python.is_empty(), "python3 is on the PATH");
        let path = std::env::temp_dir().join(format!("local-gateway-function-{}", std::process::id()));
        std::fs::write(&path, format!("#!{python}\n{SCRIPT}")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    })
}

fn function(name: &str, environment: &[(&str, &str)], timeout: Duration, max_instances: usize) -> FunctionSpec {
    let environment: BTreeMap<String, String> =
        environment.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    FunctionSpec {
        binary: name.to_owned(),
        logical_id: name.to_owned(),
        path: script().clone(),
        environment,
        timeout,
        max_instances,
    }
}

fn pool(spec: FunctionSpec) -> (Pool, String) {
    let name = spec.binary.clone();
    (Pool::of(vec![spec], Duration::from_secs(600)), name)
}

fn started(pool: &Pool, name: &str) -> u32 {
    pool.functions[name].started.load(Ordering::Relaxed)
}

fn pid(answer: &Result<Value, Failure>) -> u64 {
    answer.as_ref().expect("an answer")["pid"].as_u64().unwrap()
}

/// Whether the process is gone (or a zombie no one has reaped yet).
fn stopped(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_or(true, |stat| stat.rsplit(')').next().unwrap_or_default().trim_start().starts_with('Z'))
}

#[tokio::test]
async fn a_warm_instance_takes_the_next_event_and_its_deadline_is_the_timeout() {
    let (pool, name) = pool(function("answers", &[], Duration::from_secs(7), 10));
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let first = pool.invoke(&name, json!({"do": "answer"})).await;
    let deadline = first.as_ref().unwrap()["deadline_ms"].as_u64().unwrap();
    assert!((before + 7_000..before + 8_000).contains(&deadline), "{deadline} is 7 s after {before}");
    let second = pool.invoke(&name, json!({"do": "answer"})).await;
    assert_eq!(pid(&first), pid(&second), "one process served both");
    assert_eq!(started(&pool, &name), 1);
}

#[tokio::test]
async fn one_instance_at_most_takes_events_in_turn() {
    let (pool, name) = pool(function("one-at-a-time", &[], Duration::from_secs(10), 1));
    let answers = futures::future::join_all((0..4).map(|_| pool.invoke(&name, json!({"do": "answer"})))).await;
    assert!(answers.iter().all(|answer| pid(answer) == pid(&answers[0])));
    assert_eq!(started(&pool, &name), 1);
}

#[tokio::test]
async fn a_reported_error_keeps_the_instance() {
    let (pool, name) = pool(function("fails", &[], Duration::from_secs(10), 10));
    let first = pool.invoke(&name, json!({"do": "answer"})).await;
    let failed = pool.invoke(&name, json!({"do": "fail"})).await;
    assert!(matches!(&failed, Err(Failure::Error(report)) if report["pid"].as_u64() == Some(pid(&first))));
    assert_eq!(pid(&pool.invoke(&name, json!({"do": "answer"})).await), pid(&first));
}

#[tokio::test]
async fn an_invocation_past_its_timeout_stops_the_instance() {
    let (pool, name) = pool(function("hangs", &[], Duration::from_secs(1), 10));
    let first = pid(&pool.invoke(&name, json!({"do": "answer"})).await);
    let timed_out = pool.invoke(&name, json!({"do": "hang"})).await;
    assert!(matches!(timed_out, Err(Failure::TimedOut(after)) if after == Duration::from_secs(1)));
    assert!(stopped(first), "the instance's process was stopped");
    let next = pid(&pool.invoke(&name, json!({"do": "answer"})).await);
    assert_ne!(next, first);
    assert_eq!(started(&pool, &name), 2, "a cold start replaced it");
}

#[tokio::test]
async fn an_instance_that_dies_is_replaced() {
    let (pool, name) = pool(function("dies", &[], Duration::from_secs(10), 10));
    let first = pid(&pool.invoke(&name, json!({"do": "answer"})).await);
    assert!(matches!(pool.invoke(&name, json!({"do": "die"})).await, Err(Failure::Crashed(_))));
    let next = pid(&pool.invoke(&name, json!({"do": "answer"})).await);
    assert_ne!(next, first);
    assert_eq!(started(&pool, &name), 2);
}

#[tokio::test]
async fn a_failed_start_is_reported_and_tried_again_next_time() {
    let (pool, name) = pool(function("cannot-start", &[("START", "fail")], Duration::from_secs(10), 10));
    let failed = pool.invoke(&name, json!({"do": "answer"})).await;
    assert!(matches!(&failed, Err(Failure::NotStarted(why)) if why.contains("Boom")), "{failed:?}");
    assert!(pool.invoke(&name, json!({"do": "answer"})).await.is_err());
    assert_eq!(started(&pool, &name), 2);
}

#[tokio::test]
async fn idle_instances_are_stopped() {
    let spec = function("idles", &[], Duration::from_secs(10), 10);
    let name = spec.binary.clone();
    let pool = Pool::of(vec![spec], Duration::from_millis(1));
    let first = pid(&pool.invoke(&name, json!({"do": "answer"})).await);
    // Stopping is the reaper's; here it is done at once, as it would be at its next tick.
    pool.functions[&name].stop_idle(Duration::ZERO).await;
    assert!(stopped(first));
    assert!(pool.functions[&name].idle().is_empty());
    assert_ne!(pid(&pool.invoke(&name, json!({"do": "answer"})).await), first);
}
