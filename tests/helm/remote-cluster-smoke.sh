#!/usr/bin/env bash
# deploy/remote-cluster for real, on the cluster of KUBECONFIG (the test cluster) standing in for
# a remote cluster: apply it, make a kubeconfig with deploy/remote-cluster/kubeconfig.sh, and
# check with that kubeconfig (the ServiceAccount's token, nothing of the admin's):
#   kubectl auth can-i: list/watch what the dashboard reads, create TokenReviews and
#     SubjectAccessReviews; never get secrets, create pods, patch rollouts or impersonate;
#     with the actions binding of deploy/README.md patch rollouts (and status), with the
#     impersonate binding impersonate users and groups (each binding removed again);
#   with ROLLOUTS_DASHBOARD_BIN: the server started with --kubeconfig-dir holding two such
#     files of the same context (so named after the files) and one whose API server is down:
#     /readyz answers 200 and lists the two as synced and the third as unreachable.
# Then deletes what it applied (the namespace only if it made it: deploy/check.sh makes it for
# its dry runs). It refuses to run if any of the other objects already exists (it would
# delete them afterwards).
#
# Usage: KUBECONFIG=... [ROLLOUTS_DASHBOARD_BIN=...] tests/helm/remote-cluster-smoke.sh   (deploy/check.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/../.."
failed=0
work=$(mktemp -d)
server_pid=""
created=""   # what to delete at the end: kind/name as `kubectl get -o name` prints them
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  kubectl delete clusterrolebinding rollouts-dashboard-actions rollouts-dashboard-impersonate --ignore-not-found >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  [ -n "$created" ] && kubectl -n rollouts-dashboard delete $created --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

kubectl kustomize deploy/remote-cluster >"$work/remote.yaml"
kinds=$(grep '^kind:' "$work/remote.yaml" | awk '{print $2}' | sort | uniq -c | tr -s ' ' | tr '\n' ',')
if grep -q '^kind: Deployment' "$work/remote.yaml" || grep -q '^kind: Service$' "$work/remote.yaml"; then
  echo "FAIL deploy/remote-cluster renders a Deployment or Service (it should hold the identity only): $kinds" >&2; exit 1
fi
existing=$(kubectl get -f "$work/remote.yaml" --ignore-not-found -o name)
if grep -v '^namespace/' <<<"$existing" | grep -q .; then
  echo "FAIL remote-cluster-smoke.sh: these already exist on the cluster, and the test would delete them:" $existing >&2; exit 1
fi
if [ "$(kubectl get namespace rollouts-dashboard -o 'jsonpath={.status.phase}' 2>/dev/null || true)" = Terminating ]; then
  kubectl wait --for=delete namespace/rollouts-dashboard --timeout=120s >/dev/null
  existing=""
fi
kubectl apply -f "$work/remote.yaml" >/dev/null
created=$(kubectl get -f "$work/remote.yaml" -o name | grep -v "^${existing:-NONE}\$" | sort -r)
echo "ok   kubectl apply -k deploy/remote-cluster:$kinds"

kc="$work/remote-a"
deploy/remote-cluster/kubeconfig.sh --name remote-a >"$kc"
who=$(kubectl --kubeconfig "$kc" auth whoami -o 'jsonpath={.status.userInfo.username}')
if [ "$who" != system:serviceaccount:rollouts-dashboard:rollouts-dashboard ]; then
  echo "FAIL kubeconfig.sh: the kubeconfig signs in as '$who'" >&2; failed=1
else echo "ok   kubeconfig.sh: a kubeconfig of context remote-a, signed in as $who (CA verified)"; fi

can() { kubectl --kubeconfig "$kc" auth can-i "$@" 2>/dev/null || true; }
check() { # check LABEL "want|verb resource [flags]"...
  local label=$1 c want got bad=""
  shift
  for c in "$@"; do
    want=${c%%|*}
    # shellcheck disable=SC2086
    got=$(can ${c#*|})
    [ "$got" = "$want" ] || bad+=" [${c#*|}: $got, want $want]"
  done
  if [ -n "$bad" ]; then echo "FAIL $label:$bad" >&2; failed=1; else echo "ok   $label"; fi
}
base=("yes|list rollouts.argoproj.io -A" "yes|watch rollouts.argoproj.io -A" "yes|watch analysisruns.argoproj.io -A"
      "yes|watch experiments.argoproj.io -A" "yes|watch replicasets.apps -A" "yes|watch pods -A" "yes|watch events -A"
      "yes|create tokenreviews.authentication.k8s.io" "yes|create subjectaccessreviews.authorization.k8s.io"
      "no|get secrets -A" "no|create pods -A" "no|delete rollouts.argoproj.io -A")
check "read-only rights: the five kinds and Events, reviews; no secrets, pods or deletes" "${base[@]}" \
  "no|patch rollouts.argoproj.io -A" "no|patch rollouts.argoproj.io --subresource=status -A" "no|impersonate users"
sa=rollouts-dashboard:rollouts-dashboard
kubectl create clusterrolebinding rollouts-dashboard-actions --clusterrole rollouts-dashboard-actions --serviceaccount "$sa" >/dev/null
check "with the actions binding (--auth none, writable): patch rollouts, their status, deployments" "${base[@]}" \
  "yes|patch rollouts.argoproj.io -A" "yes|patch rollouts.argoproj.io --subresource=status -A" "yes|patch deployments.apps -A" \
  "yes|create events -A" "no|impersonate users"
kubectl delete clusterrolebinding rollouts-dashboard-actions >/dev/null
kubectl create clusterrolebinding rollouts-dashboard-impersonate --clusterrole rollouts-dashboard-impersonate --serviceaccount "$sa" >/dev/null
check "with the impersonate binding (--auth proxy): impersonate users and groups, no patch of its own" "${base[@]}" \
  "yes|impersonate users" "yes|impersonate groups" "no|patch rollouts.argoproj.io -A"
kubectl delete clusterrolebinding rollouts-dashboard-impersonate >/dev/null

if [ -n "${ROLLOUTS_DASHBOARD_BIN:-}" ]; then
  dir="$work/clusters"
  mkdir "$dir"
  cp "$kc" "$dir/remote-a"
  deploy/remote-cluster/kubeconfig.sh --name remote-a >"$dir/remote-b.kubeconfig"
  deploy/remote-cluster/kubeconfig.sh --name gone --server https://127.0.0.1:1 >"$dir/gone.yaml"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # Not in a pod (no KUBERNETES_SERVICE_HOST), so no `in-cluster`: only the files.
  env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST ROLLOUTS_DASHBOARD_KUBECONFIG_DIR="$dir" \
    "$ROLLOUTS_DASHBOARD_BIN" --port "$port" >"$work/server.log" 2>&1 &
  server_pid=$!
  code=000
  for _ in $(seq 1 120); do
    code=$(curl -s -o "$work/ready" -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)
    [ "$code" = 200 ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.25
  done
  want=$'ready\ncluster gone: unreachable\ncluster remote-a: synced\ncluster remote-b: synced'
  got=$(sed 's/^\(cluster [^:]*: [a-z]*\).*/\1/' "$work/ready" 2>/dev/null || true)
  if [ "$code" != 200 ] || [ "$got" != "$want" ]; then
    echo "FAIL the server with --kubeconfig-dir: /readyz $code:" >&2; cat "$work/ready" >&2 2>/dev/null || true
    tail -20 "$work/server.log" >&2; failed=1
  else
    echo "ok   the server with --kubeconfig-dir (3 files): ready; remote-a, remote-b (one context, named after the files) synced with the token; gone unreachable"
  fi
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
else
  echo "   the server part skipped: ROLLOUTS_DASHBOARD_BIN (the server binary) is not set"
fi

[ "$failed" = 0 ] || { echo "remote-cluster-smoke.sh: FAILED" >&2; exit 1; }
