#!/usr/bin/env bash
# End-to-end self test of the test cluster tooling (not needed by the Rust tests):
#   tests/cluster/selftest.sh [NAME] [--keep]
# 1. cluster.sh up NAME
# 2. the upstream canary example (../shared/fixtures/argo-rollouts-examples/rollout-canary.yaml) in
#    namespace canary-test becomes Healthy; a new image makes it pause at step 1
#    (status.pauseConditions CanaryPauseStep) with the new ReplicaSet's pod Ready on a kwok node
# 3. `kubectl argo rollouts promote` moves it on to step 2/3; `abort` then makes it Degraded
# 4. cluster.sh down NAME (unless --keep); no process of NAME may survive
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NAME=selftest; KEEP=0
for a in "$@"; do case "$a" in --keep) KEEP=1 ;; -*) echo "usage: $0 [NAME] [--keep]" >&2; exit 2 ;; *) NAME="$a" ;; esac; done
FIXTURE="${ROLLOUTS_DASHBOARD_CANARY_FIXTURE:-$REPO/../shared/fixtures/argo-rollouts-examples/rollout-canary.yaml}"
NS=canary-test; R=rollout-canary
log() { echo "[selftest $NAME] $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
t0=$(date +%s)

"$HERE/cluster.sh" up "$NAME" >/dev/null
eval "$("$HERE/cluster.sh" env "$NAME")"
[ "$KEEP" = 1 ] || trap '"$HERE/cluster.sh" down "$NAME" || true' EXIT

v="$(kubectl-argo-rollouts version)"; log "${v%%$'\n'*}"   # (no `| head`: SIGPIPE + pipefail)
log "$(kubectl version -o json | jq -r '"kubectl " + .clientVersion.gitVersion + ", server " + .serverVersion.gitVersion')"

kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$NS" apply -f "$FIXTURE" >/dev/null

wait_json() { # wait_json SECONDS DESCRIPTION JQ   (on the rollout)
  local deadline=$(( $(date +%s) + $1 ))
  until kubectl -n "$NS" get rollout "$R" -o json | jq -e "$3" >/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { kubectl -n "$NS" get rollout "$R" -o json | jq -c .status >&2; fail "timeout: $2"; }
    sleep 0.5
  done
  log "ok: $2 ($(( $(date +%s) - t1 ))s)"
}

t1=$(date +%s)
wait_json 120 "initial revision Healthy" '.status.phase=="Healthy" and .status.availableReplicas==5'
kubectl -n "$NS" patch rollout "$R" --type json \
  -p '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"argoproj/rollouts-demo:yellow"}]' >/dev/null
t1=$(date +%s)
wait_json 120 "paused at step 1 (CanaryPauseStep)" \
  '.status.currentStepIndex==1 and .status.pauseConditions[0].reason=="CanaryPauseStep" and .status.phase=="Paused"'
hash="$(kubectl -n "$NS" get rollout "$R" -o jsonpath='{.status.currentPodHash}')"
stable="$(kubectl -n "$NS" get rollout "$R" -o jsonpath='{.status.stableRS}')"
[ "$hash" != "$stable" ] || fail "currentPodHash == stableRS"
pods="$(kubectl -n "$NS" get pods -l "rollouts-pod-template-hash=$hash" -o json)"
n="$(jq '.items|length' <<<"$pods")"
ready="$(jq '[.items[] | select(any(.status.conditions[]?; .type=="Ready" and .status=="True"))] | length' <<<"$pods")"
nodes="$(jq -r '[.items[].spec.nodeName] | unique | join(",")' <<<"$pods")"
kwoknodes="$(kubectl get nodes -o json | jq -r '[.items[] | select(.metadata.annotations["kwok.x-k8s.io/node"]=="fake") | .metadata.name] | join(",")')"
log "new ReplicaSet $hash: $ready/$n pods Ready on node(s) $nodes (kwok nodes: $kwoknodes)"
[ "$n" -ge 1 ] && [ "$ready" = "$n" ] || fail "canary pods not Ready"
for nd in ${nodes//,/ }; do [[ ",$kwoknodes," == *",$nd,"* ]] || fail "pod on non-kwok node $nd"; done
kubectl -n "$NS" get rs -o wide >&2

t1=$(date +%s)
kubectl-argo-rollouts -n "$NS" promote "$R" >/dev/null
wait_json 60 "promoted: step >= 3 (40% + timed pause)" '.status.currentStepIndex>=3 and (.status.pauseConditions|length)<=1'
t1=$(date +%s)
kubectl-argo-rollouts -n "$NS" abort "$R" >/dev/null
wait_json 60 "aborted -> Degraded" '.status.abort==true and .status.phase=="Degraded"'
kubectl-argo-rollouts -n "$NS" get rollout "$R" >&2 || true

if [ "$KEEP" = 0 ]; then
  trap - EXIT
  "$HERE/cluster.sh" down "$NAME"
  left="$(for p in /proc/[0-9]*; do c="$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)" || continue; [[ "$c" == *"$ROLLOUTS_DASHBOARD_CLUSTER_STATE/"* ]] && echo "${p#/proc/} $c"; done || true)"
  [ -z "$left" ] || fail "processes left after down: $left"
  log "ok: no processes left"
fi
log "PASS in $(( $(date +%s) - t0 ))s"
