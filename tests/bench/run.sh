#!/usr/bin/env bash
# Benchmark: rollouts-dashboard (WebSocket) against upstream `kubectl argo rollouts dashboard` (SSE)
# on the real test cluster (tests/cluster). Measures, prints and writes figures; never asserts
# timings. See tests/bench/README.md for every figure and how it is measured.
#
#   bash tests/bench/run.sh                                # full matrix -> tests/bench/results/latest.{md,json}
#   ROLLOUTS_DASHBOARD_BENCH_SMOKE=1 bash tests/bench/run.sh   # tiny end-to-end run (CI), results in a temp dir
#
# Env (defaults in brackets; smoke values after "smoke:"):
#   ROLLOUTS_DASHBOARD_BENCH_N           rollouts, ascending, each a cell row ["100 1000"; smoke: 10]
#                                        (10000 works but setup takes ~30+ min on 2 cores)
#   ROLLOUTS_DASHBOARD_BENCH_K           list stream clients per cell ["1 100"; smoke: 2]
#   ROLLOUTS_DASHBOARD_BENCH_RATE        label patches per second during the busy phase [10; smoke: 5]
#   ROLLOUTS_DASHBOARD_BENCH_BUSY        busy seconds [30; smoke: 8]
#   ROLLOUTS_DASHBOARD_BENCH_IDLE        idle seconds [45; smoke: 5]
#   ROLLOUTS_DASHBOARD_BENCH_DETAIL      detail-stream clients per cell [1]
#   ROLLOUTS_DASHBOARD_BENCH_REPLICAS    pods per rollout [1]; more pods make every upstream event
#                                        bigger (its RolloutInfo lists every pod), ours not
#   ROLLOUTS_DASHBOARD_BENCH_NAMESPACES  namespaces the rollouts are spread over [4; smoke: 2]; the
#                                        side-by-side streams use the first (rdb-bench-0)
#   ROLLOUTS_DASHBOARD_BENCH_EXTRA       extra cells "N:K:RATE ..." run after the matrix at that N,
#                                        e.g. "1000:1000:100" (the 1,000-client goal) [none]
#   ROLLOUTS_DASHBOARD_BENCH_UPSTREAM_MAX_K  cells with more clients run ours only [100]
#   ROLLOUTS_DASHBOARD_BENCH_CLUSTER     reuse this cluster name (brought up if needed, never torn down)
#   ROLLOUTS_DASHBOARD_BENCH_KEEP_CLUSTER=1  keep the cluster this script brought up
#   ROLLOUTS_DASHBOARD_BENCH_OUT         results directory [tests/bench/results; smoke: a temp dir]
#   ROLLOUTS_DASHBOARD_BIN               dashboard binary to use [cargo build --release]
# Exit status: non-zero when the harness broke (build, cluster, a server died, clients could not
# connect, no frames at all) or, in smoke mode, when idle-memory.sh fails (memory per idle list
# client growing with the number of rollouts, or an uncompressed snapshot) or fleet.sh does (a
# client without its snapshot, a cluster filter letting another cluster's change through) --
# never because a figure is slow.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

SMOKE="${ROLLOUTS_DASHBOARD_BENCH_SMOKE:-0}"
if [ "$SMOKE" = 1 ]; then
  D_N=10; D_K=2; D_RATE=5; D_BUSY=8; D_IDLE=5; D_NS=2
else
  D_N="100 1000"; D_K="1 100"; D_RATE=10; D_BUSY=30; D_IDLE=45; D_NS=4
fi
NS_LIST="${ROLLOUTS_DASHBOARD_BENCH_N:-$D_N}"
K_LIST="${ROLLOUTS_DASHBOARD_BENCH_K:-$D_K}"
RATE="${ROLLOUTS_DASHBOARD_BENCH_RATE:-$D_RATE}"
BUSY="${ROLLOUTS_DASHBOARD_BENCH_BUSY:-$D_BUSY}"
IDLE="${ROLLOUTS_DASHBOARD_BENCH_IDLE:-$D_IDLE}"
DETAIL="${ROLLOUTS_DASHBOARD_BENCH_DETAIL:-1}"
REPLICAS="${ROLLOUTS_DASHBOARD_BENCH_REPLICAS:-1}"
NNS="${ROLLOUTS_DASHBOARD_BENCH_NAMESPACES:-$D_NS}"
EXTRA="${ROLLOUTS_DASHBOARD_BENCH_EXTRA:-}"
UP_MAX_K="${ROLLOUTS_DASHBOARD_BENCH_UPSTREAM_MAX_K:-100}"
if [ "$SMOKE" = 1 ]; then
  OUT="${ROLLOUTS_DASHBOARD_BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/rdb-bench-smoke.XXXXXX")}"
else
  OUT="${ROLLOUTS_DASHBOARD_BENCH_OUT:-$HERE/results}"
fi
mkdir -p "$OUT"
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rdb-bench-run.XXXXXX")"
NAMESPACES="$(seq -s, -f 'rdb-bench-%g' 0 $((NNS - 1)))"
STREAM_NS="rdb-bench-0"

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] ERROR: $*" >&2; exit 1; }
T0=$(date +%s)

# ---------------------------------------------------------------------------------- processes
CLUSTER=""; OWN_CLUSTER=0; OURS_PID=""; UP_PID=""
stop_servers() {
  local p
  for p in $OURS_PID $UP_PID; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  for p in $OURS_PID $UP_PID; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  OURS_PID=""; UP_PID=""
}
cleanup() {
  local rc=$?
  stop_servers
  if [ "$OWN_CLUSTER" = 1 ] && [ "${ROLLOUTS_DASHBOARD_BENCH_KEEP_CLUSTER:-0}" != 1 ]; then
    tests/cluster/cluster.sh down "$CLUSTER" >&2 || true
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "[bench] ERROR: command failed (exit $?) at run.sh line $LINENO: $BASH_COMMAND" >&2' ERR

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# ---------------------------------------------------------------------------------- build
if [ -n "${ROLLOUTS_DASHBOARD_BIN:-}" ]; then
  DASH_BIN="$ROLLOUTS_DASHBOARD_BIN"
else
  log "building the dashboard (cargo build --release)"
  cargo build --release --locked --bin rollouts-dashboard >&2
  DASH_BIN="$REPO/target/release/rollouts-dashboard"
fi
[ -x "$DASH_BIN" ] || die "no dashboard binary at $DASH_BIN"
# Smoke: a debug client reuses what run-all.sh's cargo test/clippy already built (fast enough for
# K=2); full runs use the optimized bench profile so the client is not the bottleneck.
if [ "$SMOKE" = 1 ]; then CLIENT_BUILD=(cargo build --locked --bench stream); else CLIENT_BUILD=(cargo bench --locked --bench stream --no-run); fi
log "building the bench client (${CLIENT_BUILD[*]})"
CLIENT="$("${CLIENT_BUILD[@]}" --message-format=json 2>/dev/null \
  | python3 -c 'import sys,json
for l in sys.stdin:
    try: m=json.loads(l)
    except Exception: continue
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")=="stream" and m.get("executable"): print(m["executable"])' | tail -1)"
[ -n "$CLIENT" ] && [ -x "$CLIENT" ] || { "${CLIENT_BUILD[@]}" >&2 || true; die "could not build the bench client"; }

# Smoke: the paged, compressed list snapshot, and memory per idle client that must not grow with
# the number of rollouts (issue #13 items 1 and 2; no cluster needed). Fails the run.
if [ "$SMOKE" = 1 ]; then
  log "idle list clients at N and 4N rollouts (tests/bench/idle-memory.sh)"
  ROLLOUTS_DASHBOARD_BIN="$DASH_BIN" bash "$HERE/idle-memory.sh" || die "memory per idle client (idle-memory.sh)"
  # The multi-cluster path of the scale bench once at small N (issue #14): 1 × 60 beside 3 × 20
  # rollouts, the same debug client; fails when a client misses its snapshot or a client of one
  # cluster sees another's change.
  log "the scale bench over 3 clusters at small N (tests/bench/fleet.sh)"
  SMOKE=1 bash "$HERE/fleet.sh" || die "the 3-cluster scale bench (fleet.sh)"
fi

# ---------------------------------------------------------------------------------- cluster
MAX_N=0; for n in $NS_LIST; do [ "$n" -gt "$MAX_N" ] && MAX_N=$n; done
for e in $EXTRA; do n="${e%%:*}"; [ "$n" -gt "$MAX_N" ] && MAX_N=$n; done
NODES=$(( MAX_N * REPLICAS / 100 + 2 )); [ "$NODES" -lt 3 ] && NODES=3   # kwok nodes hold 110 pods each
SETUP_T0=$(date +%s)
if [ -n "${ROLLOUTS_DASHBOARD_BENCH_CLUSTER:-}" ]; then
  CLUSTER="$ROLLOUTS_DASHBOARD_BENCH_CLUSTER"
  if ! tests/cluster/cluster.sh status "$CLUSTER" 2>/dev/null; then
    log "bringing up cluster $CLUSTER (kept afterwards)"
    ROLLOUTS_DASHBOARD_CLUSTER_NODES=$NODES tests/cluster/cluster.sh up "$CLUSTER" >/dev/null
  fi
else
  CLUSTER="bench-$$"; OWN_CLUSTER=1
  # A state root of its own: cluster.sh serializes creation with a lock in the state root, and a
  # running cluster of the default root (e.g. run-all.sh's e2e cluster) can keep that lock held.
  export ROLLOUTS_DASHBOARD_CLUSTER_STATE_ROOT="${ROLLOUTS_DASHBOARD_BENCH_STATE_ROOT:-${TMPDIR:-/tmp}/rollouts-dashboard-bench-cluster}"
  log "bringing up cluster $CLUSTER with $NODES nodes"
  ROLLOUTS_DASHBOARD_CLUSTER_NODES=$NODES tests/cluster/cluster.sh up "$CLUSTER" >/dev/null
fi
eval "$(tests/cluster/cluster.sh env "$CLUSTER")"
CLUSTER_UP_S=$(( $(date +%s) - SETUP_T0 ))
UPSTREAM_BIN="$ROLLOUTS_DASHBOARD_CLUSTER_BIN/kubectl-argo-rollouts"
[ -x "$UPSTREAM_BIN" ] || die "upstream plugin missing: $UPSTREAM_BIN"
READY_NODES=$(kubectl get nodes --no-headers 2>/dev/null | awk '$2=="Ready"' | wc -l)
if [ "$READY_NODES" -lt "$NODES" ]; then
  log "scaling kwok nodes $READY_NODES -> $NODES (110 pods each)"
  KWOK_WORKDIR="$ROLLOUTS_DASHBOARD_CLUSTER_STATE/kwok" "$ROLLOUTS_DASHBOARD_CLUSTER_BIN/kwokctl" \
    --name "$CLUSTER" scale node --replicas "$NODES" >&2
fi
APISERVER="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
API_PORT="${APISERVER##*:}"; API_PORT="${API_PORT%%/*}"

api_watches() {
  kubectl get --raw /metrics 2>/dev/null \
    | awk '/^apiserver_longrunning_requests\{/ && /verb="WATCH"/ {s+=$NF} END {print s+0}'
}

# ---------------------------------------------------------------------------------- facts
{
  echo "{"
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo '+dirty-src')\","
  echo "  \"nproc\": $(nproc),"
  echo "  \"memGiB\": $(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo),"
  echo "  \"cpu\": \"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\","
  echo "  \"kernel\": \"$(uname -r)\","
  echo "  \"kube\": \"${ROLLOUTS_DASHBOARD_KUBE_VERSION:-?}\", \"argo\": \"${ROLLOUTS_DASHBOARD_ARGO_VERSION:-?}\","
  echo "  \"dashboardBinary\": \"$DASH_BIN\","
  echo "  \"smoke\": $([ "$SMOKE" = 1 ] && echo true || echo false),"
  echo "  \"rate\": $RATE, \"busySeconds\": $BUSY, \"idleSeconds\": $IDLE, \"namespaces\": $NNS,"
  echo "  \"clusterUpSeconds\": $CLUSTER_UP_S, \"nodes\": $NODES, \"replicas\": $REPLICAS"
  echo "}"
} > "$RUN_DIR/facts.json"

# ---------------------------------------------------------------------------------- servers
start_servers() { # start_servers N
  local n="$1" t0 i
  WATCH_BASE="$(api_watches)"
  OURS_PORT="$(free_port)"
  t0=$(date +%s.%N)
  # The allocator settings of deploy/base/deployment.yaml: measure what is deployed.
  MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0 \
  "$DASH_BIN" --kubeconfig "$KUBECONFIG" --port "$OURS_PORT" --log-format text \
    >"$RUN_DIR/ours-$n.log" 2>&1 &
  OURS_PID=$!
  for i in $(seq 1 1200); do
    curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$OURS_PORT/readyz" 2>/dev/null && break
    kill -0 "$OURS_PID" 2>/dev/null || { tail -20 "$RUN_DIR/ours-$n.log" >&2; die "our dashboard died at start"; }
    sleep 0.1
  done
  curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$OURS_PORT/readyz" || { tail -20 "$RUN_DIR/ours-$n.log" >&2; die "our dashboard not ready"; }
  OURS_READY_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
  sleep 1
  OURS_RSS_READY=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$OURS_PID/status")
  UP_PORT="$(free_port)"
  t0=$(date +%s.%N)
  "$UPSTREAM_BIN" dashboard --port "$UP_PORT" --kubeconfig "$KUBECONFIG" -n "$STREAM_NS" \
    >"$RUN_DIR/upstream-$n.log" 2>&1 &
  UP_PID=$!
  for i in $(seq 1 600); do
    curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$UP_PORT/rollouts/api/v1/version" 2>/dev/null && break
    kill -0 "$UP_PID" 2>/dev/null || { tail -20 "$RUN_DIR/upstream-$n.log" >&2; die "upstream dashboard died at start"; }
    sleep 0.1
  done
  curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$UP_PORT/rollouts/api/v1/version" || die "upstream dashboard not answering"
  UP_READY_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
  sleep 1
  UP_RSS_READY=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$UP_PID/status")
  log "ours pid $OURS_PID :$OURS_PORT ready in ${OURS_READY_S}s (${OURS_RSS_READY} MiB); upstream pid $UP_PID :$UP_PORT in ${UP_READY_S}s (${UP_RSS_READY} MiB)"
  cat > "$RUN_DIR/servers-$n.json" <<EOF
{"n": $n, "watchBaseline": $WATCH_BASE, "watchesAfterStart": $(api_watches),
 "ours": {"readySeconds": $OURS_READY_S, "rssMiBReady": $OURS_RSS_READY},
 "upstream": {"readySeconds": $UP_READY_S, "rssMiBReady": $UP_RSS_READY}}
EOF
}

# page_load NAME URL: shell + the JS and CSS it links (and the JS's static imports), raw and gzip
page_load() {
  local name="$1" url="$2" base shell assets a raw=0 gz=0 r g count=0
  base="${url%/}"
  shell="$(curl -fsS -m 10 -L "$url")" || { echo "{\"name\": \"$name\", \"error\": \"fetch failed\"}"; return; }
  assets="$(printf '%s' "$shell" | { grep -oE '(src|href)="[^"]+\.(js|css)"' || true; } | sed -E 's/^(src|href)="//; s/"$//' | sort -u)"
  for a in "" $assets; do
    local u
    if [ -z "$a" ]; then u="$url"; else
      case "$a" in http*) u="$a" ;; /*) u="${base%%/rollouts*}$a"; [ "$name" = ours ] && u="${base}$a" ;; *) u="$base/${a#./}" ;; esac
    fi
    r=$(curl -fsS -m 10 -L -H 'Accept-Encoding: identity' -o /dev/null -w '%{size_download}' "$u") || r=0
    g=$(curl -fsS -m 10 -L -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$u") || g=0
    raw=$((raw + r)); gz=$((gz + g)); count=$((count + 1))
  done
  echo "{\"name\": \"$name\", \"files\": $count, \"rawBytes\": $raw, \"gzipBytes\": $gz}"
}

# ---------------------------------------------------------------------------------- matrix
FAIL=0
run_cell() { # run_cell N K RATE LABEL
  local n="$1" k="$2" rate="$3" label="$4" args=() rc=0
  args=(run --namespace "$STREAM_NS" --clients "$k" --detail-clients "$DETAIL" --rate "$rate"
        --busy "$BUSY" --idle "$IDLE" --apiserver-port "$API_PORT" --watch-baseline "$WATCH_BASE"
        --total "$n" --label "$label" --out "$RUN_DIR/cell-$label.json" --strict 1
        --ours "127.0.0.1:$OURS_PORT" --ours-pid "$OURS_PID")
  if [ "$k" -le "$UP_MAX_K" ]; then
    args+=(--upstream "127.0.0.1:$UP_PORT" --upstream-pid "$UP_PID")
  fi
  [ "$SMOKE" = 1 ] && args+=(--fresh-probes 1 --connect-timeout 60)
  log "cell $label: N=$n K=$k rate=$rate/s"
  "$CLIENT" "${args[@]}" >"$RUN_DIR/cell-$label.stdout" 2>"$RUN_DIR/cell-$label.stderr" || rc=$?
  grep -v '^\[bench\] patch' "$RUN_DIR/cell-$label.stderr" >&2 || true
  if [ "$rc" != 0 ]; then
    log "cell $label: harness problem (exit $rc)"; FAIL=1
  fi
  kill -0 "$OURS_PID" 2>/dev/null || { log "our dashboard died"; FAIL=1; }
  kill -0 "$UP_PID" 2>/dev/null || { log "upstream dashboard died"; FAIL=1; }
}

for n in $NS_LIST; do
  log "setup: $n rollouts over $NNS namespaces (through the Argo controller + kwok)"
  "$CLIENT" setup --namespaces "$NAMESPACES" --total "$n" --replicas "$REPLICAS" --timeout $((300 + n * REPLICAS)) \
    --out "$RUN_DIR/setup-$n.json" >/dev/null || { log "setup of $n rollouts incomplete"; FAIL=1; }
  start_servers "$n"
  if [ ! -f "$RUN_DIR/pageload.json" ]; then
    { echo "["; page_load ours "http://127.0.0.1:$OURS_PORT/"; echo ","; page_load upstream "http://127.0.0.1:$UP_PORT/rollouts/"; echo "]"; } \
      > "$RUN_DIR/pageload.json"
  fi
  for k in $K_LIST; do
    run_cell "$n" "$k" "$RATE" "n$n-k$k-r$RATE"
    [ "$FAIL" = 0 ] || [ "$SMOKE" != 1 ] || break
  done
  for e in $EXTRA; do
    IFS=: read -r en ek er <<<"$e"
    [ "$en" = "$n" ] && run_cell "$n" "$ek" "$er" "n$n-k$ek-r$er"
  done
  stop_servers
  [ "$FAIL" = 0 ] || [ "$SMOKE" != 1 ] || break
done

# ---------------------------------------------------------------------------------- report
python3 "$HERE/report.py" "$RUN_DIR" "$OUT" || { log "report failed"; FAIL=1; }
log "raw results in $RUN_DIR; report in $OUT/latest.md (total $(( $(date +%s) - T0 ))s)"
if [ "$FAIL" != 0 ]; then
  log "the harness reported problems (see above)"
  exit 1
fi
