//! The `dynamodb-local` command's arguments: help and refusals, without starting a server.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Only a guard: a command that mistakes its arguments for a run serves until killed, and
/// the test should fail rather than hang.
const WAIT: Duration = Duration::from_secs(60);

/// Reads all of `pipe` in a thread of its own, so that neither pipe fills while the other
/// is read.
fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn run(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dynamodb-local"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command runs");
    let (stdout, stderr) = (read_all(command.stdout.take().unwrap()), read_all(command.stderr.take().unwrap()));
    // Both pipes reach their end when the command exits.
    let (ended_tx, ended) = mpsc::channel();
    let watcher = thread::spawn(move || {
        let output = (stdout.join().unwrap(), stderr.join().unwrap());
        let _ = ended_tx.send(());
        output
    });
    if ended.recv_timeout(WAIT).is_err() {
        let _ = command.kill();
        panic!("dynamodb-local {args:?} was still running after {WAIT:?}");
    }
    let (stdout, stderr) = watcher.join().unwrap();
    Output { status: command.wait().expect("the command ends"), stdout, stderr }
}

#[test]
fn help_is_printed_and_nothing_starts() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Usage: dynamodb-local") && text.contains("--install-only"), "{text}");
    assert!(!text.contains("ready"), "{text}");
}

#[test]
fn unknown_arguments_are_refused() {
    let output = run(&["--in-memory-only"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unexpected argument '--in-memory-only'"));
}
