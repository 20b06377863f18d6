# Shared by tests/image/build.sh and tests/image/run.sh (sourced, not run): where things are,
# the image's name, and the tools, installed from Debian's packages when missing.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONTAINERFILE="$REPO/deploy/Containerfile"

die() { echo "tests/image: ERROR: $*" >&2; exit 1; }
say() { echo "tests/image: $*"; }

# The version is Cargo.toml's; the image tag, the version label and the binary's --version
# all come from it.
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO/Cargo.toml" | head -n1)
[ -n "$VERSION" ] || die "no version in $REPO/Cargo.toml"
IMAGE="localhost/rollouts-dashboard:$VERSION"

# buildah builds, podman runs and inspects (both use the local containers-storage), jq
# reads their JSON. Installed here, never by hand, so a fresh machine or CI has them too.
ensure_tools() {
  local missing=()
  for tool in buildah podman runc jq; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "${missing[*]} missing and not root: apt-get install -y ${missing[*]}"
  say "installing ${missing[*]} (Debian packages)"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
  for tool in "${missing[@]}"; do
    command -v "$tool" >/dev/null || die "$tool still missing after apt-get install"
  done
}
