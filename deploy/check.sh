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

# deploy/remote-cluster: what a remote cluster needs (the identity only, no Deployment). The same
# render, strict schema and server-side dry run; tests/helm/remote-cluster-smoke.sh below applies
# it for real.
echo "== deploy/remote-cluster"
if ! kubectl kustomize deploy/remote-cluster >"$work/remote-cluster.yaml"; then
  echo "FAIL deploy/remote-cluster: kubectl kustomize" >&2; failed=1
elif ! kubectl apply --dry-run=client --validate=strict -f "$work/remote-cluster.yaml" >"$work/client.log" 2>&1; then
  cat "$work/client.log" >&2; echo "FAIL deploy/remote-cluster: client-side strict validation" >&2; failed=1
elif ! kubectl apply --dry-run=server -f "$work/remote-cluster.yaml" >"$work/server.log" 2>&1; then
  cat "$work/server.log" >&2; echo "FAIL deploy/remote-cluster: server-side dry run" >&2; failed=1
else
  echo "   rendered $(grep -c '^kind:' "$work/remote-cluster.yaml") objects, schema ok (--validate=strict)"
  sed 's/^/   /' "$work/server.log"
  if grep -qE '^kind: (Deployment|Service)$' "$work/remote-cluster.yaml"; then
    echo "FAIL deploy/remote-cluster: renders a Deployment or Service (only the identity belongs there)" >&2; failed=1
  fi
fi

# The Helm chart (deploy/helm/rollouts-dashboard), with Helm built pinned from the Go module
# proxy and cached (tests/helm/build.sh; HELM may already name it, as tests/run-all.sh does):
#   helm lint --strict, for the defaults and each example values file;
#   helm template for the same, then the same three checks as above (strict schema, server-side
#   dry run, security invariants);
#   the ServiceMonitor is rendered only when enabled; unsafe values are refused;
#   tests/helm/compare.py: the chart and the kustomize manifests agree (Deployment security
#   contexts, args, env, ports, probes; ClusterRoles and bindings; Service; Ingress);
#   tests/helm/env-smoke.py: the server binary starts with the env the chart renders;
#   tests/helm/install-smoke.sh: real installs, and what the ServiceAccount may do in each mode;
#   tests/helm/remote-cluster-smoke.sh: deploy/remote-cluster applied, kubeconfig.sh, its rights.
CHART=deploy/helm/rollouts-dashboard
bash tests/helm/check-version.sh || failed=1
if [ -z "${HELM:-}" ]; then helm_env=$(bash tests/helm/build.sh); eval "$helm_env"; fi
export HELM
echo "== helm $("$HELM" version --short)"
for values in "" deploy/helm/examples/*.yaml; do
  label="$CHART${values:+ -f $values}"
  name=helm-$(basename "${values:-defaults}" .yaml)
  out="$work/$name.yaml"
  echo "== $label"
  if ! "$HELM" lint --strict "$CHART" ${values:+-f "$values"} >"$work/lint.log" 2>&1; then
    cat "$work/lint.log" >&2; echo "FAIL $label: helm lint --strict" >&2; failed=1; continue
  fi
  echo "   helm lint --strict ok"
  if ! "$HELM" template rd "$CHART" -n "$NAMESPACE" ${values:+-f "$values"} >"$out" 2>"$work/template.log"; then
    cat "$work/template.log" >&2; echo "FAIL $label: helm template" >&2; failed=1; continue
  fi
  echo "   rendered $(grep -c '^kind:' "$out") objects"
  if ! kubectl apply --dry-run=client --validate=strict -f "$out" >"$work/client.log" 2>&1; then
    cat "$work/client.log" >&2; echo "FAIL $label: client-side strict validation" >&2; failed=1; continue
  fi
  echo "   schema ok (--validate=strict)"
  if ! kubectl apply --dry-run=server -f "$out" >"$work/server.log" 2>&1; then
    cat "$work/server.log" >&2; echo "FAIL $label: server-side dry run" >&2; failed=1; continue
  fi
  sed 's/^/   /' "$work/server.log"
  for want in 'runAsNonRoot: true' 'runAsUser: 65532' 'readOnlyRootFilesystem: true' 'type: RuntimeDefault' \
              'allowPrivilegeEscalation: false' 'drop: ["ALL"]'; do
    grep -qF -- "$want" "$out" || { echo "FAIL $label: rendered Deployment lacks '$want'" >&2; failed=1; }
  done
  if grep -q 'value: none' "$out" && ! grep -q 'ROLLOUTS_DASHBOARD_READ_ONLY' "$out" \
     && ! grep -A1 'ROLLOUTS_DASHBOARD_ADDRESS' "$out" | grep -q '127.0.0.1'; then
    echo "FAIL $label: --auth none, writable, on a non-loopback address" >&2; failed=1
  fi
  if grep -q 'impersonate' "$out" && ! grep -q 'value: proxy' "$out"; then
    echo "FAIL $label: impersonation granted outside --auth proxy" >&2; failed=1
  fi
done

echo "== $CHART: ServiceMonitor only when enabled"
n_off=$("$HELM" template rd "$CHART" -n "$NAMESPACE" | grep -c '^kind: ServiceMonitor' || true)
n_on=$("$HELM" template rd "$CHART" -n "$NAMESPACE" --set serviceMonitor.enabled=true | grep -c '^kind: ServiceMonitor' || true)
if [ "$n_off" = 0 ] && [ "$n_on" = 1 ]; then
  # The test cluster has no Prometheus Operator CRDs, so the ServiceMonitor itself gets no dry run.
  echo "   default: none; serviceMonitor.enabled=true: one"
else
  echo "FAIL $CHART: ServiceMonitor rendered $n_off time(s) by default and $n_on time(s) when enabled" >&2; failed=1
fi

echo "== $CHART: unsafe or impossible values are refused"
while IFS='|' read -r why sets; do
  # shellcheck disable=SC2086
  if "$HELM" template rd "$CHART" -n "$NAMESPACE" $sets >/dev/null 2>"$work/refuse.log"; then
    echo "FAIL $CHART: rendered although $why ($sets)" >&2; failed=1
  else
    echo "   refused: $why: $(grep -o 'execution error.*' "$work/refuse.log" | sed 's/^execution error at ([^)]*): //' | cut -c1-100 || true)"
  fi
done <<'EOF'
auth none writable off loopback|--set readOnly=false
unknown auth mode|--set auth.mode=basic
oauth2-proxy without auth proxy|--set oauth2Proxy.enabled=true --set auth.mode=token
proxy mode believing nobody|--set auth.mode=proxy --set auth.proxy.trusted=null
TLS without a Secret|--set tls.enabled=true
ServiceMonitor on a loopback listener|--set serviceMonitor.enabled=true --set address=127.0.0.1
a remote cluster without a Secret|--set remoteClusters[0].key=kubeconfig
two remote clusters in one file|--set remoteClusters[0].secretName=a --set remoteClusters[1].secretName=a
a remote cluster's file hidden from the server|--set remoteClusters[0].secretName=a --set remoteClusters[0].file=..data
EOF

echo "== tests/helm/compare.py: the chart and the kustomize manifests agree"
python3 tests/helm/compare.py || failed=1

# The real server with the env the chart renders (tests/run-all.sh sets ROLLOUTS_DASHBOARD_BIN).
echo "== tests/helm/env-smoke.py: the server starts with the chart's env, for every example"
if [ -n "${ROLLOUTS_DASHBOARD_BIN:-}" ]; then
  python3 tests/helm/env-smoke.py || failed=1
else
  echo "   skipped: ROLLOUTS_DASHBOARD_BIN (the server binary) is not set"
fi

# Not a dry run: install, upgrade across modes and uninstall in a namespace of its own, with
# `kubectl auth can-i` on the ServiceAccount after each step.
echo "== tests/helm/install-smoke.sh: helm install/upgrade/uninstall, the ServiceAccount's rights"
bash tests/helm/install-smoke.sh || failed=1

# Not a dry run either: deploy/remote-cluster applied, a kubeconfig made from it, its rights,
# and (with ROLLOUTS_DASHBOARD_BIN) the server watching clusters from a --kubeconfig-dir.
echo "== tests/helm/remote-cluster-smoke.sh: deploy/remote-cluster, its kubeconfig and rights"
bash tests/helm/remote-cluster-smoke.sh || failed=1

if [ "$failed" != 0 ]; then echo "deploy/check.sh: FAILED" >&2; exit 1; fi
echo "deploy/check.sh: every kustomize variant and Helm values file renders, validates strictly and passes a server-side dry run; the chart agrees with the kustomize manifests, runs, and grants what its mode needs"
