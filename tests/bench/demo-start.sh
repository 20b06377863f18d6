#!/usr/bin/env bash
# The demo at scale (issue #13, item 5): how long `--demo --demo-extra N` takes to answer /readyz
# with every rollout listed, and to exit after SIGTERM. See tests/bench/README.md, "Scale".
#
#   bash tests/bench/demo-start.sh [N ...]          # default: 300 2000
#
# For each N, three runs of `rollouts-dashboard --demo --demo-extra N --port 0`: start = from the
# exec to /readyz 200 with /api/v1/rollouts listing more than N rollouts (the demo's own scenarios
# come on top); exit = from SIGTERM to the process being gone. Prints one markdown row per N with
# the median and the worst of the three.
# Environment: ROLLOUTS_DASHBOARD_BIN (default: cargo build --release).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NS_LIST="${*:-300 2000}"
if [ -n "${ROLLOUTS_DASHBOARD_BIN:-}" ]; then
  BIN="$ROLLOUTS_DASHBOARD_BIN"
else
  (cd "$REPO" && cargo build --locked --release --bin rollouts-dashboard >&2)
  BIN="$REPO/target/release/rollouts-dashboard"
fi
PID=""
trap '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; true' EXIT
now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.0f", (b-a)*1000}'; }
stats() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END{printf "%s ms | %s ms", v[int((NR+1)/2)], v[NR]}'; }

echo "| --demo-extra | rollouts listed | start to ready: median | worst of 3 | SIGTERM to exit: median | worst of 3 |"
echo "|---|---|---|---|---|---|"
for n in $NS_LIST; do
  starts=""; exits=""; listed=0
  for _ in 1 2 3; do
    LOG="$(mktemp /tmp/rdb-demo-start.XXXXXX)"
    t0=$(now)
    "$BIN" --demo --demo-extra "$n" --port 0 --log-format text >"$LOG" 2>&1 &
    PID=$!
    PORT=""
    for _ in $(seq 1 3000); do
      PORT="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$LOG" | head -1 | sed 's/.*://')" || true
      if [ -n "$PORT" ] && curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then
        listed="$(curl -fsS -m 30 "http://127.0.0.1:$PORT/api/v1/rollouts" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rollouts"]))')"
        [ "$listed" -gt "$n" ] && break
      fi
      kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
      sleep 0.02
    done
    [ "$listed" -gt "$n" ] || { echo "--demo-extra $n: only $listed rollouts listed" >&2; exit 1; }
    starts="$starts $(ms "$t0" "$(now)")"
    t1=$(now)
    kill -TERM "$PID"
    while kill -0 "$PID" 2>/dev/null; do sleep 0.01; done
    exits="$exits $(ms "$t1" "$(now)")"
    wait "$PID" 2>/dev/null || true; PID=""
    rm -f "$LOG"
  done
  echo "| $n | $listed | $(echo "$starts" | stats) | $(echo "$exits" | stats) |"
done
