#!/usr/bin/env bash
# The Ingress path, for real (issue #16): headless Chromium → nginx (Debian's, TLS, /rollouts,
# deploy/ingress/nginx-*.conf) → oauth2-proxy (built from the Go module proxy, htpasswd sign-in,
# deploy/ingress/oauth2-proxy.cfg) → rollouts-dashboard --auth proxy --base-path /rollouts → the
# real test cluster, with RBAC for two users. The browser part is ingress.test.mjs.
#
# Needs a running test cluster (tests/cluster/cluster.sh up NAME; eval "$(... env NAME)"):
# KUBECONFIG set and kubectl on PATH. Installs nginx (apt) if missing, builds oauth2-proxy
# (cached), uses ROLLOUTS_DASHBOARD_BIN or builds target/debug/rollouts-dashboard. Every process
# binds 127.0.0.1 and is stopped on exit, failure included. Never skips: a missing piece fails.
#
# Env: ROLLOUTS_DASHBOARD_INGRESS_KEEP=1 keeps the temp dir (configs, logs) after the run.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
T0=$(date +%s)
log() { printf '[ingress +%ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- prerequisites (never skipped) ---------------------------------------------------------
[ -n "${KUBECONFIG:-}" ] && [ -f "$KUBECONFIG" ] \
  || die "KUBECONFIG is not set or missing: bring the test cluster up first (tests/cluster/cluster.sh up NAME; eval \"\$(tests/cluster/cluster.sh env NAME)\")"
command -v kubectl >/dev/null || die "kubectl is not on PATH (eval the cluster env)"
kubectl get --raw /readyz >/dev/null || die "the cluster at $KUBECONFIG does not answer"
for tool in openssl curl python3 node go; do command -v "$tool" >/dev/null || die "$tool is missing"; done

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "installing $* (Debian packages)"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$@"
}
NGINX="$(command -v nginx || true)"
[ -n "$NGINX" ] || { [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx; } || true
if [ -z "$NGINX" ]; then
  apt_install nginx
  NGINX=/usr/sbin/nginx
fi
[ -x "$NGINX" ] || die "nginx is not installed ($NGINX)"
[ -x /usr/bin/chromium ] || apt_install chromium
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing"
if [ ! -d "$REPO/tests/browser/node_modules/playwright-core" ]; then
  (cd "$REPO/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# The settings under test are the ones the overlay deploys (deploy/README.md says so).
python3 "$HERE/check-overlay.py" >&2 || die "deploy/ingress/oauth2-proxy.cfg and the overlay's oauth2-proxy flags differ"

OAUTH2_PROXY="$(bash "$HERE/build-oauth2-proxy.sh")"
[ -x "$OAUTH2_PROXY" ] || die "oauth2-proxy was not built"
if [ -z "${ROLLOUTS_DASHBOARD_BIN:-}" ]; then
  (cd "$REPO" && cargo build --locked --bin rollouts-dashboard)
  ROLLOUTS_DASHBOARD_BIN="$REPO/target/debug/rollouts-dashboard"
fi
[ -x "$ROLLOUTS_DASHBOARD_BIN" ] || die "not an executable: $ROLLOUTS_DASHBOARD_BIN"
log "nginx: $("$NGINX" -v 2>&1); oauth2-proxy: $("$OAUTH2_PROXY" --version 2>&1); dashboard: $("$ROLLOUTS_DASHBOARD_BIN" --version)"

# ---- state, cleanup ------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rd-ingress.XXXXXX")"
SUFFIX="$$"
export RD_INGRESS_NS_A="team-a-$SUFFIX" RD_INGRESS_NS_B="team-b-$SUFFIX"
export RD_INGRESS_ALICE="alice-$SUFFIX" RD_INGRESS_BOB="bob-$SUFFIX"
PIDS=()
NODE_PID=""
cleanup() {
  local rc=$? pid
  if [ -n "$NODE_PID" ]; then
    kill -TERM -- "-$NODE_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 -- "-$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$NODE_PID" 2>/dev/null || true
  fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  kubectl delete namespace "$RD_INGRESS_NS_A" "$RD_INGRESS_NS_B" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    for f in dashboard.log oauth2-proxy.log nginx-error.log nginx-access.log; do
      [ -f "$WORK/$f" ] && { echo "----- last lines of $f" >&2; tail -n 40 "$WORK/$f" >&2; }
    done
  fi
  if [ "${ROLLOUTS_DASHBOARD_INGRESS_KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then
    log "kept $WORK (configs and logs)"
  else
    rm -rf "$WORK"
  fi
  log "finished with status $rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_for WHAT SECONDS PID CMD...: poll CMD until it succeeds; false if PID exits or time runs out.
wait_for() {
  local what="$1" secs="$2" pid="$3"; shift 3
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { log "$what exited before it was ready"; return 1; }
    [ "$(date +%s)" -lt "$end" ] || { log "$what was not ready within ${secs}s"; return 1; }
    sleep 0.2
  done
}

# ---- TLS certificate and users, made now ---------------------------------------------------
HOST="dash.rollouts.test"   # Chromium maps it to 127.0.0.1 (--host-resolver-rules)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$HOST" \
  -addext "subjectAltName=DNS:$HOST,IP:127.0.0.1" \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
export RD_INGRESS_ALICE_PASSWORD RD_INGRESS_BOB_PASSWORD
RD_INGRESS_ALICE_PASSWORD="$(openssl rand -hex 12)"
RD_INGRESS_BOB_PASSWORD="$(openssl rand -hex 12)"
# htpasswd entries: bcrypt (what `htpasswd -B` writes), from the system's crypt(3).
python3 -W ignore - "$WORK/htpasswd" <<'PY'
import crypt, os, sys
with open(sys.argv[1], "w") as f:
    for user, pw in ((os.environ["RD_INGRESS_ALICE"], os.environ["RD_INGRESS_ALICE_PASSWORD"]),
                     (os.environ["RD_INGRESS_BOB"], os.environ["RD_INGRESS_BOB_PASSWORD"])):
        h = crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
        assert h and h.startswith("$2"), "crypt(3) has no bcrypt"
        f.write(f"{user}:{h}\n")
PY
COOKIE_SECRET="$(openssl rand -base64 32 | tr -- '+/' '-_')"

# ---- the dashboard -------------------------------------------------------------------------
log "starting the dashboard (--auth proxy --base-path /rollouts)"
NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}" "$ROLLOUTS_DASHBOARD_BIN" --kubeconfig "$KUBECONFIG" \
  --address 127.0.0.1 --port 0 --base-path /rollouts \
  --auth proxy --auth-proxy-trusted 127.0.0.1/32 \
  --auth-proxy-user-header X-Forwarded-User --auth-proxy-groups-header X-Forwarded-Groups \
  --allowed-host "$HOST" >"$WORK/dashboard.log" 2>&1 &
DASH_PID=$!; PIDS+=("$DASH_PID")
dash_url() { sed -n 's/\x1b\[[0-9;]*m//g; /rollouts-dashboard is serving http/{s/.*rollouts-dashboard is serving \(http:\/\/[^ ]*\/\).*/\1/p;q;}' "$WORK/dashboard.log"; }
has_dash_url() { [ -n "$(dash_url)" ]; }
wait_for "the dashboard" 120 "$DASH_PID" has_dash_url || die "the dashboard did not start"
DASH_URL="$(dash_url)"   # http://127.0.0.1:PORT/rollouts/
DASH_PORT="$(echo "$DASH_URL" | sed -E 's#http://127\.0\.0\.1:([0-9]+)/.*#\1#')"
wait_for "the dashboard's /readyz" 120 "$DASH_PID" curl -fsS "http://127.0.0.1:$DASH_PORT/rollouts/readyz" \
  || die "the dashboard is not ready"
log "dashboard: $DASH_URL"

# ---- oauth2-proxy: deploy/ingress/oauth2-proxy.cfg + this run's address, upstream, users ----
start_oauth2_proxy() {
  O2P_PORT="$(free_port)"
  "$OAUTH2_PROXY" --config "$REPO/deploy/ingress/oauth2-proxy.cfg" \
    --http-address "127.0.0.1:$O2P_PORT" \
    --upstream "http://127.0.0.1:$DASH_PORT/rollouts/" \
    --htpasswd-file "$WORK/htpasswd" \
    --client-id unused-with-htpasswd --client-secret unused-with-htpasswd \
    --cookie-secret "$COOKIE_SECRET" >"$WORK/oauth2-proxy.log" 2>&1 &
  O2P_PID=$!; PIDS+=("$O2P_PID")
}
for attempt in 1 2 3; do
  start_oauth2_proxy
  if wait_for "oauth2-proxy" 30 "$O2P_PID" curl -fsS "http://127.0.0.1:$O2P_PORT/rollouts/healthz"; then
    break
  fi
  kill "$O2P_PID" 2>/dev/null || true; wait "$O2P_PID" 2>/dev/null || true
  grep -q 'address already in use' "$WORK/oauth2-proxy.log" && [ "$attempt" -lt 3 ] || die "oauth2-proxy did not start: $(tail -n 5 "$WORK/oauth2-proxy.log")"
done
log "oauth2-proxy: http://127.0.0.1:$O2P_PORT/rollouts/ (skip-auth route healthz answers)"

# ---- nginx: the template holds only addresses, ports and paths around deploy/ingress/ -------
mkdir -p "$WORK/nginx-tmp"
if [ "$(id -u)" = 0 ]; then
  # root's nginx runs its workers as nobody: they must reach their temp dirs.
  chmod 755 "$WORK"; chown nobody "$WORK/nginx-tmp"
fi
start_nginx() {
  NGINX_PORT="$(free_port)"
  cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections 256; }
http {
    access_log $WORK/nginx-access.log;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    include $REPO/deploy/ingress/nginx-http.conf;
    upstream rollouts_dashboard { server 127.0.0.1:$O2P_PORT; }
    server {
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        server_name $HOST;
        ssl_certificate $WORK/tls.crt;
        ssl_certificate_key $WORK/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        include $REPO/deploy/ingress/nginx-rollouts.conf;
        location / { return 404; }
    }
}
EOF
  "$NGINX" -t -q -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" || die "nginx -t failed"
  "$NGINX" -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" -g 'daemon off;' >>"$WORK/nginx-error.log" 2>&1 &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
}
nginx_up() { curl -fsS --cacert "$WORK/tls.crt" --resolve "$HOST:$NGINX_PORT:127.0.0.1" "https://$HOST:$NGINX_PORT/rollouts/healthz"; }
for attempt in 1 2 3; do
  start_nginx
  if wait_for "nginx" 30 "$NGINX_PID" nginx_up; then break; fi
  kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true
  grep -q 'Address already in use' "$WORK/nginx-error.log" && [ "$attempt" -lt 3 ] || die "nginx did not start: $(tail -n 5 "$WORK/nginx-error.log")"
done
export RD_INGRESS_URL="https://$HOST:$NGINX_PORT/rollouts/"
export RD_INGRESS_HOST="$HOST" RD_INGRESS_PORT="$NGINX_PORT" RD_INGRESS_CA="$WORK/tls.crt"
export RD_INGRESS_OAUTH2_PROXY_URL="http://127.0.0.1:$O2P_PORT/rollouts/" RD_INGRESS_DASHBOARD_URL="$DASH_URL"
export RD_INGRESS_KUBECONFIG="$KUBECONFIG"
log "nginx: $RD_INGRESS_URL (TLS, HTTP/2; healthz through the whole chain answers)"

# ---- the browser test ----------------------------------------------------------------------
log "running ingress.test.mjs (about 3.5 minutes: two minutes of live updates, then 80 quiet seconds)"
# In its own process group, waited for with `wait` (which a signal interrupts, so the traps run
# at once); cleanup stops the whole group (node, its test process and Chromium).
cd "$HERE"
mkdir -p "$WORK/tmp"   # Chromium's profiles too: removed with $WORK whatever happens to the test
TMPDIR="$WORK/tmp" setsid node --test --test-concurrency=1 --test-timeout=600000 ingress.test.mjs &
NODE_PID=$!
cd "$REPO"
# (this script has no job control, so setsid did not fork: node leads its own group)
[ "$(ps -o pgid= -p "$NODE_PID" | tr -d ' ')" = "$NODE_PID" ] || die "node is not its own process group"
set +e
wait "$NODE_PID"
STATUS=$?
set -e
NODE_PID=""
for pid in "$DASH_PID" "$O2P_PID" "$NGINX_PID"; do
  kill -0 "$pid" 2>/dev/null || { log "a process of the chain died during the test (pid $pid)"; STATUS=1; }
done
[ "$STATUS" -eq 0 ] || die "ingress.test.mjs failed"
log "passed"
