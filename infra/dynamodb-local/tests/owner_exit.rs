//! DynamoDB Local must stop with the process that started it even when no destructor
//! runs: test binaries keep it in a static, and a crashed or killed run must not leave a
//! JVM behind.
//!
//! Each test re-runs this test binary, filtered to itself, as the owner of a server, ends
//! that owner, then checks that the server is gone.

use std::env;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{self, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use dynamodb_local::DynamoDbLocal;

/// Set in the re-run binary, which then plays the owner instead of the checker.
const OWNER: &str = "DYNAMODB_LOCAL_TEST_OWNER";
const PORT_MARKER: &str = "dynamodb-local-port=";

static SERVER: OnceLock<DynamoDbLocal> = OnceLock::new();

#[derive(Clone, Copy)]
enum Ending {
    /// `process::exit` with the server in a static, so its `Drop` never runs.
    Exit,
    /// SIGKILL: nothing runs in the owner at all.
    Kill,
}

#[test]
fn server_stops_when_its_owner_exits_without_destructors() {
    check("server_stops_when_its_owner_exits_without_destructors", Ending::Exit);
}

#[test]
fn server_stops_when_its_owner_is_killed() {
    check("server_stops_when_its_owner_is_killed", Ending::Kill);
}

fn check(test_name: &str, ending: Ending) {
    if env::var_os(OWNER).is_some() {
        own_a_server();
    }
    let executable = env::current_exe().expect("the test binary's path");
    let mut owner = Command::new(executable)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(OWNER, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the owner starts");
    let stdout = BufReader::new(owner.stdout.take().expect("piped stdout"));
    let port: u16 = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.split_once(PORT_MARKER)?.1.trim().parse().ok())
        .expect("the owner reports its server's port");
    assert!(server_process_exists(port), "the server is running");

    match ending {
        Ending::Exit => drop(owner.stdin.take()),
        Ending::Kill => owner.kill().expect("the owner is killed"),
    }
    let status = owner.wait().expect("the owner ends");
    if let Ending::Exit = ending {
        assert!(status.success(), "the owner exits cleanly: {status}");
    }

    // The server stops asynchronously after its owner is gone, so its end can only be
    // observed by polling; the deadline is generous for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server_process_exists(port) || TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "DynamoDB Local on port {port} outlived its owner");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a server, reports its port, and exits once stdin closes (or dies earlier if
/// killed). The server is never dropped.
fn own_a_server() -> ! {
    let server = SERVER.get_or_init(|| DynamoDbLocal::start().expect("DynamoDB Local starts"));
    println!("{PORT_MARKER}{}", server.port());
    std::io::stdout().flush().expect("stdout flushes");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    process::exit(0);
}

/// Whether a JVM running DynamoDB Local on `port` is still alive, found by its command
/// line so that a process that has closed its socket but not yet exited still counts.
fn server_process_exists(port: u16) -> bool {
    let port = port.to_string();
    let Ok(processes) = fs::read_dir("/proc") else {
        return false;
    };
    processes.filter_map(Result::ok).any(|process| {
        let Ok(cmdline) = fs::read(process.path().join("cmdline")) else {
            return false;
        };
        let args: Vec<&[u8]> = cmdline.split(|byte| *byte == 0).collect();
        let runs_the_jar = args.iter().any(|arg| arg.ends_with(b"DynamoDBLocal.jar"));
        let on_port = args.windows(2).any(|pair| pair[0] == b"-port" && pair[1] == port.as_bytes());
        runs_the_jar && on_port && args.first().is_some_and(|arg| arg.ends_with(b"java"))
    })
}
