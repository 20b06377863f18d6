#!/usr/bin/env bash
# Starts the image built by tests/image/build.sh the way a cluster runs it (read-only root,
# user 65532, no capabilities) and checks it:
#   - the image: user 65532:65532, entrypoint, port 3100, labels (version = Cargo.toml's,
#     revision = the binary's commit), no shell, size under 30 MB;
#   - --version inside the image names the same version and commit;
#   - --demo: /healthz answers 200, /api/v1/rollouts lists rollouts, /api/v1/status carries
#     the commit, the process runs as uid/gid 65532, and SIGTERM ends it with status 0;
#   - --from-files: the canary fixtures of ../shared, mounted read-only at /data at run
#     time (read in place, never copied into the repository), are what it serves.
#
# Containers run with rootful podman on the host network, with runc: crun refuses this
# machine's hybrid cgroup layout ("cgroups in hybrid mode not supported"). Resource limits
# are the current hard limits (podman's defaults are above them, and even root may not raise
# a hard limit here). Fails loudly; never skips.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO"
ensure_tools

MAX_BYTES=30000000
FIXTURES="$REPO/../shared/fixtures/argo-rollouts-info/canary"
[ -d "$FIXTURES" ] || die "fixtures missing at $FIXTURES (CI provides ../shared beside the repository)"
podman image exists "$IMAGE" || die "$IMAGE is not in local storage: run tests/image/build.sh first"

nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
nproc=$(ulimit -Hu); { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
PODMAN_RUN=(podman --runtime runc run --read-only --user 65532:65532 --network host
  --cap-drop ALL --security-opt no-new-privileges
  --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

started=()
cleanup() {
  for name in "${started[@]}"; do podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

fail=0
check() { # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "  ok   $1: $3"; else echo "  FAIL $1: expected '$2', got '$3'" >&2; fail=1; fi
}

# --- the image as stored ------------------------------------------------------------------
echo "== image $IMAGE"
inspect() { podman image inspect --format "$1" "$IMAGE"; }
size=$(inspect '{{.Size}}')
echo "  size $size bytes ($(( size / 1024 / 1024 )) MiB; limit $MAX_BYTES bytes)"
if [ "$size" -gt "$MAX_BYTES" ]; then echo "  FAIL image is larger than $MAX_BYTES bytes" >&2; fail=1; fi
check user 65532:65532 "$(inspect '{{.Config.User}}')"
check entrypoint '["/usr/local/bin/rollouts-dashboard"]' "$(inspect '{{json .Config.Entrypoint}}')"
check "exposed port" '{"3100/tcp":{}}' "$(inspect '{{json .Config.ExposedPorts}}')"
labels=$(inspect '{{json .Labels}}')
label() { jq -r --arg k "org.opencontainers.image.$1" '.[$k] // "(missing)"' <<<"$labels"; }
check "label version" "$VERSION" "$(label version)"
check "label licenses" Apache-2.0 "$(label licenses)"
[[ "$(label source)" == https://* ]] || { echo "  FAIL label source: $(label source)" >&2; fail=1; }
revision=$(label revision)
check "binary's --version in the image" "rollouts-dashboard $VERSION (commit $revision)" \
  "$("${PODMAN_RUN[@]}" --rm "$IMAGE" --version)"

mnt=$(podman image mount "$IMAGE")
files=$(cd "$mnt" && find . \( -type f -o -type l \) | sort)
podman image unmount "$IMAGE" >/dev/null
echo "  files:"; sed 's/^/    /' <<<"$files"
for f in ./bin/sh ./usr/bin/sh ./bin/bash; do
  if grep -qx "$f" <<<"$files"; then echo "  FAIL the image has a shell ($f)" >&2; fail=1; fi
done
grep -qx ./etc/ssl/certs/ca-certificates.crt <<<"$files" || { echo "  FAIL no CA certificates" >&2; fail=1; }

# --- running it -------------------------------------------------------------------------
# start NAME [podman options --] dashboard flags: runs detached on a free port, waits until it
# logs where it serves, and sets PORT.
start() {
  local name=$1; shift
  local opts=()
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  started+=("$name")
  # The Deployment's environment (deploy/base), but on loopback: --network host shares the
  # machine's interfaces.
  "${PODMAN_RUN[@]}" -d --name "$name" "${opts[@]}" \
    -e ROLLOUTS_DASHBOARD_ADDRESS=127.0.0.1 -e ROLLOUTS_DASHBOARD_PORT=0 \
    -e ROLLOUTS_DASHBOARD_LOG_FORMAT=json -e ROLLOUTS_DASHBOARD_READ_ONLY=true \
    -e MIMALLOC_PURGE_DELAY=0 -e MIMALLOC_ARENA_EAGER_COMMIT=0 \
    "$IMAGE" "$@" >/dev/null
  PORT=""
  for _ in $(seq 1 100); do
    PORT=$(podman logs "$name" 2>&1 | grep -o 'serving http://127\.0\.0\.1:[0-9]*' | head -n1 | sed 's/.*://' || true)
    [ -n "$PORT" ] && break
    [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] || break
    sleep 0.2
  done
  if [ -z "$PORT" ]; then
    podman logs "$name" >&2 || true
    die "$name did not start serving"
  fi
  echo "  $name serves on 127.0.0.1:$PORT"
}
get() { curl -sS --max-time 10 -o "$2" -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }

echo "== --demo"
start rollouts-dashboard-image-demo -- --demo
body=$(mktemp); trap 'cleanup; rm -f "$body"' EXIT
check "/healthz" 200 "$(get /healthz "$body")"
check "/api/v1/rollouts" 200 "$(get /api/v1/rollouts "$body")"
demo_count=$(jq '.rollouts | length' "$body")
if [ "$demo_count" -gt 0 ]; then echo "  ok   demo rollouts: $demo_count"; else echo "  FAIL no demo rollouts" >&2; fail=1; fi
check "/api/v1/status" 200 "$(get /api/v1/status "$body")"
check "status commit" "$revision" "$(jq -r .commit "$body")"
pid=$(podman inspect --format '{{.State.Pid}}' rollouts-dashboard-image-demo)
check "process uids (real, effective, saved, fs)" "65532 65532 65532 65532" \
  "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")"
check "process gids" "65532 65532 65532 65532" "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")"
check "capabilities" 0000000000000000 "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")"
podman stop -t 10 rollouts-dashboard-image-demo >/dev/null
check "exit status after SIGTERM" 0 "$(podman inspect --format '{{.State.ExitCode}}' rollouts-dashboard-image-demo)"

echo "== --from-files (fixtures mounted read-only at /data/canary)"
start rollouts-dashboard-image-files -v "$FIXTURES:/data/canary:ro" -- --from-files /data/canary
check "/healthz" 200 "$(get /healthz "$body")"
check "/api/v1/rollouts" 200 "$(get /api/v1/rollouts "$body")"
want=$(cat "$FIXTURES"/*.yaml | grep -c '^kind: Rollout$')
served=$(jq -r '[.rollouts[].name] | sort | join(" ")' "$body")
check "fixture rollouts served" "$want" "$(jq '.rollouts | length' "$body")"
echo "       $served"
for name in $(cat "$FIXTURES"/*.yaml | awk '/^kind: Rollout$/ { r = 1 } /^kind: / && !/Rollout$/ { r = 0 } r && /^  name: / { print $2; r = 0 }'); do
  grep -qw -- "$name" <<<"$served" || { echo "  FAIL fixture rollout $name not served" >&2; fail=1; }
done
podman stop -t 10 rollouts-dashboard-image-files >/dev/null

[ "$fail" = 0 ] || die "image checks FAILED"
echo "tests/image: all image checks passed ($IMAGE, $size bytes)"
