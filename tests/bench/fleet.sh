#!/usr/bin/env bash
# Issue #14: the scale figures of a fleet of K clusters side by side with ONE cluster holding the
# same total, in one run. See tests/bench/README.md, "Scale", and results/scale/fleet.md.
#
#   bash tests/bench/fleet.sh                      # 1 × 3,000 and 3 × 1,000 rollouts
#   SMOKE=1 bash tests/bench/fleet.sh              # 1 × 60 and 3 × 20, debug client (run.sh's smoke)
#
# Both cases hold the SAME K × N rollouts, one fleet of tests/bench/gen-fleet.py in 20·K
# namespaces: once in one cluster (`files`, as `--from-files` names it), once with its namespace
# files dealt over K cluster parts of the store (`prod-eu`, `staging`, `us-east`; `--split`: 20
# namespaces, N rollouts each). `scale serve` / `scale pipeline` (tests/bench/scale.rs) serve them
# with the real app in the bench process (the system allocator, not the binary's mimalloc:
# compare the two cases, not these RSS figures with scale-rss.sh's). Per case:
#   1. memory: the server's RSS before and after the load; per rollout = the difference / N;
#   2. snapshot: one client alone, 3 times (median): the whole list, and one cluster's list;
#      time to its first page and to `snapshotEnd`, bytes on the wire (`scale storm --clients 1`);
#   3. storm: STORM clients at once, each the whole list; then 5 s idle: RSS per idle client
#      (`scale storm`; the bench's clients run in another process);
#   4. pipeline: RATE changes/s for SECONDS_BUSY s, rotating over the clusters, to CLIENTS
#      whole-list clients and 1 client of the first cluster only (`scale pipeline --filtered 1`).
# Environment: N (rollouts per cluster of the K-cluster case, 1000), K (3), STORM (1000),
# CLIENTS (1000), RATE (1000), SECONDS_BUSY (20), FLEETS (where fleets are, /tmp; generated
# when missing), SCALE_EXE (the bench executable; default: cargo bench --bench scale --no-run,
# in smoke the debug `cargo build --bench scale`), OUT (per-run JSON, a temp dir).
# Fails (exit 1) only when the harness or the product broke: a client without its snapshot, a
# failed run, a filtered client that saw another cluster's change or none of its own.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
SMOKE="${SMOKE:-0}"
if [ "$SMOKE" = 1 ]; then
  N="${N:-20}"; STORM="${STORM:-20}"; CLIENTS="${CLIENTS:-10}"; RATE="${RATE:-50}"
  SECONDS_BUSY="${SECONDS_BUSY:-3}"
fi
N="${N:-1000}"; K="${K:-3}"; STORM="${STORM:-1000}"; CLIENTS="${CLIENTS:-1000}"
RATE="${RATE:-1000}"; SECONDS_BUSY="${SECONDS_BUSY:-20}"
log() { echo "[fleet] $*" >&2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rdb-fleet.XXXXXX")"
OUT="${OUT:-$WORK}"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
if [ "$SMOKE" = 1 ]; then FLEETS="${FLEETS:-$WORK}"; else FLEETS="${FLEETS:-/tmp}"; fi

if [ -z "${SCALE_EXE:-}" ]; then
  if [ "$SMOKE" = 1 ]; then build=(cargo build --locked --bench scale); else build=(cargo bench --locked --bench scale --no-run); fi
  SCALE_EXE="$("${build[@]}" --message-format=json 2>/dev/null | python3 -c 'import sys,json
for l in sys.stdin:
    try: m=json.loads(l)
    except Exception: continue
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")=="scale" and m.get("executable"): print(m["executable"])' | tail -1)"
fi
[ -x "$SCALE_EXE" ] || { log "ERROR: could not build the scale bench"; exit 1; }

# The fleet: N·K rollouts in 20·K namespaces (so that K clusters get 20 namespaces each).
DIR="$FLEETS/fleet-$((N * K))-ns$((20 * K))"
[ -f "$DIR/fleet-00.yaml" ] || python3 "$HERE/gen-fleet.py" "$DIR" --rollouts $((N * K)) --namespaces $((20 * K)) >&2

# Case: CLUSTERS ROLLOUTS_PER_CLUSTER
run_case() {
  local c="$1" per="$2" dir="$DIR" name tag port one split=()
  tag="$c-$per"
  name="prod-eu"; [ "$c" = 1 ] && name="files"
  [ "$c" = 1 ] || split=(--split)
  one="{\"type\":\"subscribeList\",\"clusters\":[\"$name\"]}"
  log "$c × $per rollouts: serve, snapshot, storm of $STORM"
  "$SCALE_EXE" serve --dir "$dir" --clusters "$c" "${split[@]}" --max-connections $((STORM + 64)) >"$WORK/serve-$tag.out" 2>"$OUT/serve-$tag.json" &
  PID=$!
  port=""
  for _ in $(seq 1 1200); do
    port="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$WORK/serve-$tag.out" | head -1 | sed 's/.*://')" || true
    [ -n "$port" ] && curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || { cat "$OUT/serve-$tag.json" >&2; log "ERROR: serve died"; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { log "ERROR: serve did not listen"; exit 1; }
  sleep 2
  awk '$1=="VmRSS:"{print $2}' "/proc/$PID/status" >"$OUT/rss-settled-$tag"
  for i in 1 2 3; do
    "$SCALE_EXE" storm --addr "127.0.0.1:$port" --pid "$PID" --clients 1 --idle 0 --timeout 60 \
      >/dev/null 2>"$OUT/snap-all-$tag-$i.json"
    "$SCALE_EXE" storm --addr "127.0.0.1:$port" --pid "$PID" --clients 1 --idle 0 --timeout 60 \
      --subscribe "$one" >/dev/null 2>"$OUT/snap-one-$tag-$i.json"
  done
  "$SCALE_EXE" storm --addr "127.0.0.1:$port" --pid "$PID" --clients "$STORM" --idle 5 \
    --timeout 180 --max-rss-mib 8192 >/dev/null 2>"$OUT/storm-$tag.json"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  log "$c × $per rollouts: pipeline, $RATE changes/s to $CLIENTS clients + 1 of $name"
  local b0 b1 t0 t1
  t0=$(date +%s.%N); b0=$(busy_ticks)
  /usr/bin/time -f '%U %S' -o "$WORK/pipeline-$tag.time" \
    "$SCALE_EXE" pipeline --dir "$dir" --clusters "$c" "${split[@]}" --clients "$CLIENTS" --filtered 1 \
    --rate "$RATE" --seconds "$SECONDS_BUSY" >/dev/null 2>"$OUT/pipeline-$tag.json" \
    || { cat "$OUT/pipeline-$tag.json" >&2; log "ERROR: pipeline failed"; exit 1; }
  b1=$(busy_ticks); t1=$(date +%s.%N)
  # The CPU the rest of the machine used meanwhile (cores), as pipeline-ab.sh's last column.
  awk -v b="$((b1 - b0))" -v t0="$t0" -v t1="$t1" '{ printf "%.2f\n", (b / 100 - $1 - $2) / (t1 - t0) }' \
    "$WORK/pipeline-$tag.time" >"$OUT/others-$tag"
}
# CPU time of the whole machine (USER_HZ ticks, idle and iowait excluded).
busy_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD), load before $(cut -d' ' -f1-3 /proc/loadavg)"
run_case 1 $((N * K))
run_case "$K" "$N"
echo "load after $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" "1-$((N * K))" "$K-$N" "$STORM" "$SMOKE" <<'EOF'
import json, statistics, sys
out, cases, storm_k, smoke = sys.argv[1], sys.argv[2:4], int(sys.argv[4]), sys.argv[5] == "1"
def j(name):
    with open(f"{out}/{name}.json") as f:
        return json.load(f)
rows, problems = {}, []
for tag in cases:
    c, per = (int(x) for x in tag.split("-"))
    serve, storm, pipe = j(f"serve-{tag}"), j(f"storm-{tag}"), j(f"pipeline-{tag}")
    settled = int(open(f"{out}/rss-settled-{tag}").read()) / 1024
    n = serve["rollouts"]
    def snap(kind):
        runs = [j(f"snap-{kind}-{tag}-{i}") for i in (1, 2, 3)]
        for r in runs:
            if r["snapshots"] != 1:
                problems.append(f"{tag}: a single {kind} client got no snapshot ({r.get('firstError')})")
        med = lambda f: statistics.median(f(r) for r in runs) * 1000
        return (med(lambda r: r["firstPageSeconds"]["p50"]), med(lambda r: r["snapshotSeconds"]["p50"]),
                runs[0]["snapshotBytes"])
    sa, so = snap("all"), snap("one")
    if storm["snapshots"] != storm_k:
        problems.append(f"{tag}: {storm['snapshots']} of {storm_k} storm clients got their snapshot")
    f = pipe["filtered"]
    if f["foreign"] or f["samples"] == 0 or f["samples"] > f["expected"]:
        problems.append(f"{tag}: the filtered client saw {f['samples']} of {f['expected']} changes of "
                        f"{f['cluster']} and {f['foreign']} of other clusters")
    if pipe["samples"] == 0:
        problems.append(f"{tag}: no frame reached the whole-list clients")
    lat, fl = pipe["latencyMs"], f["latencyMs"]
    rows[tag] = [
        f"{c} × {per:,}" + (f" ({', '.join(serve['clusters'])})" if c > 1 else ""),
        f"{serve['rssAfterLoadMiB']:.0f} MiB (+{serve['rssAfterLoadMiB'] - serve['rssBeforeLoadMiB']:.0f}), settled {settled:.0f} MiB",
        f"{(serve['rssAfterLoadMiB'] - serve['rssBeforeLoadMiB']) * 1024 / n:.1f} KiB",
        f"{serve['loadSeconds']:.1f} s",
        f"{sa[0]:.1f} / {sa[1]:.1f} ms, {sa[2]:,} B",
        f"{so[0]:.1f} / {so[1]:.1f} ms, {so[2]:,} B",
        (f"{storm['allSnapshotsSeconds']:.2f} s" if storm["allSnapshotsSeconds"] is not None else "–")
        + f" (p50 {storm['snapshotSeconds']['p50']:.2f}, p99 {storm['snapshotSeconds']['p99']:.2f})",
        f"{storm['rssBeforeMiB']:.0f} / {storm['rssPeakMiB']:.0f} / {storm['rssIdleMiB']:.0f} MiB",
        f"{storm['perIdleClientKiB']:.0f} KiB" if storm["perIdleClientKiB"] is not None else "–",
        f"{lat['p50']:.1f} / {lat['p99']:.1f} / {lat['max']:.1f} ms",
        f"{pipe['samples']:,} of {pipe['expected']:,}",
        f"{pipe['cpuCores']['server']:.2f} / {pipe['cpuCores']['clients']:.2f}",
        f"{fl['p50']:.1f} / {fl['p99']:.1f} / {fl['max']:.1f} ms, {f['samples']:,} of {f['expected']:,}, {f['foreign']} foreign",
        f"{pipe['rssMiB']['end']:.0f} MiB",
        f"{pipe['feederMaxLateMs']:.0f} ms",
        open(f"{out}/others-{tag}").read().strip() + " cores",
    ]
labels = ["case (clusters × rollouts)", "RSS after load (+ the load), 2 s later", "memory per rollout",
          "load time", "snapshot, whole list: first page / end, bytes",
          "snapshot, one cluster's list: first page / end, bytes",
          f"storm, {storm_k} clients: all snapshots", "storm RSS before / peak / idle",
          "per idle client", "pipeline: latency p50 / p99 / max", "pipeline: frames seen",
          "pipeline: server / client CPU (cores)", "pipeline: 1 client of one cluster",
          "pipeline: RSS end", "pipeline: feeder max late",
          "pipeline: CPU the rest of the machine used"]
print()
print(f"| figure | {rows[cases[0]][0]} | {rows[cases[1]][0]} |")
print("|---|---|---|")
for i, label in enumerate(labels[1:], 1):
    print(f"| {label} | {rows[cases[0]][i]} | {rows[cases[1]][i]} |")
for p in problems:
    print(f"[fleet] FAIL: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
