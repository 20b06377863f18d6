#!/usr/bin/env bash
# Memory per idle list client must not grow with the number of rollouts (issue #13, item 1), and
# the list snapshot must travel paged and compressed (item 2). Run by tests/bench/run.sh in its
# smoke mode (tests/run-all.sh's "benchmark smoke" phase); alone:
#
#   bash tests/bench/idle-memory.sh            # N=500, C=100 (environment: N, C, ROLLOUTS_DASHBOARD_BIN)
#
# For N and 4N generated rollouts (tests/bench/gen-fleet.py, `--from-files`), a fresh server (the
# deployment's allocator settings) gets C list clients at once (`scale storm`: each subscribes to
# the whole list, reads its paged snapshot to `snapshotEnd` and stays idle 5 s); the server's
# RSS growth divided by C is the memory per idle client. It FAILS when:
#   - a client did not get its whole snapshot (begin, pages, end);
#   - the snapshot took more than 400 bytes per rollout on the wire (a summary is ~1,480 bytes of
#     JSON; compressed pages of this fleet take well under 100; uncompressed would fail);
#   - per-client(4N) > 1.5 x per-client(N) + 48 KiB. A connection that kept the snapshot (the
#     protocol 3 bug: the write buffer kept the whole snapshot frame's capacity, 14 MiB at
#     10,000 rollouts) grows 4x from N to 4N (about +2 MiB per client here); bounded pages give
#     the same per-client cost at both sizes. The 1.5x and 48 KiB absorb allocator and page
#     granularity noise at C=100 (1 page of 4 KiB per client is 4 KiB of "growth").
# Prints one line per N and the verdict; takes ~30 s with a release binary.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
N="${N:-500}"
C="${C:-100}"
log() { echo "[idle-memory] $*" >&2; }
if [ -n "${ROLLOUTS_DASHBOARD_BIN:-}" ]; then BIN="$ROLLOUTS_DASHBOARD_BIN"; else
  cargo build --locked --release --bin rollouts-dashboard >&2
  BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/rollouts-dashboard"
fi
[ -x "$BIN" ] || { log "ERROR: no dashboard binary at $BIN"; exit 1; }
# The client: a debug build is plenty for 100 idle clients (and reuses what `cargo test` built).
CLIENT="$(cargo build --locked --bench scale --message-format=json 2>/dev/null \
  | python3 -c 'import sys,json
for l in sys.stdin:
    try: m=json.loads(l)
    except Exception: continue
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")=="scale" and m.get("executable"): print(m["executable"])' | tail -1)"
[ -x "$CLIENT" ] || { log "ERROR: could not build the scale bench client"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rdb-idle.XXXXXX")"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT

measure() { # measure N -> prints "perIdleClientKiB snapshotBytes snapshots"
  local n="$1" log="$WORK/server-$1.log" port=""
  python3 "$HERE/gen-fleet.py" "$WORK/fleet-$n" --rollouts "$n" --namespaces 10 >/dev/null
  MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0 \
    "$BIN" --from-files "$WORK/fleet-$n" --port 0 --log-format text --max-connections $((C + 64)) >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do
    port="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$log" | head -1 | sed 's/.*://')" || true
    [ -n "$port" ] && curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || { cat "$log" >&2; log "ERROR: the server died at start"; exit 1; }
    sleep 0.1
  done
  sleep 1
  "$CLIENT" storm --addr "127.0.0.1:$port" --pid "$PID" --clients "$C" --idle 5 --timeout 60 \
    --max-rss-mib 4096 >/dev/null 2>"$WORK/storm-$n.json"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(d.get("perIdleClientKiB") or -1, d.get("snapshotBytes") or 0, d.get("snapshots") or 0)' "$WORK/storm-$n.json"
}

# In this shell (not a pipe or a substitution), so that the trap stops a server it started.
N4=$((4 * N))
measure "$N" >"$WORK/n1"
measure "$N4" >"$WORK/n4"
read -r PER1 BYTES1 GOT1 <"$WORK/n1"
read -r PER4 BYTES4 GOT4 <"$WORK/n4"
log "N=$N: $GOT1/$C snapshots, $BYTES1 bytes each ($((BYTES1 / N)) per rollout), $PER1 KiB per idle client"
log "N=$N4: $GOT4/$C snapshots, $BYTES4 bytes each ($((BYTES4 / N4)) per rollout), $PER4 KiB per idle client"
python3 - "$N" "$C" "$PER1" "$BYTES1" "$GOT1" "$PER4" "$BYTES4" "$GOT4" <<'EOF'
import sys
n, c = int(sys.argv[1]), int(sys.argv[2])
per1, bytes1, got1, per4, bytes4, got4 = (float(x) for x in sys.argv[3:9])
problems = []
for label, got, size, count in (("N", got1, bytes1, n), ("4N", got4, bytes4, 4 * n)):
    if got < c:
        problems.append(f"{label}: only {got:.0f}/{c} clients got their whole snapshot")
    if size / count > 400:
        problems.append(f"{label}: {size / count:.0f} bytes per rollout on the wire (> 400: not compressed?)")
if per1 < 0 or per4 < 0:
    problems.append("no memory figure")
elif per4 > 1.5 * per1 + 48:
    problems.append(f"memory per idle client grows with N: {per1:.1f} KiB at N, {per4:.1f} KiB at 4N "
                    f"(bound 1.5 x + 48 KiB = {1.5 * per1 + 48:.1f})")
if problems:
    for p in problems:
        print(f"[idle-memory] FAIL: {p}", file=sys.stderr)
    sys.exit(1)
print(f"[idle-memory] ok: {per1:.1f} KiB per idle client at N={n}, {per4:.1f} KiB at 4N", file=sys.stderr)
EOF
