#!/usr/bin/env bash
# Builds the rollouts-dashboard image as deploy/Containerfile describes it, without pulling a
# base image (no image registry is reachable here): `buildah from scratch`, the root
# filesystem from deploy/image/rootfs.sh (the Containerfile's builder stage runs the same
# script), and the user, entrypoint, port and LABEL lines read from deploy/Containerfile.
# Commits it to the local containers-storage as localhost/rollouts-dashboard:<version>.
#
#   tests/image/build.sh            # builds the release binary first (cargo, --locked)
#
# Installs buildah, podman, runc and jq from Debian when missing. Fails loudly: nothing here
# is optional.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO"
ensure_tools

# --- one source for version and revision ------------------------------------------------
# The Containerfile cannot read Cargo.toml for its version label, so its default must match.
cf_version=$(sed -n 's/^ARG VERSION=\(.*\)$/\1/p' "$CONTAINERFILE")
[ "$cf_version" = "$VERSION" ] \
  || die "deploy/Containerfile has ARG VERSION=$cf_version but Cargo.toml says $VERSION: update the Containerfile"

say "building the release binary"
t0=$(date +%s)
cargo build --locked --release --bin rollouts-dashboard
say "release build took $(( $(date +%s) - t0 ))s"
BIN="$REPO/target/release/rollouts-dashboard"

# The revision label is the commit the binary reports (build.rs), so the two cannot differ.
version_line=$("$BIN" --version)
[[ "$version_line" =~ ^rollouts-dashboard\ ([^ ]+)\ \(commit\ ([^\)]+)\)$ ]] \
  || die "unexpected --version output: $version_line"
[ "${BASH_REMATCH[1]}" = "$VERSION" ] || die "binary says version ${BASH_REMATCH[1]}, Cargo.toml $VERSION"
REVISION=${BASH_REMATCH[2]}
say "image $IMAGE, revision $REVISION"

# --- the files ---------------------------------------------------------------------------
work=$(mktemp -d)
ctr=""
cleanup() {
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bash "$REPO/deploy/image/rootfs.sh" "$BIN" "$work/rootfs"

# --- the image, configured from the Containerfile's final stage --------------------------
# The lines after `FROM scratch`: USER, EXPOSE, ENTRYPOINT and LABEL are applied; anything
# else there (other than ARG and COPY of the rootfs) is an instruction this script does not
# know, and fails the build rather than silently differing.
final=$(awk '/^FROM scratch/ { on = 1; next } on && /^[A-Z]/' "$CONTAINERFILE")
[ -n "$final" ] || die "no 'FROM scratch' stage in $CONTAINERFILE"
config=()
while IFS= read -r line; do
  instr=${line%% *} rest=${line#* }
  case "$instr" in
    ARG) ;;
    COPY) [ "$rest" = "--from=builder /rootfs/ /" ] || die "unexpected COPY in the final stage: $line" ;;
    USER) config+=(--user "$rest") ;;
    # docker records `EXPOSE 3100` as 3100/tcp; buildah would record a bare 3100.
    EXPOSE) [[ "$rest" == */* ]] || rest=$rest/tcp; config+=(--port "$rest") ;;
    ENTRYPOINT) config+=(--entrypoint "$rest") ;;
    LABEL)
      [[ "$rest" =~ ^([a-z0-9.]+)=\"(.*)\"$ ]] || die "LABEL must be one key=\"value\" per line: $line"
      key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
      value=${value//'${VERSION}'/$VERSION}
      value=${value//'${REVISION}'/$REVISION}
      [[ "$value" != *'$'* ]] || die "unknown variable in $line"
      config+=(--label "$key=$value")
      ;;
    *) die "tests/image/build.sh does not know '$instr' in the final stage: $line" ;;
  esac
done <<<"$final"

previous=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$work/rootfs" / >/dev/null
buildah config --cmd '' "${config[@]}" "$ctr"
buildah commit --quiet --rm "$ctr" "$IMAGE" >/dev/null
ctr=""
# The image this tag named before, now untagged: removed so rebuilds do not pile up.
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
  podman rmi "$previous" >/dev/null 2>&1 || true
fi
say "committed $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"
