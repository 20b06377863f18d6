#!/usr/bin/env bash
# Compares what the two Argo Rollouts plugins compute for the same rollouts: the v1.9.2 and the
# v1.10.2 `kubectl-argo-rollouts dashboard`, both on cluster NAME, asked for
# GET /rollouts/api/v1/rollouts/NS/ROLLOUT/info (the RolloutInfo of `get rollout`, as JSON).
#
#   tests/cluster/compare-plugins.sh NAME [NS/ROLLOUT...]   default: the five demo rollouts
#
# Both copies are read until they name the same resourceVersion (the controller may move the
# rollout between two reads), then compared with `jq -S`; a difference is printed as a diff.
# Builds (or reuses from the cache) both plugins through build.sh. Exit 1 if any view differs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="${1:?usage: compare-plugins.sh NAME [NS/ROLLOUT...]}"; shift
ROLLOUTS=("$@")
[ ${#ROLLOUTS[@]} -gt 0 ] || ROLLOUTS=(demo-shop/frontend demo-shop/checkout demo-payments/payments-api
  demo-search/search-api demo-search/search-indexer)

eval "$("$HERE/cluster.sh" env "$NAME")"
log() { echo "[compare-plugins] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# start_dashboard VERSION: the plugin of that release, serving the whole cluster on a free port
declare -A PORT
start_dashboard() {
  local v="$1" bin port i
  bin="$(ROLLOUTS_DASHBOARD_ARGO="$v" "$HERE/build.sh" | sed -n "s/^export ROLLOUTS_DASHBOARD_CLUSTER_BIN='\(.*\)'$/\1/p")"
  port="$(free_port)"
  "$bin/kubectl-argo-rollouts" dashboard --port "$port" --kubeconfig "$KUBECONFIG" >"$WORK/$v.log" 2>&1 &
  PIDS+=("$!")
  for i in $(seq 1 300); do
    curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/rollouts/api/v1/version" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -m 2 "http://127.0.0.1:$port/rollouts/api/v1/version" >"$WORK/$v.version" \
    || { cat "$WORK/$v.log" >&2; log "the $v dashboard did not start"; exit 1; }
  PORT[$v]="$port"
  log "$v plugin ($(jq -r .rolloutsVersion "$WORK/$v.version")) on :$port"
}
start_dashboard v1.9
start_dashboard v1.10

info() { curl -fsS -m 10 "http://127.0.0.1:${PORT[$1]}/rollouts/api/v1/rollouts/$2/$3/info" | jq -S .; }

differ=0
for r in "${ROLLOUTS[@]}"; do
  ns="${r%/*}"; name="${r#*/}"
  same_rv=0
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    info v1.9 "$ns" "$name" >"$WORK/a.json"; info v1.10 "$ns" "$name" >"$WORK/b.json"
    if [ "$(jq -r .objectMeta.resourceVersion "$WORK/a.json")" = "$(jq -r .objectMeta.resourceVersion "$WORK/b.json")" ]; then
      same_rv=1; break
    fi
    sleep 1
  done
  [ "$same_rv" = 1 ] || { log "$r: the two dashboards never showed the same resourceVersion"; differ=1; continue; }
  summary="$(jq -c '{status, message, step, setWeight, actualWeight, replicaSets: (.replicaSets // [] | length), analysisRuns: (.analysisRuns // [] | length)}' "$WORK/b.json")"
  if diff -u --label "$r v1.9.2 plugin" --label "$r v1.10.2 plugin" "$WORK/a.json" "$WORK/b.json"; then
    echo "$r: identical ($(wc -c <"$WORK/b.json") bytes of JSON) $summary"
  else
    echo "$r: DIFFERENT $summary"; differ=1
  fi
done
exit "$differ"
