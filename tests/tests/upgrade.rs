//! Upgrades a running deployment survives: `template.yaml` against the one of the last
//! release (the last line of `infra/releases`, a tagged commit this checkout descends from),
//! which one `sam deploy` must turn into this one without losing data (see
//! `sam_template`'s upgrade rules).

use std::process::Command;

use sam_template::Template;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn git(args: &[&str]) -> Result<String, String> {
    let output = Command::new("git").arg("-C").arg(ROOT).args(args).output().map_err(|e| e.to_string())?;
    match output.status.success() {
        true => Ok(String::from_utf8_lossy(&output.stdout).trim_end().to_owned()),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

#[test]
fn one_deploy_takes_the_last_release_to_this_template() {
    let (tag, commit) = e2e::stack::releases().pop().expect("a release is listed");
    // Where the tag came with the clone, it marks the listed commit.
    if let Ok(tagged) = git(&["rev-parse", &format!("{tag}^{{commit}}")]) {
        assert_eq!(tagged, commit, "{tag} is listed for another commit");
    }
    let released = git(&["show", &format!("{commit}:template.yaml")])
        .unwrap_or_else(|error| panic!("the release {tag} ({commit}) is not in this clone's history: {error}"));
    let released = Template::parse(&released).unwrap();
    let reasons = Template::embedded().changes_one_deploy_cannot_make(&released);
    assert!(reasons.is_empty(), "one deploy over {tag} cannot make this template:\n{}", reasons.join("\n"));
}
