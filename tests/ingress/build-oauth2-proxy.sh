#!/usr/bin/env bash
# Build (or reuse from cache) oauth2-proxy from the Go module proxy, for tests/ingress.
#
# The version is pinned by the wrapper module tests/ingress/oauth2-proxy/go.mod (+ go.sum, so
# no sumdb lookups). The binary goes to
#   $ROLLOUTS_DASHBOARD_CACHE/oauth2-proxy-<hash>/oauth2-proxy   (default cache: ~/.cache/rollouts-dashboard)
# where <hash> = sha256(go.mod, go.sum, `go version`, build flags); a cached binary is reused, so a
# second run takes well under a second. Prints the binary's path on stdout; logs go to stderr.
#
# Env: ROLLOUTS_DASHBOARD_CACHE, ROLLOUTS_DASHBOARD_BUILD_P (go build -p, default 2),
#      GOPROXY/GOMODCACHE/GOCACHE as usual.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD="$HERE/oauth2-proxy"
CACHE="${ROLLOUTS_DASHBOARD_CACHE:-$HOME/.cache/rollouts-dashboard}"
P="${ROLLOUTS_DASHBOARD_BUILD_P:-2}"
log() { printf '[oauth2-proxy build] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed (needed to build oauth2-proxy)"; exit 1; }
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly"
VERSION="$(awk '$1=="github.com/oauth2-proxy/oauth2-proxy/v7" {print $2; exit}' "$MOD/go.mod")"
[ -n "$VERSION" ] || { log "no oauth2-proxy version in $MOD/go.mod"; exit 1; }
LDFLAGS="-s -w -X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$VERSION"
RECIPE="CGO_ENABLED=0 -trimpath -ldflags=$LDFLAGS"
HASH="$( { cat "$MOD/go.mod" "$MOD/go.sum"; go version; echo "$RECIPE"; } | sha256sum | cut -c1-16)"
DIR="$CACHE/oauth2-proxy-$HASH"
BIN="$DIR/oauth2-proxy"

if [ -x "$BIN" ] && [ -f "$DIR/.complete" ]; then
  log "$VERSION: cached in $DIR"
else
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.oauth2-proxy.lock"
  flock 9
  if [ -x "$BIN" ] && [ -f "$DIR/.complete" ]; then
    log "$VERSION: built by a concurrent run: $DIR"
  else
    TMP="$DIR.tmp.$$"
    rm -rf "$TMP"; mkdir -p "$TMP"
    trap 'rm -rf "$TMP"' EXIT
    log "$VERSION: building into $DIR (go build -p $P; a cold build takes minutes)"
    T0=$(date +%s)
    (cd "$MOD" && go build -p "$P" -trimpath -ldflags "$LDFLAGS" -o "$TMP/oauth2-proxy" github.com/oauth2-proxy/oauth2-proxy/v7)
    T1=$(date +%s)
    "$TMP/oauth2-proxy" --version >&2
    echo "$((T1 - T0))" > "$TMP/.build-seconds"
    go version > "$TMP/.go-version"
    touch "$TMP/.complete"
    rm -rf "$DIR"; mv "$TMP" "$DIR"
    trap - EXIT
    log "$VERSION: built in $((T1 - T0))s"
  fi
  flock -u 9; exec 9>&-
fi
echo "$BIN"
