#!/usr/bin/env bash
# Build (or reuse from cache) Helm, pinned, from the Go module proxy — as tests/cluster/build.sh
# builds the cluster's tools:
#   helm.sh/helm/v3/cmd/helm  from the wrapper module tests/helm/go.mod + go.sum
# into
#   $ROLLOUTS_DASHBOARD_CACHE/helm-<hash>/helm     (default cache: ~/.cache/rollouts-dashboard)
# where <hash> = sha256(go.mod, go.sum, `go version`, build flags). When the cached binary
# exists the build is skipped (well under a second).
#
# Usage:
#   tests/helm/build.sh               # build; log to stderr; print `export HELM=...` on stdout
#   eval "$(tests/helm/build.sh)"     # ... and take HELM (the binary's path) into the shell
#
# Env: ROLLOUTS_DASHBOARD_CACHE (cache root), GOFLAGS/GOPROXY/GOMODCACHE/GOCACHE as usual,
#      ROLLOUTS_DASHBOARD_BUILD_P (go build -p, default 2).
#
# To move to another Helm release: edit the require line in go.mod, then
#   (cd tests/helm && GOFLAGS=-mod=mod go mod tidy)
# (the release's go.mod `go` line must not be newer than the local Go).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${ROLLOUTS_DASHBOARD_CACHE:-$HOME/.cache/rollouts-dashboard}"
mkdir -p "$cache_root"
P="${ROLLOUTS_DASHBOARD_BUILD_P:-2}"
export CGO_ENABLED=0

log() { printf '[helm build] %s\n' "$*" >&2; }
modver() { awk -v m="$1" '$1==m && $2 ~ /^v/ {print $2; exit} $1=="require" && $2==m {print $3; exit}' "$2"; }

gover="$(go version)"
hv="$(modver helm.sh/helm/v3 "$here/go.mod")"
cgv="$(modver k8s.io/client-go "$here/go.mod")"   # v0.N.x: the Kubernetes 1.N libraries
[ -n "$hv" ] && [ -n "$cgv" ] || { log "cannot read the helm or client-go version from $here/go.mod"; exit 1; }
kminor="${cgv#v0.}"; kminor="${kminor%%.*}"

# As upstream's Makefile: the version `helm version` prints, and the Kubernetes version that
# `helm template` / `helm lint` assume (.Capabilities.KubeVersion) = the client-go it links.
ldf="-s -w -X helm.sh/helm/v3/internal/version.version=$hv"
ldf+=" -X helm.sh/helm/v3/internal/version.gitCommit=0000000000000000000000000000000000000000"
ldf+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldf+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$kminor"
done
recipe="CGO_ENABLED=0 -trimpath ldflags=$ldf"

hash="$( { cat "$here/go.mod" "$here/go.sum"; echo "$gover"; echo "$recipe"; } | sha256sum | cut -c1-16)"
dir="$cache_root/helm-$hash"

if [ -x "$dir/helm" ] && [ -f "$dir/.complete" ]; then
  log "helm $hv: cached in $dir"
else
  # one builder at a time (several test runs on one machine)
  exec 9>"$cache_root/.helm.lock"
  flock 9
  if [ -f "$dir/.complete" ]; then
    log "helm $hv: built by a concurrent run: $dir"
  else
    tmp="$dir.tmp.$$"
    rm -rf "$tmp"; mkdir -p "$tmp"
    log "helm $hv: building into $dir (go build -p $P; a cold build takes minutes)"
    t0=$(date +%s)
    ( cd "$here" && go build -p "$P" -trimpath -ldflags "$ldf" -o "$tmp/helm" helm.sh/helm/v3/cmd/helm )
    t1=$(date +%s)
    [ -x "$tmp/helm" ] || { log "helm missing after the build"; exit 1; }
    echo "$((t1 - t0))" > "$tmp/.build-seconds"
    echo "$gover" > "$tmp/.go-version"
    touch "$tmp/.complete"
    rm -rf "$dir"; mv "$tmp" "$dir"
    log "helm $hv: built in $((t1 - t0))s"
  fi
  flock -u 9; exec 9>&-
fi
printf "export HELM='%s'\n" "$dir/helm"
