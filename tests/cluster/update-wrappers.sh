#!/usr/bin/env bash
# Regenerate the Go wrapper modules (go.mod + go.sum) in controlplane/, rollouts/, rollouts-v1.10/
# and kwok/. Only needed to change versions; commit the result. Needs the Go module proxy.
#
#   tests/cluster/update-wrappers.sh [K8S_VERSION] [ARGO_VERSION] [KWOK_VERSION] [OUT_DIR] [ARGO_NEW_VERSION]
#   defaults: v1.34.4 v1.9.2 v0.8.0 tests/cluster v1.10.2
#   ONLY="rollouts-v1.10" tests/cluster/update-wrappers.sh   # regenerate only the named wrappers
#                                                            # (space-separated; default: all four)
#
# Rules (see README.md "Pitfalls"):
# - k8s.io/kubernetes requires its staging modules at v0.0.0; every such requirement gets
#   `replace k8s.io/X => k8s.io/X v0.<minor>.<patch>`, derived from k8s.io/kubernetes's own go.mod.
# - etcd is built at the version k8s.io/kubernetes already selects, so MVS moves nothing.
# - argo-rollouts: upstream's replace block is copied verbatim, so its build list equals upstream's.
#   Only if the k8s.io/kubernetes version it requires cannot be downloaded from the proxy are the
#   require + the v0.<minor>.x replaces bumped to K8S_VERSION. (v1.34.1 is missing from
#   `go list -m -versions k8s.io/kubernetes` but IS served, so v1.9.2 is used unchanged.)
# - argo-rollouts v1.9.3 says `go 1.26.10` (newer than the local go 1.26.8, GOTOOLCHAIN=local),
#   hence v1.9.2 in rollouts/. The second cluster flavour, rollouts-v1.10/, runs the current
#   release (v1.10.2, `go 1.26.10`): it is generated and built with GOTOOLCHAIN=go1.27.3, the one
#   approved newer Go, which the go command fetches from the module proxy. Only that wrapper uses it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KV="${1:-v1.34.4}"; AV="${2:-v1.9.2}"; KWV="${3:-v0.8.0}"; OUT="${4:-$HERE}"; ANV="${5:-v1.10.2}"
ONLY="${ONLY:-controlplane rollouts rollouts-v1.10 kwok}"
# The toolchain of the newer Argo wrapper; build.sh uses the same value (keep them equal).
NEW_TOOLCHAIN=go1.27.3
SV="v0.${KV#v1.}"
export GOFLAGS=-mod=mod

gomod_of() { (cd "$(mktemp -d)" && go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p'); }

# --- controlplane
gen_controlplane() {
  d="$OUT/controlplane"; mkdir -p "$d"; rm -f "$d/go.mod" "$d/go.sum"
  KMOD="$(gomod_of "k8s.io/kubernetes@$KV")"
  (
    cd "$d"
    go mod init rollouts-dashboard.invalid/tests/cluster/controlplane
    for m in $(awk '$2=="v0.0.0" && $1 ~ /^k8s\.io\// {print $1}' "$KMOD"); do go mod edit -replace="$m=$m@$SV"; done
    go mod edit -go="$(awk '$1=="go"{print $2; exit}' "$KMOD")" -require="k8s.io/kubernetes@$KV" \
      -godebug=default="$(awk '$1=="godebug"{split($2,a,"="); print a[2]; exit}' "$KMOD")"
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$KV" "k8s.io/kubernetes/cmd/kube-controller-manager@$KV" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$KV" "k8s.io/kubernetes/cmd/kubectl@$KV"
    EV="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
    go get -tool "go.etcd.io/etcd/server/v3@$EV"
    go mod tidy
  )
}

# --- rollouts: gen_rollouts DIR ARGO_VERSION (upstream's replace block, see the rules above)
gen_rollouts() {
  local d="$OUT/$1" av="$2" amod akv nkv
  mkdir -p "$d"; rm -f "$d/go.mod" "$d/go.sum"
  amod="$(gomod_of "github.com/argoproj/argo-rollouts@$av")"
  akv="$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$amod")"
  nkv="$akv"
  if ! (cd "$(mktemp -d)" && go mod download "k8s.io/kubernetes@$akv") 2>/dev/null; then nkv="$KV"; fi
  {
    printf 'module rollouts-dashboard.invalid/tests/cluster/%s\n\ngo %s\n\n' "$1" "$(awk '$1=="go"{print $2; exit}' "$amod")"
    sed -n '/^replace/,$p' "$amod" | sed "s/\(k8s\.io\/[a-z-]* \)v0\.${akv#v1.}\$/\1v0.${nkv#v1.}/"
  } > "$d/go.mod"
  (
    cd "$d"
    go mod edit -require="github.com/argoproj/argo-rollouts@$av" -require="k8s.io/kubernetes@$nkv"
    go get -tool "github.com/argoproj/argo-rollouts/cmd/rollouts-controller@$av" \
      "github.com/argoproj/argo-rollouts/cmd/kubectl-argo-rollouts@$av"
    go mod tidy
  )
}

# --- kwok
gen_kwok() {
  d="$OUT/kwok"; mkdir -p "$d"; rm -f "$d/go.mod" "$d/go.sum"
  KWMOD="$(gomod_of "sigs.k8s.io/kwok@$KWV")"
  printf 'module rollouts-dashboard.invalid/tests/cluster/kwok\n\ngo %s\n' "$(awk '$1=="go"{print $2; exit}' "$KWMOD")" > "$d/go.mod"
  (
    cd "$d"
    go get -tool "sigs.k8s.io/kwok/cmd/kwok@$KWV" "sigs.k8s.io/kwok/cmd/kwokctl@$KWV"
    go mod tidy
  )
}

for c in $ONLY; do
  case "$c" in
    controlplane) gen_controlplane ;;
    rollouts) gen_rollouts rollouts "$AV" ;;
    rollouts-v1.10) ( export GOTOOLCHAIN="$NEW_TOOLCHAIN"; gen_rollouts rollouts-v1.10 "$ANV" ) ;;
    kwok) gen_kwok ;;
    *) echo "unknown wrapper: $c" >&2; exit 2 ;;
  esac
  echo "wrapper written: $OUT/$c" >&2
done
echo "run build.sh to build" >&2
