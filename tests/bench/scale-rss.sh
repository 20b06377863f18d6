#!/usr/bin/env bash
# Memory per rollout (issue #13, item 3): RSS of the release binary after loading a generated
# fleet with `--from-files`, no clients connected. See tests/bench/README.md, "Scale".
#
#   bash tests/bench/scale-rss.sh [N ...]          # default: 1000 4000 10000
#
# For each N: generates /tmp/fleet-N (tests/bench/gen-fleet.py, 50 namespaces) unless present,
# starts `rollouts-dashboard --from-files /tmp/fleet-N --port 0`, waits until /readyz answers 200
# and /api/v1/rollouts lists N rollouts, then reads VmRSS and VmHWM (the peak) of
# /proc/PID/status right away and again after SETTLE seconds, and times three whole-list GETs.
# Once with mimalloc's defaults and once with the deployment's settings
# (MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0, deploy/base/deployment.yaml).
# Environment: ROLLOUTS_DASHBOARD_BIN (default: cargo build --release), SETTLE (default 5).
# Prints one markdown table row per N and allocator setting.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SETTLE="${SETTLE:-5}"
NS_LIST="${*:-1000 4000 10000}"
if [ -n "${ROLLOUTS_DASHBOARD_BIN:-}" ]; then
  BIN="$ROLLOUTS_DASHBOARD_BIN"
else
  (cd "$REPO" && cargo build --locked --release --bin rollouts-dashboard >&2)
  BIN="$REPO/target/release/rollouts-dashboard"
fi
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; true' EXIT
status_mib() { awk -v k="$2:" '$1==k {printf "%.0f", $2/1024}' "/proc/$1/status"; }

echo "| N | allocator | ready s | RSS at ready MiB | RSS +${SETTLE}s MiB | peak (VmHWM) MiB | list p50 ms | list bytes |"
echo "|---|---|---|---|---|---|---|---|"
for n in $NS_LIST; do
  DIR="/tmp/fleet-$n"
  [ -f "$DIR/fleet-00.yaml" ] || python3 "$HERE/gen-fleet.py" "$DIR" --rollouts "$n" --namespaces 50 >&2
  for alloc in default deploy; do
    LOG="$(mktemp /tmp/rdb-scale-rss.XXXXXX)"
    t0=$(date +%s.%N)
    if [ "$alloc" = deploy ]; then
      MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0 "$BIN" --from-files "$DIR" --port 0 --log-format text >"$LOG" 2>&1 &
    else
      "$BIN" --from-files "$DIR" --port 0 --log-format text >"$LOG" 2>&1 &
    fi
    PID=$!
    PORT=""
    for _ in $(seq 1 600); do
      PORT="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$LOG" | head -1 | sed 's/.*://')" || true
      [ -n "$PORT" ] && curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && break
      kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
      sleep 0.1
    done
    count="$(curl -fsS -m 30 "http://127.0.0.1:$PORT/api/v1/rollouts" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rollouts"]))')"
    [ "$count" = "$n" ] || { echo "expected $n rollouts, the list has $count" >&2; exit 1; }
    ready=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    rss0=$(status_mib "$PID" VmRSS)
    sleep "$SETTLE"
    rss1=$(status_mib "$PID" VmRSS)
    hwm=$(status_mib "$PID" VmHWM)
    times=""; bytes=0
    for _ in 1 2 3; do
      read -r t b < <(curl -fsS -m 30 -o /dev/null -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$PORT/api/v1/rollouts")
      times="$times $t"; bytes=$b
    done
    p50=$(echo "$times" | tr ' ' '\n' | grep . | sort -n | sed -n 2p | awk '{printf "%.0f", $1*1000}')
    echo "| $n | $alloc | $ready | $rss0 | $rss1 | $hwm | $p50 | $bytes |"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    rm -f "$LOG"
  done
done
