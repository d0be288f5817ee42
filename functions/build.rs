//! Every file of `src/bin/` is one function: Cargo builds it as that function's binary, and
//! the module list written here puts its handler in the library as well, so that the local
//! gateway and the tests call the very code the binary runs. A new function is a new file.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin");
    println!("cargo::rerun-if-changed={}", bin.display());
    let mut names: Vec<String> = std::fs::read_dir(&bin)
        .expect("src/bin/ is readable")
        .map(|entry| entry.expect("src/bin/ is readable").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "rs"))
        .map(|path| path.file_stem().and_then(|stem| stem.to_str()).expect("a UTF-8 file name").to_owned())
        .collect();
    names.sort();

    let mut code = String::new();
    for name in &names {
        let path = bin.join(format!("{name}.rs"));
        println!("cargo::rerun-if-changed={}", path.display());
        // Its `main` is for its binary; in the library only `handle` is used.
        writeln!(code, "#[allow(dead_code)]\n#[path = {:?}]\npub mod {};", path.display().to_string(), module(name))
            .unwrap();
    }
    // A function's `main` says how Lambda invokes it: behind a route, on a schedule, or on
    // the table's change stream, or on a queue.
    let run_by = |runner: &str| -> Vec<&String> {
        let source = |name: &String| std::fs::read_to_string(bin.join(format!("{name}.rs"))).expect("readable");
        names.iter().filter(|name| source(name).contains(runner)).collect()
    };
    let (scheduled, streamed, queued) =
        (run_by("shared::schedule::run("), run_by("shared::stream::run("), run_by("shared::queue::run("));
    code.push_str("\n/// Every route's function's handler, by the name of its binary.\n");
    code.push_str("pub const HANDLERS: &[(&str, shared::http::HttpHandler)] = &[\n");
    let routed = |name: &&String| !scheduled.contains(name) && !streamed.contains(name) && !queued.contains(name);
    for name in names.iter().filter(routed) {
        writeln!(code, "    ({name:?}, |app, request| Box::pin({}::handle(app, request))),", module(name)).unwrap();
    }
    code.push_str("];\n");
    code.push_str("\n/// Every scheduled function's handler, by the name of its binary.\n");
    code.push_str("pub const SCHEDULED: &[(&str, shared::schedule::ScheduledHandler)] = &[\n");
    for name in &scheduled {
        writeln!(code, "    ({name:?}, |app| Box::pin({}::handle(app))),", module(name)).unwrap();
    }
    code.push_str("];\n");
    code.push_str("\n/// Every stream function's handler, by the name of its binary.\n");
    code.push_str("pub const STREAMED: &[(&str, shared::stream::StreamHandler)] = &[\n");
    for name in &streamed {
        writeln!(code, "    ({name:?}, |app, records| Box::pin({}::handle(app, records))),", module(name)).unwrap();
    }
    code.push_str("];\n");
    code.push_str("\n/// Every queue function's handler, by the name of its binary.\n");
    code.push_str("pub const QUEUED: &[(&str, shared::queue::QueueHandler)] = &[\n");
    for name in &queued {
        writeln!(code, "    ({name:?}, |app, batch| Box::pin({}::handle(app, batch))),", module(name)).unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("Cargo sets OUT_DIR")).join("functions.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

fn module(name: &str) -> String {
    name.replace('-', "_")
}
