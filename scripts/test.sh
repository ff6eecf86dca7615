#!/usr/bin/env bash
# Every test: formatting and lints, the Tauri-free core, Rust unit and integration tests (the
# real keychain among them), the UI's type check, lint and unit tests, and a WebDriver
# end-to-end test of the real app under Xvfb. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -z "${CHAINLIFT_TEST_SESSION:-}" ]; then
  scripts/setup.sh
  export CHAINLIFT_TEST_SESSION=1
  # A private D-Bus session with an unlocked keyring, for the keychain tests.
  exec dbus-run-session -- scripts/with-keyring.sh "$0" "$@"
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TERM_COLOR=never
step() { printf '\n=== %s\n' "$*"; }
start=$(date +%s)

step "rustfmt"
cargo fmt --all -- --check

step "the core is Tauri-free"
for manifest in crates/*/Cargo.toml; do
  crate=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)
  if cargo tree -p "$crate" -e normal --prefix none | grep -q '^tauri '; then
    echo "$crate depends on tauri: domain crates must stay Tauri-free" >&2
    exit 1
  fi
done

step "UI: type check, lint, unit tests, build"
(cd ui && npm run --silent typecheck && npm run --silent lint && npm test --silent && npm run --silent build)

step "deploy: the Kubernetes manifests validate against Kubernetes 1.31"
"${CHAINLIFT_TOOLS:-$HOME/.cache/chainlift-tools}/kubernetes-validate/bin/kubernetes-validate" \
  -k 1.31.0 --strict deploy/kubernetes/*.yaml

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests"
cargo test --workspace --locked

step "PostgreSQL: the store and the seed's promotion flow again, on a throwaway PostgreSQL 15"
scripts/with-postgres.sh bash -c 'cargo test --locked -p chainlift-store && cargo test --locked -p chainlift-cli --test promotion --test database --test serve'

step "build the app and the CLI"
cargo build --locked --bin chainlift-app --bin chainlift

step "end to end: the real app under Xvfb over WebDriver"
e2e_home=$(mktemp -d)
artifacts=${ARTIFACTS_DIR:-$root/artifacts}
mkdir -p "$artifacts"
CHAINLIFT_HOME="$e2e_home" \
CHAINLIFT_APP="$CARGO_TARGET_DIR/debug/chainlift-app" \
CHAINLIFT_CLI="$CARGO_TARGET_DIR/debug/chainlift" \
ARTIFACTS_DIR="$artifacts" \
  timeout 900 xvfb-run -a -s "-screen 0 1280x800x24" npm --prefix tests/e2e test --silent || {
    echo "end-to-end tests failed (or ran over 15 minutes); the app's log:" >&2
    tail -n 60 "$artifacts/tauri-driver.log" >&2 || true
    exit 1
  }
echo "screenshot: $artifacts/e2e-run-completed.png"

step "end to end on PostgreSQL: the app on a shared history, beside the CLI"
CHAINLIFT_APP="$CARGO_TARGET_DIR/debug/chainlift-app" \
CHAINLIFT_CLI="$CARGO_TARGET_DIR/debug/chainlift" \
ARTIFACTS_DIR="$artifacts" \
  scripts/with-postgres.sh bash -c '
    psql "$CHAINLIFT_TEST_DATABASE_URL" -qc "CREATE DATABASE e2e"
    CHAINLIFT_DATABASE_URL="${CHAINLIFT_TEST_DATABASE_URL%/*}/e2e" CHAINLIFT_HOME=$(mktemp -d) \
      timeout 300 xvfb-run -a -s "-screen 0 1280x800x24" npm --prefix tests/e2e run --silent postgres' || {
    echo "the PostgreSQL end-to-end test failed; the app's log:" >&2
    tail -n 60 "$artifacts/tauri-driver.log" >&2 || true
    exit 1
  }

step "all tests passed in $(( $(date +%s) - start )) s"
