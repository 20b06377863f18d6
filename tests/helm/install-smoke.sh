#!/usr/bin/env bash
# Installs the chart for real into the cluster of KUBECONFIG (the test cluster: kwok nodes run
# no containers, so the pods turn Ready without an image) with the defaults and every example,
# and checks what its ServiceAccount may do with `kubectl auth can-i`:
#   always:  list rollouts in all namespaces, create tokenreviews and subjectaccessreviews
#   never:   delete rollouts, get secrets, create pods
#   patch rollouts and rollouts/status: only a writable --auth none (the actions role)
#   impersonate users and groups: only a writable --auth proxy
#   get/list/watch/patch the revocations ConfigMap (and no other ConfigMap): only --auth token
#   the session key Secret made by the chart keeps its value across upgrades (lookup)
# then upgrades one release across modes (the bindings follow) and uninstalls, and checks that
# nothing of the release is left (cluster-scoped RBAC included).
#
# Usage: HELM=... KUBECONFIG=... tests/helm/install-smoke.sh   (deploy/check.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/../.."
HELM="${HELM:-helm}"
CHART=deploy/helm/rollouts-dashboard
NS=rd-install-smoke-$$   # unique: a namespace of an earlier run may still be terminating
REL=rd
SA="system:serviceaccount:$NS:$REL-rollouts-dashboard"
failed=0

cleanup() {
  "$HELM" uninstall "$REL" -n "$NS" --wait >/dev/null 2>&1 || true
  kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

can() { kubectl auth can-i "$@" --as="$SA" 2>/dev/null || true; }

check_rbac() { # check_rbac LABEL WANT_WRITE(yes|no) WANT_IMPERSONATE(yes|no)
  local label=$1 w=$2 imp=$3 got want
  local -a checks=(
    "yes|list rollouts.argoproj.io -A"
    "yes|watch pods -A"
    "yes|watch events -A"
    "yes|create tokenreviews.authentication.k8s.io"
    "yes|create subjectaccessreviews.authorization.k8s.io"
    "no|delete rollouts.argoproj.io -A"
    "no|get secrets -A"
    "no|create pods -A"
    "$w|patch rollouts.argoproj.io -A"
    "$w|patch rollouts.argoproj.io --subresource=status -A"
    "$w|patch deployments.apps -A"
    "$w|create events -A"
    "$imp|impersonate users"
    "$imp|impersonate groups"
  )
  local c bad=""
  for c in "${checks[@]}"; do
    want=${c%%|*}
    # shellcheck disable=SC2086
    got=$(can ${c#*|})
    [ "$got" = "$want" ] || bad+=" [${c#*|}: $got, want $want]"
  done
  local tok=no cm="configmaps/$REL-rollouts-dashboard-session-revocations"
  [ "$(kubectl -n "$NS" get deployment "$REL-rollouts-dashboard" -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="ROLLOUTS_DASHBOARD_AUTH")].value}')" = token ] && tok=yes
  for c in "$tok|get $cm" "$tok|list $cm" "$tok|watch $cm" "$tok|patch $cm" \
           "no|delete $cm" "no|create configmaps" "no|patch configmaps/other" "no|list configmaps"; do
    want=${c%%|*}
    # shellcheck disable=SC2086
    got=$(can ${c#*|} -n "$NS")
    [ "$got" = "$want" ] || bad+=" [${c#*|} -n $NS: $got, want $want]"
  done
  if [ -n "$bad" ]; then echo "FAIL $label: the ServiceAccount's rights:$bad" >&2; failed=1
  else echo "ok   $label: RBAC (writes: $w, impersonate: $imp, revocations ConfigMap: $tok, never delete/secrets/pods)"; fi
}

session_key() { kubectl -n "$NS" get secret "$REL-rollouts-dashboard-session-key" -o jsonpath='{.data.session-key}' 2>/dev/null || true; }

install() { # install LABEL VALUES WANT_WRITE WANT_IMPERSONATE
  local label=$1 values=$2
  # Not --wait: it would wait forever for a LoadBalancer address (token-tls.yaml).
  if ! "$HELM" upgrade --install "$REL" "$CHART" -n "$NS" --create-namespace ${values:+-f "$values"} \
       >/tmp/rd-install-smoke.$$ 2>&1 \
     || ! kubectl -n "$NS" rollout status deployment/"$REL-rollouts-dashboard" --timeout 120s \
       >>/tmp/rd-install-smoke.$$ 2>&1; then
    cat /tmp/rd-install-smoke.$$ >&2; echo "FAIL $label: helm upgrade --install, rollout" >&2; failed=1
  else
    check_rbac "$label" "$3" "$4"
  fi
  rm -f /tmp/rd-install-smoke.$$
}

# One release, moved through the modes: each upgrade must also take away what the last one granted.
install "defaults (read-only, --auth none)" ""                                          no  no
install "examples/port-forward.yaml"        deploy/helm/examples/port-forward.yaml        yes no
install "examples/ingress-oauth2-proxy.yaml" deploy/helm/examples/ingress-oauth2-proxy.yaml no yes
install "examples/proxy-shared-secret.yaml" deploy/helm/examples/proxy-shared-secret.yaml no  yes
install "examples/token-tls.yaml"           deploy/helm/examples/token-tls.yaml           no  no
key_before=$(session_key)
install "examples/ingress-token.yaml"       deploy/helm/examples/ingress-token.yaml       no  no
key_after=$(session_key)
if [ -z "$key_before" ] || [ "$key_before" != "$key_after" ]; then
  echo "FAIL the session key Secret changed across an upgrade (or is missing): a new key signs everyone out" >&2; failed=1
else echo "ok   the session key Secret ($(printf %s "$key_before" | base64 -d | wc -c) bytes) kept across an upgrade"; fi
install "examples/read-only.yaml"           deploy/helm/examples/read-only.yaml           no  no
# The remote clusters' Secret the example mounts (kwok runs no containers, so its content is not
# read here; tests/helm/env-smoke.py and remote-cluster-smoke.sh run the server on such files).
kubectl -n "$NS" create secret generic rollouts-dashboard-clusters --from-file=east="$KUBECONFIG" >/dev/null
install "examples/fleet.yaml"               deploy/helm/examples/fleet.yaml               no  no

"$HELM" uninstall "$REL" -n "$NS" --wait >/dev/null
left=$(kubectl get clusterroles,clusterrolebindings,deployments,services,serviceaccounts,secrets,configmaps,roles,rolebindings,poddisruptionbudgets -A \
         -l app.kubernetes.io/instance="$REL",app.kubernetes.io/name=rollouts-dashboard -o name 2>/dev/null \
         | grep -v '^serviceaccount/default$' || true)
if [ -n "$left" ]; then echo "FAIL helm uninstall left: $left" >&2; failed=1
else echo "ok   helm uninstall: nothing of the release is left"; fi

[ "$failed" = 0 ] || { echo "install-smoke.sh: FAILED" >&2; exit 1; }
