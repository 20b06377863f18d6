#!/usr/bin/env bash
# Renders the kustomize base and every overlay and validates them against a real API server:
#   1. kubectl kustomize DIR                                   (renders; fails on bad kustomize)
#   2. kubectl apply --dry-run=client --validate=strict -f -   (schema: unknown or mistyped
#      fields are errors; the schema is the API server's own OpenAPI, nothing is downloaded)
#   3. kubectl apply --dry-run=server -f -                     (the API server admits every
#      object: defaulting, validation, RBAC escalation checks; nothing is persisted)
#
# Needs kubectl on PATH and KUBECONFIG pointing at a cluster, e.g. the test cluster:
#   eval "$(tests/cluster/cluster.sh env NAME)" && bash deploy/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v kubectl >/dev/null || { echo "deploy/check.sh: kubectl not on PATH" >&2; exit 1; }
kubectl version >/dev/null 2>&1 || { echo "deploy/check.sh: no API server reachable (KUBECONFIG=${KUBECONFIG:-unset})" >&2; exit 1; }

NAMESPACE=rollouts-dashboard
created_ns=0
# Server-side dry runs of namespaced objects need their namespace to exist for real.
if ! kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
  kubectl create namespace "$NAMESPACE" --save-config >/dev/null
  created_ns=1
fi
cleanup() {
  if [ "$created_ns" = 1 ]; then kubectl delete namespace "$NAMESPACE" --wait=false >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
work=$(mktemp -d)
trap cleanup EXIT

failed=0
for dir in deploy/base deploy/overlays/*/; do
  dir=${dir%/}
  name=$(echo "$dir" | tr '/' '-')
  out="$work/$name.yaml"
  echo "== $dir"
  if ! kubectl kustomize "$dir" >"$out"; then
    echo "FAIL $dir: kubectl kustomize" >&2; failed=1; continue
  fi
  echo "   rendered $(grep -c '^kind:' "$out") objects"
  if ! kubectl apply --dry-run=client --validate=strict -f "$out" >"$work/client.log" 2>&1; then
    cat "$work/client.log" >&2; echo "FAIL $dir: client-side strict validation" >&2; failed=1; continue
  fi
  echo "   schema ok (--validate=strict)"
  if ! kubectl apply --dry-run=server -f "$out" >"$work/server.log" 2>&1; then
    cat "$work/server.log" >&2; echo "FAIL $dir: server-side dry run" >&2; failed=1; continue
  fi
  sed 's/^/   /' "$work/server.log"
  # Invariants every variant must keep.
  for want in 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' 'type: RuntimeDefault' '- ALL'; do
    grep -q -- "$want" "$out" || { echo "FAIL $dir: rendered Deployment lacks '$want'" >&2; failed=1; }
  done
  if grep -q 'value: none' "$out" && ! grep -q 'ROLLOUTS_DASHBOARD_READ_ONLY' "$out" \
     && ! grep -A1 'ROLLOUTS_DASHBOARD_ADDRESS' "$out" | grep -q '127.0.0.1'; then
    echo "FAIL $dir: --auth none, writable, on a non-loopback address" >&2; failed=1
  fi
done

if [ "$failed" != 0 ]; then echo "deploy/check.sh: FAILED" >&2; exit 1; fi
echo "deploy/check.sh: every variant renders, validates strictly and passes a server-side dry run"
