#!/usr/bin/env bash
# Browser tests against Debian's chromium and the real server binary. Never skips: any
# missing piece is a failure. Usage: tests/browser/run.sh [test-file.test.mjs ...]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  echo "# installing chromium (Debian package)"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi

if [ ! -d "$REPO/../shared/fixtures/argo-rollouts-info" ]; then
  echo "missing fixtures: $REPO/../shared/fixtures/argo-rollouts-info" >&2
  exit 1
fi

(cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)

if [ -z "${ROLLOUTS_DASHBOARD_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release)
  export ROLLOUTS_DASHBOARD_BIN="$REPO/target/release/rollouts-dashboard"
fi
if [ ! -x "$ROLLOUTS_DASHBOARD_BIN" ]; then
  echo "not an executable: $ROLLOUTS_DASHBOARD_BIN" >&2
  exit 1
fi

mkdir -p "$HERE/screenshots"
# The harness starts the servers, runs the tests and always stops the servers; this trap
# also stops the harness (and so the servers) if this script is interrupted.
node "$HERE/harness.mjs" "$@" &
HARNESS=$!
trap 'kill -TERM "$HARNESS" 2>/dev/null || true; wait "$HARNESS" 2>/dev/null || true' INT TERM HUP
set +e
wait "$HARNESS"
STATUS=$?
set -e
exit "$STATUS"
