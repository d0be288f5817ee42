//! The `dynamodb-local` command's arguments: help and refusals, without starting a server.

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dynamodb-local")).args(args).output().expect("the command runs")
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
    let output = run(&["--port", "8000"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unexpected argument '--port'"));
}
