#!/usr/bin/env bash
# Real Kubernetes test cluster for rollouts-dashboard:
#   etcd + kube-apiserver + kube-controller-manager + kube-scheduler (k8s v1.34, via kwokctl --runtime binary),
#   kwok fake nodes (pods become Ready without containers), the real Argo Rollouts controller,
#   and a tiny metric endpoint (metric-server.py) for `web` analysis providers.
#
#   tests/cluster/cluster.sh up   NAME [--demo] [--argo v1.9|v1.10]
#                                                 create (or reuse) cluster NAME; --demo also applies demo/;
#                                                 --argo picks the Argo Rollouts release (default v1.9 = v1.9.2,
#                                                 v1.10 = v1.10.2; or env ROLLOUTS_DASHBOARD_ARGO). `env` tells
#                                                 which one runs: ROLLOUTS_DASHBOARD_ARGO_VERSION
#   tests/cluster/cluster.sh demo NAME            apply the demo workloads to a running cluster
#   tests/cluster/cluster.sh env  NAME            print `export ...` lines (KUBECONFIG, ...) for NAME
#   tests/cluster/cluster.sh down NAME            stop everything of NAME and delete its state (idempotent)
#   tests/cluster/cluster.sh status NAME          exit 0 if NAME is up (apiserver + controller), else 1
#   tests/cluster/cluster.sh list                 names with a state directory
#   tests/cluster/cluster.sh stop-apiserver NAME  stop only kube-apiserver (etcd and the rest keep running)
#   tests/cluster/cluster.sh start-apiserver NAME start it again (and the controller-manager/scheduler if they exited)
#
# State: $ROLLOUTS_DASHBOARD_CLUSTER_STATE_ROOT/NAME (default ${TMPDIR:-/tmp}/rollouts-dashboard-cluster/NAME):
#   kubeconfig, env, controller.{log,pid}, metric-server.{log,pid,port}, metrics/ (metric values),
#   kwok/ (KWOK_WORKDIR: pki, etcd data, component logs under kwok/clusters/NAME/logs).
# Env: ROLLOUTS_DASHBOARD_CACHE (binary cache, see build.sh), ROLLOUTS_DASHBOARD_CLUSTER_NODES (default 3),
#      ROLLOUTS_DASHBOARD_CLUSTER_TIMEOUT (seconds per wait, default 180),
#      ROLLOUTS_DASHBOARD_CLUSTER_KEEP_STATE=1 (down keeps the state dir, e.g. for logs in CI),
#      ROLLOUTS_DASHBOARD_CONTROLLER_ARGS (extra rollouts-controller args, e.g. "--loglevel debug").
#      ROLLOUTS_DASHBOARD_ARGO (v1.9 or v1.10; what `up` runs when --argo is not given).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_ROOT="${ROLLOUTS_DASHBOARD_CLUSTER_STATE_ROOT:-${TMPDIR:-/tmp}/rollouts-dashboard-cluster}"
NODES="${ROLLOUTS_DASHBOARD_CLUSTER_NODES:-3}"
TIMEOUT="${ROLLOUTS_DASHBOARD_CLUSTER_TIMEOUT:-180}"

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "[cluster${NAME:+ $NAME}] ERROR: $*" >&2; exit 1; }
log() { echo "[cluster${NAME:+ $NAME}] $*" >&2; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN{printf "%.1f", b-a}'; }
PHASE_T=""; PHASE_N=""; UP_T0=""
phase() { # phase "name"  (ends the previous phase and prints its duration)
  local t; t=$(now)
  if [ -n "$PHASE_N" ]; then log "$(printf '%-24s %6.1fs' "$PHASE_N" "$(elapsed "$PHASE_T" "$t")")"; fi
  PHASE_N="$1"; PHASE_T="$t"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1]); s.close()'
}

# pid_alive PIDFILE PATTERN: the pid in PIDFILE is running and its command line contains PATTERN
pid_alive() {
  local pf="$1" pat="$2" pid
  [ -f "$pf" ] || return 1
  pid="$(cat "$pf" 2>/dev/null)"; [ -n "$pid" ] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$pat"
}

# stop_pid PIDFILE PATTERN: TERM, wait up to 10s, then KILL; only if the command line matches
stop_pid() {
  local pf="$1" pat="$2" pid i
  if pid_alive "$pf" "$pat"; then
    pid="$(cat "$pf")"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do pid_alive "$pf" "$pat" || break; sleep 0.1; done
    if pid_alive "$pf" "$pat"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  fi
  rm -f "$pf"
}

wait_until() { # wait_until SECONDS DESCRIPTION CMD...
  local secs="$1" what="$2"; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "timed out after ${secs}s waiting for: $what"; return 1; }
    sleep 0.5
  done
}

set_name() {
  NAME="${1:-}"
  [ -n "$NAME" ] || usage
  [[ "$NAME" =~ ^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$ ]] || die "NAME must be a DNS label (lowercase, digits, '-'), max 40 chars"
  STATE="$STATE_ROOT/$NAME"
  KUBECONFIG_PATH="$STATE/kubeconfig"
  export KWOK_WORKDIR="$STATE/kwok"
}

load_bins() { # sets BIN, CRDS, versions (builds when needed)
  local out
  out="$("$HERE/build.sh")" || die "build failed"
  eval "$out"
  BIN="$ROLLOUTS_DASHBOARD_CLUSTER_BIN"; CRDS="$ROLLOUTS_DASHBOARD_CRDS"
}

kc() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

crds_established() {
  [ "$(kc get crd rollouts.argoproj.io experiments.argoproj.io analysisruns.argoproj.io \
        analysistemplates.argoproj.io clusteranalysistemplates.argoproj.io \
        -o jsonpath='{range .items[*]}{range .status.conditions[?(@.type=="Established")]}{.status}{"\n"}{end}{end}' 2>/dev/null \
      | grep -c True)" = 5 ]
}

apiserver_ready() { kc get --raw /readyz >/dev/null 2>&1; }

controller_ready() {
  local hp; hp="$(cat "$STATE/controller.healthz-port" 2>/dev/null)" || return 1
  pid_alive "$STATE/controller.pid" rollouts-controller || return 1
  curl -fsS -m 2 "http://127.0.0.1:$hp/healthz" >/dev/null 2>&1 || return 1
  grep -q 'Started controller' "$STATE/controller.log"
}

# (up with the Argo Rollouts release asked for: `up --argo v1.10` on a v1.9 cluster recreates it)
is_up() {
  [ -f "$STATE/up.done" ] && [ -x "${BIN:-/nonexistent}/kubectl" ] \
    && grep -qxF "export ROLLOUTS_DASHBOARD_ARGO_VERSION='$ROLLOUTS_DASHBOARD_ARGO_VERSION'" "$STATE/env" \
    && apiserver_ready && controller_ready
}

write_env() {
  local mport; mport="$(cat "$STATE/metric-server.port")"
  cat > "$STATE/env.tmp" <<EOF
export KUBECONFIG='$KUBECONFIG_PATH'
export ROLLOUTS_DASHBOARD_CLUSTER_NAME='$NAME'
export ROLLOUTS_DASHBOARD_CLUSTER_STATE='$STATE'
export ROLLOUTS_DASHBOARD_CLUSTER_BIN='$BIN'
export ROLLOUTS_DASHBOARD_CRDS='$CRDS'
export ROLLOUTS_DASHBOARD_METRIC_URL='http://127.0.0.1:$mport'
export ROLLOUTS_DASHBOARD_METRIC_DIR='$STATE/metrics'
export ROLLOUTS_DASHBOARD_CONTROLLER_LOG='$STATE/controller.log'
export ROLLOUTS_DASHBOARD_KUBE_VERSION='$ROLLOUTS_DASHBOARD_KUBE_VERSION'
export ROLLOUTS_DASHBOARD_ARGO_VERSION='$ROLLOUTS_DASHBOARD_ARGO_VERSION'
export PATH='$BIN':"\$PATH"
EOF
  mv "$STATE/env.tmp" "$STATE/env"
}

start_metric_server() {
  stop_pid "$STATE/metric-server.pid" metric-server.py
  rm -f "$STATE/metric-server.port"
  mkdir -p "$STATE/metrics"
  setsid python3 "$HERE/metric-server.py" --dir "$STATE/metrics" --port-file "$STATE/metric-server.port" \
    </dev/null >"$STATE/metric-server.log" 2>&1 &
  echo $! > "$STATE/metric-server.pid"
  wait_until 20 "metric-server port file" test -s "$STATE/metric-server.port" || die "metric-server did not start: $(tail -5 "$STATE/metric-server.log")"
  wait_until 20 "metric-server /healthz" curl -fsS -m 2 "http://127.0.0.1:$(cat "$STATE/metric-server.port")/healthz" \
    || die "metric-server not answering"
}

start_controller() {
  local attempt mp hp
  for attempt in 1 2 3; do
    stop_pid "$STATE/controller.pid" rollouts-controller
    mp="$(free_port)"; hp="$(free_port)"
    while [ "$hp" = "$mp" ]; do hp="$(free_port)"; done
    echo "$hp" > "$STATE/controller.healthz-port"; echo "$mp" > "$STATE/controller.metrics-port"
    # shellcheck disable=SC2086
    setsid "$BIN/rollouts-controller" --kubeconfig "$KUBECONFIG_PATH" --leader-elect=false \
      --ingress-api-version networking/v1 --metricsPort "$mp" --healthzPort "$hp" \
      ${ROLLOUTS_DASHBOARD_CONTROLLER_ARGS:-} </dev/null >"$STATE/controller.log" 2>&1 &
    echo $! > "$STATE/controller.pid"
    local deadline=$(( $(date +%s) + TIMEOUT ))
    while ! controller_ready; do
      pid_alive "$STATE/controller.pid" rollouts-controller || break
      [ "$(date +%s)" -lt "$deadline" ] || break
      sleep 0.5
    done
    controller_ready && return 0
    log "rollouts-controller attempt $attempt failed; last log lines:"; tail -5 "$STATE/controller.log" >&2 || true
  done
  die "rollouts-controller did not start (log: $STATE/controller.log)"
}

cmd_up() {
  local demo=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --demo) demo=1 ;;
      --argo) [ $# -ge 2 ] || usage; export ROLLOUTS_DASHBOARD_ARGO="$2"; shift ;;
      --argo=*) export ROLLOUTS_DASHBOARD_ARGO="${1#--argo=}" ;;
      *) usage ;;
    esac
    shift
  done
  UP_T0=$(now)
  phase "build (cached)"
  load_bins
  mkdir -p "$STATE"
  local running
  running="$(sed -n "s/^export ROLLOUTS_DASHBOARD_ARGO_VERSION='\(.*\)'$/\1/p" "$STATE/env" 2>/dev/null || true)"
  if [ -n "$running" ] && [ "$running" != "$ROLLOUTS_DASHBOARD_ARGO_VERSION" ]; then
    log "it runs Argo Rollouts $running, $ROLLOUTS_DASHBOARD_ARGO_VERSION was asked for: recreating it"
  fi
  if is_up; then
    log "already up"
  else
    if [ -e "$STATE/kwok" ] || [ -e "$STATE/controller.pid" ] || [ -e "$STATE/metric-server.pid" ]; then
      log "stale state found; tearing it down first"
      ROLLOUTS_DASHBOARD_CLUSTER_KEEP_STATE=0 cmd_down >/dev/null
      mkdir -p "$STATE"
    fi
    cat > "$STATE/kwokctl.yaml" <<EOF
kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: $ROLLOUTS_DASHBOARD_KUBE_VERSION
  securePort: true
  quietPull: true
  kubeApiserverBinary: $BIN/kube-apiserver
  kubeControllerManagerBinary: $BIN/kube-controller-manager
  kubeSchedulerBinary: $BIN/kube-scheduler
  kubectlBinary: $BIN/kubectl
  etcdBinary: $BIN/etcd
  kwokControllerBinary: $BIN/kwok
EOF
    phase "kwokctl create cluster"
    # serialize creation across names: kwokctl picks ports by probing, and with one KWOK_WORKDIR
    # per name it cannot see the ports of a cluster being created concurrently.
    # flock -o: the daemons kwokctl starts must not inherit (and so hold) the lock.
    flock -o "$STATE_ROOT/.create.lock" "$BIN/kwokctl" --config "$STATE/kwokctl.yaml" --name "$NAME" \
        create cluster --runtime binary --kubeconfig "$KUBECONFIG_PATH" --wait "${TIMEOUT}s" \
        >"$STATE/kwokctl-create.log" 2>&1 \
      || { tail -30 "$STATE/kwokctl-create.log" >&2; die "kwokctl create cluster failed (log: $STATE/kwokctl-create.log)"; }
    wait_until "$TIMEOUT" "kube-apiserver /readyz" apiserver_ready || die "apiserver not ready"
    phase "kwokctl scale node"
    "$BIN/kwokctl" --name "$NAME" scale node --replicas "$NODES" >"$STATE/kwokctl-scale.log" 2>&1 \
      || { cat "$STATE/kwokctl-scale.log" >&2; die "kwokctl scale node failed"; }
    wait_until "$TIMEOUT" "$NODES Ready nodes" bash -c \
      "[ \"\$('$BIN/kubectl' --kubeconfig '$KUBECONFIG_PATH' get nodes --no-headers 2>/dev/null | awk '\$2==\"Ready\"' | wc -l)\" -ge $NODES ]" \
      || die "nodes not Ready"
    # the default ServiceAccount is needed before pods can be created in a namespace
    wait_until "$TIMEOUT" "default serviceaccount" kc -n default get serviceaccount default || die "no default serviceaccount"
    phase "CRDs + namespace"
    kc apply --server-side --force-conflicts -f "$CRDS" >"$STATE/crds.log" 2>&1 || { cat "$STATE/crds.log" >&2; die "creating CRDs failed"; }
    # (not `kubectl wait`: it errors out while a new CRD has no .status.conditions yet)
    wait_until "$TIMEOUT" "5 Argo CRDs Established" crds_established || die "CRDs not established"
    kc create namespace argo-rollouts --dry-run=client -o yaml | kc apply -f - >/dev/null
    phase "metric server"
    start_metric_server
    phase "rollouts-controller"
    start_controller
    write_env
    touch "$STATE/up.done"
  fi
  [ -f "$STATE/env" ] || write_env
  if [ "$demo" = 1 ]; then
    phase "demo"
    cmd_demo
  fi
  phase ""
  log "cluster up in $(elapsed "$UP_T0")s"
  log "kubeconfig: $KUBECONFIG_PATH   (eval \"\$($HERE/cluster.sh env $NAME)\")"
  cat "$STATE/env"
}

cmd_env() {
  [ -f "$STATE/env" ] || die "cluster $NAME is not up (no $STATE/env)"
  cat "$STATE/env"
}

cmd_status() {
  [ -f "$STATE/env" ] || { log "not up"; return 1; }
  eval "$(cat "$STATE/env")"
  BIN="$ROLLOUTS_DASHBOARD_CLUSTER_BIN"
  if is_up; then log "up"; return 0; fi
  log "not healthy"; return 1
}

cmd_down() {
  local t0; t0=$(now)
  if [ ! -d "$STATE" ]; then log "not present (nothing to do)"; return 0; fi
  release_port  # a stand-in holding a stopped API server's port (stop-apiserver)
  # every pid we know of, to wait below until it has really gone (also as a zombie: `pgrep` shows
  # "[kube-apiserver] <defunct>" until init reaps the reparented daemons)
  local pids="" f
  for f in "$STATE"/controller.pid "$STATE"/metric-server.pid "$KWOK_WORKDIR/clusters/$NAME"/pids/*.pid; do
    [ -f "$f" ] && pids+=" $(cat "$f" 2>/dev/null)"
  done
  stop_pid "$STATE/controller.pid" rollouts-controller
  stop_pid "$STATE/metric-server.pid" metric-server.py
  local kwokctl=""
  if [ -f "$STATE/kwokctl.yaml" ]; then
    kwokctl="$(dirname "$(awk '$1=="kwokControllerBinary:"{print $2}' "$STATE/kwokctl.yaml")")/kwokctl"
  fi
  if [ -d "$KWOK_WORKDIR/clusters/$NAME" ]; then
    if [ -x "$kwokctl" ]; then
      "$kwokctl" --name "$NAME" delete cluster --kubeconfig "$KUBECONFIG_PATH" >"$STATE/kwokctl-delete.log" 2>&1 \
        || log "kwokctl delete cluster failed (continuing): $(tail -3 "$STATE/kwokctl-delete.log")"
    fi
    # whatever kwokctl left behind (or if kwokctl is gone): its pid files
    local pf
    for pf in "$KWOK_WORKDIR/clusters/$NAME"/pids/*.pid; do
      [ -f "$pf" ] || continue
      stop_pid "$pf" "$STATE/"
    done
  fi
  # last resort: any process whose command line references this cluster's state dir was started by us
  local p cmd
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    cmd="$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)" || continue
    if [[ "$cmd" == *"$STATE/"* ]]; then
      log "killing leftover process ${p#/proc/}: ${cmd:0:120}"
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
  done
  local i pid left
  for i in $(seq 1 100); do
    left=""
    for pid in $pids; do [ -e "/proc/$pid" ] && left+=" $pid"; done
    [ -z "$left" ] && break
    sleep 0.1
  done
  [ -z "$left" ] || log "warning: pids still present (zombies not yet reaped?):$left"
  if [ "${ROLLOUTS_DASHBOARD_CLUSTER_KEEP_STATE:-0}" = 1 ]; then
    rm -f "$STATE/up.done" "$STATE/env"
    log "state kept in $STATE"
  else
    rm -rf "$STATE"
  fi
  log "down in $(elapsed "$t0")s"
}

# ---------------------------------------------------------------------------------------------
# demo workloads (YAML in demo/; __METRIC_URL__ is replaced by this cluster's metric server URL)

rollout_field() { kc -n "$1" get rollout "$2" -o "jsonpath=$3" 2>/dev/null; }

wait_rollout() { # wait_rollout NS NAME DESCRIPTION JQ-CONDITION
  local ns="$1" name="$2" what="$3" cond="$4" deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    if kc -n "$ns" get rollout "$name" -o json 2>/dev/null | jq -e "$cond" >/dev/null 2>&1; then
      log "  $ns/$name: $what"
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "  $ns/$name: timed out waiting for: $what; status:"
      kc -n "$ns" get rollout "$name" -o json | jq -c '.status | {phase, message, currentStepIndex, pauseConditions, abort}' >&2 || true
      return 1
    fi
    sleep 1
  done
}

cmd_demo() {
  [ -n "${BIN:-}" ] || load_bins
  local murl; murl="http://127.0.0.1:$(cat "$STATE/metric-server.port")"
  # metric values the demo analyses read (tests may change them: POST $murl/metric/<name> or write the file)
  echo 0.99 > "$STATE/metrics/search-api-success-rate"
  echo 0.42 > "$STATE/metrics/search-indexer-success-rate"
  local f
  for f in "$HERE"/demo/*.yaml; do
    sed "s#__METRIC_URL__#$murl#g" "$f" | kc apply -f - >/dev/null
  done
  log "demo: waiting for the initial revisions to become Healthy"
  local r ns name
  local rollouts="demo-shop/frontend demo-shop/checkout demo-payments/payments-api demo-search/search-api demo-search/search-indexer"
  for r in $rollouts; do
    wait_rollout "${r%/*}" "${r#*/}" "Healthy" '.status.phase=="Healthy"' || die "demo rollout $r not Healthy"
  done
  log "demo: updating the pod templates (new image tag) so the strategies run"
  for r in $rollouts; do
    kc -n "${r%/*}" patch rollout "${r#*/}" --type json \
      -p '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"argoproj/rollouts-demo:yellow"}]' >/dev/null
  done
  wait_rollout demo-shop frontend "paused at step 1 awaiting promotion (CanaryPauseStep)" \
    '.status.currentStepIndex==1 and ([.status.pauseConditions[]?.reason]|index("CanaryPauseStep")) != null' || die demo
  wait_rollout demo-shop checkout "in a timed pause (it advances by itself every 30s)" \
    '.status.currentStepIndex>=1 and .status.phase!="Degraded"' || die demo
  wait_rollout demo-payments payments-api "blue-green preview ready, paused awaiting promotion (BlueGreenPause)" \
    '([.status.pauseConditions[]?.reason]|index("BlueGreenPause")) != null' || die demo
  wait_rollout demo-search search-api "analysis step passed, paused at step 3 awaiting promotion" \
    '.status.currentStepIndex==3 and ([.status.pauseConditions[]?.reason]|index("CanaryPauseStep")) != null' || die demo
  wait_rollout demo-search search-indexer "background analysis failed -> aborted (Degraded)" \
    '.status.abort==true and .status.phase=="Degraded"' || die demo
  kc get rollouts -A >&2 || true
}

# ---------------------------------------------------------------------------------------------
# API server outages (tests/e2e_recovery.rs): the kube-apiserver kwokctl started is stopped
# alone (etcd keeps running), its command line kept beside its pid file, and started again the
# same way. kube-controller-manager and kube-scheduler exit when they lose their leader lease
# during an outage (nothing restarts them under kwokctl's binary runtime), so their command
# lines are kept too, and start-apiserver starts whichever of them is gone once the API server
# answers again: the cluster is whole for the tests that follow.

OUTAGE_COMPONENTS="kube-apiserver kube-controller-manager kube-scheduler"

component_pidfile() { echo "$KWOK_WORKDIR/clusters/$NAME/pids/$1.pid"; }

cmd_stop_apiserver() {
  local pf c pid; pf="$(component_pidfile kube-apiserver)"
  pid_alive "$pf" "$STATE/" || die "kube-apiserver of $NAME is not running"
  for c in $OUTAGE_COMPONENTS; do
    pid_alive "$(component_pidfile "$c")" "$STATE/" || continue
    pid="$(cat "$(component_pidfile "$c")")"
    # NUL-separated argv and the working directory, to start the same process again
    cp "/proc/$pid/cmdline" "$STATE/$c.cmdline"
    readlink "/proc/$pid/cwd" > "$STATE/$c.cwd"
  done
  pid="$(cat "$pf")"; cp "$pf" "$STATE/kube-apiserver.pid.stopped"
  stop_pid "$pf" "$STATE/"
  # stop_pid removed the pid file; keep it (pointing at the dead pid) so `down` still finds it
  cp "$STATE/kube-apiserver.pid.stopped" "$pf"; rm -f "$STATE/kube-apiserver.pid.stopped"
  log "kube-apiserver stopped (pid $pid)"
  hold_port "$(tr '\0' '\n' < "$STATE/kube-apiserver.cmdline" | sed -n 's/^--secure-port=//p')"
}

# While the API server is down its port is free, and kwokctl, creating another cluster on this
# machine meanwhile, picks ports by probing downwards from 32767: it took this one once, and the
# restarted API server could not bind it (seen in CI: "not answered by the API server within
# 120s"). So a stand-in holds the port during the outage: it listens and closes every
# connection at once, which a client sees as an unreachable server, as it would the bare port.
hold_port() { # hold_port PORT  (pid in $STATE/port-hold.pid; released by release_port)
  [ -n "$1" ] || die "cannot tell the API server's port from its command line"
  setsid python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the old connections in TIME_WAIT
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
while True:
    s.accept()[0].close()
' "$1" </dev/null >>"$STATE/outage.log" 2>&1 &
  echo $! > "$STATE/port-hold.pid"
}

release_port() {
  local pf="$STATE/port-hold.pid" pid
  [ -f "$pf" ] || return 0
  pid="$(cat "$pf")"; rm -f "$pf"
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

start_component() { # start_component NAME: again, as it ran when stop-apiserver saved it
  local c="$1" pf cwd log; pf="$(component_pidfile "$c")"
  [ -f "$STATE/$c.cmdline" ] || return 0
  if ! pid_alive "$pf" "$STATE/"; then
    local -a argv; mapfile -d '' argv < "$STATE/$c.cmdline"
    log="$KWOK_WORKDIR/clusters/$NAME/logs/$c.log"
    cwd="$(cat "$STATE/$c.cwd")"
    (cd "$cwd" && exec setsid "${argv[@]}" </dev/null >>"$log" 2>&1) &
    echo $! > "$pf"
    log "$c started (pid $(cat "$pf"))"
  fi
  rm -f "$STATE/$c.cmdline" "$STATE/$c.cwd"
}

cmd_start_apiserver() {
  [ -f "$STATE/kube-apiserver.cmdline" ] || die "no stopped kube-apiserver to start (run stop-apiserver first)"
  pid_alive "$(component_pidfile kube-apiserver)" "$STATE/" && die "kube-apiserver of $NAME is already running"
  release_port
  start_component kube-apiserver
  # the others need the API server; wait for it in the background so that the caller can
  # measure how soon the API server answers
  (
    BIN="$ROLLOUTS_DASHBOARD_CLUSTER_BIN"
    wait_until "$TIMEOUT" "kube-apiserver /readyz" apiserver_ready || exit 1
    start_component kube-controller-manager
    start_component kube-scheduler
  ) </dev/null >>"$STATE/outage.log" 2>&1 &
}

# ---------------------------------------------------------------------------------------------
NAME=""
# one operation per cluster name at a time (e.g. parallel test binaries calling `up` for the same
# name); flock -o so that no process started below inherits the lock
case "${1:-}" in
  up|down|demo)
    if [ -z "${_RDB_CLUSTER_LOCKED:-}" ] && [ -n "${2:-}" ]; then
      set_name "$2"
      mkdir -p "$STATE_ROOT"
      export _RDB_CLUSTER_LOCKED=1
      exec flock -o "$STATE_ROOT/.$NAME.lock" "$0" "$@"
    fi ;;
esac
unset _RDB_CLUSTER_LOCKED
case "${1:-}" in
  up) set_name "${2:-}"; shift 2; cmd_up "$@" ;;
  down) set_name "${2:-}"; [ $# -le 2 ] || usage; cmd_down ;;
  env) set_name "${2:-}"; cmd_env ;;
  status) set_name "${2:-}"; cmd_status ;;
  demo)
    set_name "${2:-}"
    [ -f "$STATE/env" ] || die "cluster $NAME is not up"
    eval "$(cat "$STATE/env")"; BIN="$ROLLOUTS_DASHBOARD_CLUSTER_BIN"
    cmd_demo ;;
  list) ls -1 "$STATE_ROOT" 2>/dev/null | grep -v '^\.' || true ;;
  stop-apiserver|start-apiserver)
    set_name "${2:-}"
    [ -f "$STATE/env" ] || die "cluster $NAME is not up"
    eval "$(cat "$STATE/env")"
    if [ "$1" = stop-apiserver ]; then cmd_stop_apiserver; else cmd_start_apiserver; fi ;;
  *) usage ;;
esac
