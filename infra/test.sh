#!/usr/bin/env bash
# Every check and test, from a fresh clone. Installs what it needs into .cache/ (the lint
# tools from PyPI, DynamoDB Local from the npm registry), the SES stand-in from the npm
# registry into infra/ses-local/node_modules, Playwright and axe-core into
# tests/browser/node_modules, and Debian's Chromium when it is missing; needs only Rust,
# Python 3, Node.js/npm and Java on the machine.
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
# The SES stand-in, pinned in infra/ses-local/package-lock.json; reinstalled when that changes.
# npm's own node_modules/.package-lock.json leaves out the root package, so it never equals
# the lock: a copy of the lock it was installed from is kept next to it instead.
ses=infra/ses-local
if ! cmp -s "$ses/package-lock.json" "$ses/node_modules/.installed-package-lock.json"; then
  npm ci --prefix "$ses" --no-audit --no-fund --silent
  cp "$ses/package-lock.json" "$ses/node_modules/.installed-package-lock.json"
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
"$venv/bin/cfn-lint" template.yaml
"$venv/bin/cfn-lint" --append-rules cfn_lint_serverless.rules -- template.yaml
AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 "$venv/bin/sam" validate --lint --template template.yaml
# cfn-lint checks SAM's schemas without transforming: the transform itself, offline.
"$venv/bin/python" infra/sam_transform.py template.yaml

step "DynamoDB Local"
cargo run --quiet -p dynamodb-local -- --install-only

step "build"
cargo build --workspace --bins

step "API contract"
# Schemathesis checks the gateway's answers against openapi.yaml, on the embedded store and on
# DynamoDB Local: each route family with a token of its role, then with the other role's.
fuzz_dir=$(mktemp -d)
gateway_pid="" dynamodb_pid=""
trap 'rm -rf "$fuzz_dir"; kill $gateway_pid $dynamodb_pid 2>/dev/null' EXIT
# The URL a starting process (pid $1) prints after $3 in its output $2.
ready_url() {
  local url
  for _ in $(seq 600); do
    url=$(sed -n "s|^$3 \(http://[^ ]*\).*|\1|p" "$2")
    if [ -n "$url" ]; then echo "$url"; return; fi
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  cat "$2" >&2
  echo "no '$3' line from $2" >&2
  return 1
}
identities=$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))
print(s["stores"][0]["token"], s["admins"][0]["token"], s["admins"][0]["id"])' tests/schemathesis-seed.json)
read -r store_token admin_token SCHEMATHESIS_ADMIN_ID <<<"$identities"
export SCHEMATHESIS_ADMIN_ID SCHEMATHESIS_PROJECT_KEY=schemathesis-project-key
run_schemathesis() { # URL, the tokens for the store routes and for the others, max examples
  SCHEMATHESIS_STORE_TOKEN=$2 SCHEMATHESIS_ADMIN_TOKEN=$3 HYPOTHESIS_STORAGE_DIRECTORY=.cache/hypothesis \
    "$venv/bin/st" --config-file tests/schemathesis.toml run openapi.yaml --url "$1" --max-examples "$4" --seed 1 \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --no-color
}
fuzz() { # name, max examples, gateway options
  local log="$fuzz_dir/$1.log" url
  target/debug/local-gateway --http-port 0 --ws-port 0 --seed tests/schemathesis-seed.json \
    --project-key "$SCHEMATHESIS_PROJECT_KEY" "${@:3}" >"$log" 2>&1 &
  gateway_pid=$!
  url=$(ready_url "$gateway_pid" "$log" "local-gateway ready:")
  run_schemathesis "$url" "$store_token" "$admin_token" "$2"
  run_schemathesis "$url" "$admin_token" "$store_token" 5
  kill "$gateway_pid"
  gateway_pid=""
  # The tokens and the key were taken: success for each family, and 403s for the other role.
  for answer in 'GET /v1/chat/store/session/","status":200' 'GET /v1/chat/admin/sessions/","status":200' \
    'POST /conversation/sessions","status":200' 'POST /api/v1/Agents/Chat/GetChatMessages","status":200' \
    'GET /v1/chat/store/session/","status":403' 'GET /v1/chat/admin/sessions/","status":403'; do
    grep -qF "\"route\":\"$answer" "$log" || { echo "$1: no $answer answer from the gateway" >&2; exit 1; }
  done
}
fuzz memory 100
target/debug/dynamodb-local --port 0 >"$fuzz_dir/dynamodb.log" 2>&1 &
dynamodb_pid=$!
dynamodb_url=$(ready_url "$dynamodb_pid" "$fuzz_dir/dynamodb.log" "DynamoDB Local ready:")
fuzz dynamodb 50 --dynamodb-endpoint "$dynamodb_url"
# Every function as its own processes, as Lambda runs them.
fuzz lambda 50 --lambda --dynamodb-endpoint "$dynamodb_url" --table fuzz-lambda
kill "$dynamodb_pid"
dynamodb_pid=""
rm -rf "$fuzz_dir"
trap - EXIT

step "tests"
log=$(mktemp) browser_log=$(mktemp)
trap 'rm -f "$log" "$browser_log"' EXIT
set +e
cargo test --workspace --lib --bins --tests --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

step "browser tests"
# Debian's Chromium (it cannot download a browser of its own here), driven by Playwright.
if [ ! -x /usr/bin/chromium ]; then
  as_root=""
  [ "$(id -u)" -eq 0 ] || as_root=sudo
  $as_root apt-get install -y -q chromium >/dev/null || { $as_root apt-get update -q && $as_root apt-get install -y -q chromium; }
fi
if ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.package-lock.json; then
  npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
set +e
node --test --test-concurrency=1 --test-reporter=spec tests/browser/ 2>&1 | tee "$browser_log"
browser_status=${PIPESTATUS[0]}
set -e

awk '/^test result:/ { passed += $4; failed += $6 }
  /^ℹ pass / { passed += $3 } /^ℹ fail / { failed += $3 }
  END { printf "\n%d passed, %d failed\n", passed, failed }' "$log" "$browser_log"
[ "$status" -eq 0 ] && exit "$browser_status"
exit "$status"
