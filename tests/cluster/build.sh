#!/usr/bin/env bash
# Build (or reuse from cache) every binary the test cluster needs, from the Go module proxy:
#   controlplane: etcd kube-apiserver kube-controller-manager kube-scheduler kubectl  (k8s.io/kubernetes)
#   rollouts:     rollouts-controller kubectl-argo-rollouts                           (argoproj/argo-rollouts v1.9)
#   or, with ROLLOUTS_DASHBOARD_ARGO=v1.10, the same two from rollouts-v1.10/         (argoproj/argo-rollouts v1.10)
#   kwok:         kwok kwokctl                                                        (sigs.k8s.io/kwok)
#
# Each component is built from its wrapper module (tests/cluster/<component>/go.mod + go.sum) into
#   $ROLLOUTS_DASHBOARD_CACHE/cluster/<component>-<hash>/     (default cache: ~/.cache/rollouts-dashboard)
# where <hash> = sha256(go.mod, go.sum, `go version`, build flags). A component whose cached
# binaries exist is skipped, so a second run takes well under a second.
#
# rollouts-v1.10 (argo-rollouts v1.10.2) says `go 1.26.10`, newer than the machine's Go. It alone is
# built with GOTOOLCHAIN=go1.27.3 (the one approved newer Go; the go command fetches it from the
# module proxy once, ~76 MB), and its <hash> takes `go version` under that toolchain.
#
# Usage:
#   tests/cluster/build.sh              # build; log to stderr; print `export VAR=...` lines on stdout
#   eval "$(tests/cluster/build.sh)"    # ... and take the variables into the current shell
#   source tests/cluster/build.sh       # same, exports directly (also prepends the bin dir to PATH)
#
# Exported variables:
#   ROLLOUTS_DASHBOARD_CLUSTER_BIN   directory with (symlinks to) all binaries
#   ROLLOUTS_DASHBOARD_CRDS          directory with the five Argo Rollouts CRD YAML files
#   ROLLOUTS_DASHBOARD_KUBE_VERSION  e.g. v1.34.4
#   ROLLOUTS_DASHBOARD_ARGO_VERSION  e.g. v1.9.2 or v1.10.2
#
# Env: ROLLOUTS_DASHBOARD_CACHE (cache root), GOFLAGS/GOPROXY/GOMODCACHE/GOCACHE as usual,
#      ROLLOUTS_DASHBOARD_BUILD_P (go build -p, default 2),
#      ROLLOUTS_DASHBOARD_ARGO (v1.9, the default, or v1.10: which Argo Rollouts wrapper to use).

_rdb_main() {
  set -euo pipefail
  local here repo cache_root
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  repo="$(cd "$here/../.." && pwd)"
  cache_root="${ROLLOUTS_DASHBOARD_CACHE:-$HOME/.cache/rollouts-dashboard}/cluster"
  mkdir -p "$cache_root"

  local P="${ROLLOUTS_DASHBOARD_BUILD_P:-2}"
  local gover; gover="$(go version)"
  export CGO_ENABLED=0

  log() { printf '[build] %s\n' "$*" >&2; }
  modver() { awk -v m="$1" '$1==m && $2 ~ /^v/ {print $2; exit} $1=="require" && $2==m {print $3; exit}' "$2"; }

  # which Argo Rollouts wrapper, and the toolchain it needs (empty: the machine's own Go)
  local argo_mod argo_toolchain=""
  case "${ROLLOUTS_DASHBOARD_ARGO:-v1.9}" in
    v1.9|v1.9.*) argo_mod=rollouts ;;
    v1.10|v1.10.*) argo_mod=rollouts-v1.10; argo_toolchain=go1.27.3 ;;
    *) log "ROLLOUTS_DASHBOARD_ARGO must be v1.9 or v1.10, not '${ROLLOUTS_DASHBOARD_ARGO}'"; return 2 ;;
  esac

  local kv av kwv
  kv="$(modver k8s.io/kubernetes "$here/controlplane/go.mod")"
  av="$(modver github.com/argoproj/argo-rollouts "$here/$argo_mod/go.mod")"
  kwv="$(modver sigs.k8s.io/kwok "$here/kwok/go.mod")"
  local kminor="${kv#v1.}"; kminor="${kminor%%.*}"

  # k8s version stamping, as upstream hack/lib/version.sh does.
  local k8s_ldf="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldf+=" -X $p.gitVersion=$kv -X $p.gitMajor=1 -X $p.gitMinor=$kminor"
    k8s_ldf+=" -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.gitTreeState=clean"
    k8s_ldf+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  local argo_ldf="" ap=github.com/argoproj/argo-rollouts/utils/version
  argo_ldf="-X $ap.version=${av#v} -X $ap.gitTag=$av -X $ap.gitCommit=0000000000000000000000000000000000000000"
  argo_ldf+=" -X $ap.gitTreeState=clean -X $ap.buildDate=1970-01-01T00:00:00Z"
  local k8s_tags="selinux,notest"

  # recipe strings are part of the cache key, so changing flags rebuilds
  local recipe_controlplane="tags=$k8s_tags ldflags=-s -w $k8s_ldf; etcd"
  local recipe_rollouts="ldflags=-s -w $argo_ldf; crds"
  local recipe_kwok="ldflags=-s -w"

  # build_component NAME RECIPE BUILDER TOOLCHAIN BINARIES... ; the commands are in BUILDER,
  # run in the wrapper module NAME/ with GOTOOLCHAIN=TOOLCHAIN when that is not empty.
  # Sets $built_dir to the component's cache dir.
  build_component() {
    local name="$1" recipe="$2" builder="$3" toolchain="$4"; shift 4
    local mod="$here/$name" hash dir gv="$gover"
    # only this component's go commands see the toolchain (the others keep the machine's Go)
    if [ -n "$toolchain" ]; then gv="$(cd "$mod" && GOTOOLCHAIN="$toolchain" go version)"; fi
    hash="$( { cat "$mod/go.mod" "$mod/go.sum"; echo "$gv"; echo "$recipe"; } | sha256sum | cut -c1-16)"
    dir="$cache_root/$name-$hash"
    local ok=1 b
    for b in "$@"; do [ -x "$dir/$b" ] || ok=0; done
    if [ "$ok" = 1 ] && [ -f "$dir/.complete" ]; then
      log "$name: cached in $dir"
    else
      # one builder per component at a time (concurrent `up` of several clusters)
      exec 9>"$cache_root/.$name.lock"
      flock 9
      if [ -f "$dir/.complete" ]; then
        log "$name: built by a concurrent run: $dir"
      else
        local tmp="$dir.tmp.$$" t0 t1
        rm -rf "$tmp"; mkdir -p "$tmp"
        log "$name: building into $dir (go build -p $P; a cold build takes many minutes)"
        t0=$(date +%s)
        ( cd "$mod"; if [ -n "$toolchain" ]; then export GOTOOLCHAIN="$toolchain"; fi; "$builder" "$tmp" )
        t1=$(date +%s)
        for b in "$@"; do [ -x "$tmp/$b" ] || { log "$name: missing $b after build"; return 1; }; done
        echo "$((t1 - t0))" > "$tmp/.build-seconds"
        echo "$gv" > "$tmp/.go-version"
        touch "$tmp/.complete"
        rm -rf "$dir"; mv "$tmp" "$dir"
        log "$name: built in $((t1 - t0))s"
      fi
      flock -u 9; exec 9>&-
    fi
    built_dir="$dir"
  }

  build_controlplane() {
    local out="$1"
    go build -p "$P" -trimpath -tags "$k8s_tags" -ldflags "-s -w $k8s_ldf" -o "$out/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
    # etcd at the version k8s.io/kubernetes itself selects (see go.mod); main package is the module root
    go build -p "$P" -trimpath -tags "$k8s_tags" -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  }
  build_rollouts() {
    local out="$1" src
    go build -p "$P" -trimpath -ldflags "-s -w $argo_ldf" -o "$out/" \
      github.com/argoproj/argo-rollouts/cmd/rollouts-controller \
      github.com/argoproj/argo-rollouts/cmd/kubectl-argo-rollouts
    # fallback copy of the CRDs (module zip contains manifests/crds)
    src="$(go list -m -f '{{.Dir}}' github.com/argoproj/argo-rollouts)"
    mkdir -p "$out/crds"
    cp "$src"/manifests/crds/*-crd.yaml "$out/crds/"
    chmod -R u+w "$out/crds"
  }
  build_kwok() {
    local out="$1"
    go build -p "$P" -trimpath -ldflags "-s -w" -o "$out/" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
  }

  local dir_controlplane dir_rollouts dir_kwok built_dir
  local T0; T0=$(date +%s)
  build_component controlplane "$recipe_controlplane" build_controlplane "" \
    etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
  dir_controlplane="$built_dir"
  build_component "$argo_mod" "$recipe_rollouts" build_rollouts "$argo_toolchain" rollouts-controller kubectl-argo-rollouts
  dir_rollouts="$built_dir"
  build_component kwok "$recipe_kwok" build_kwok "" kwok kwokctl
  dir_kwok="$built_dir"

  # one directory with symlinks to everything, keyed by the three component dirs
  local bh bin f
  bh="$(printf '%s\n' "$dir_controlplane" "$dir_rollouts" "$dir_kwok" | sha256sum | cut -c1-16)"
  bin="$cache_root/bin-$bh"
  if [ ! -f "$bin/.complete" ]; then
    local tmpb="$bin.tmp.$$"
    rm -rf "$tmpb"; mkdir -p "$tmpb"
    for f in "$dir_controlplane"/* "$dir_rollouts"/* "$dir_kwok"/*; do
      [ -f "$f" ] && [ -x "$f" ] && ln -sf "$f" "$tmpb/$(basename "$f")"
    done
    touch "$tmpb/.complete"
    if ! mv -T "$tmpb" "$bin" 2>/dev/null; then rm -rf "$tmpb"; fi
  fi

  # the shared fixtures hold v1.9.2's CRDs; any other version takes its own from the module zip
  local crds="$repo/../shared/fixtures/argo-rollouts-crds"
  if [ "$argo_mod" != rollouts ] || [ "$(ls "$crds"/*-crd.yaml 2>/dev/null | wc -l)" -ne 5 ]; then
    crds="$dir_rollouts/crds"
  fi
  crds="$(cd "$crds" && pwd)"

  log "all binaries ready in $(( $(date +%s) - T0 ))s: $bin"
  _RDB_OUT="export ROLLOUTS_DASHBOARD_CLUSTER_BIN='$bin'
export ROLLOUTS_DASHBOARD_CRDS='$crds'
export ROLLOUTS_DASHBOARD_KUBE_VERSION='$kv'
export ROLLOUTS_DASHBOARD_ARGO_VERSION='$av'
export ROLLOUTS_DASHBOARD_KWOK_VERSION='$kwv'"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # sourced: run in a subshell so `set -e` and helpers do not leak, then export
  _RDB_OUT="$( _rdb_main >/dev/null && printf '%s\n' "$_RDB_OUT" )" || { echo "[build] failed" >&2; return 1; }
  eval "$_RDB_OUT"; unset _RDB_OUT
  export PATH="$ROLLOUTS_DASHBOARD_CLUSTER_BIN:$PATH"
else
  _rdb_main
  printf '%s\n' "$_RDB_OUT"
fi
