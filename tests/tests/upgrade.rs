//! Upgrades a running deployment survives: `template.yaml` against the one of the last
//! release (the newest `v*` tag this checkout descends from), which one `sam deploy` must
//! turn into this one without losing data (see `sam_template`'s upgrade rules).

use std::process::Command;

use sam_template::Template;

fn git(args: &[&str]) -> Result<String, String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new("git").arg("-C").arg(root).args(args).output().map_err(|e| e.to_string())?;
    match output.status.success() {
        true => Ok(String::from_utf8_lossy(&output.stdout).trim_end().to_owned()),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

#[test]
fn one_deploy_takes_the_last_release_to_this_template() {
    let release = git(&["describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD"])
        .unwrap_or_else(|error| panic!("no release tag this checkout descends from (fetch the tags): {error}"));
    let released = git(&["show", &format!("{release}:template.yaml")]).unwrap();
    let released = Template::parse(&released).unwrap();
    let reasons = Template::embedded().changes_one_deploy_cannot_make(&released);
    assert!(reasons.is_empty(), "one deploy over {release} cannot make this template:\n{}", reasons.join("\n"));
}
