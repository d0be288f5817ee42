//! AWS's DynamoDB Local for tests and local runs: installed once from the npm registry
//! into a shared cache, run in memory (on a free port for tests, on port 8000 for the
//! `dynamodb-local` command), and gone with its owner.
//!
//! The jar comes from the `amplify-dynamodb-simulator` npm package because npm is already
//! on developer machines and CI images, goes through whatever registry mirror and proxy
//! they are configured with, and checks the download's integrity.

mod error;
mod install;
pub mod probe;
mod server;
pub mod stand_in;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use install::install;
pub use server::{DynamoDbLocal, Frozen, tied_to_this_process};

/// The port the `dynamodb-local` command serves on unless told otherwise: DynamoDB Local's
/// own default, and what `events/env.json` points `sam local`'s containers at.
pub const DEFAULT_PORT: u16 = 8000;

/// Lets several checkouts, or a CI cache, share one install.
const CACHE_DIR_ENV: &str = "DYNAMODB_LOCAL_DIR";

/// Where DynamoDB Local is installed and logs its runs: `$DYNAMODB_LOCAL_DIR` if set, else
/// inside the workspace, so every test binary finds the same install and `cargo clean`
/// does not throw away a 56 MB download.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join(".cache").join("dynamodb-local"),
    }
}

/// The workspace this crate is built in: where `.cache/` is.
pub fn workspace_root() -> &'static Path {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.ancestors().nth(2).unwrap_or(manifest_dir)
}
