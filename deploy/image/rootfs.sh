#!/usr/bin/env bash
# Assembles the root filesystem of the rollouts-dashboard image in OUTDIR: the binary
# (stripped), exactly the shared libraries it links (as ldd reports them, with the loader),
# the CA bundle, and /etc/passwd + /etc/group naming the unprivileged user 65532. Nothing
# else: no shell, no package manager, nothing the server writes (it runs on a read-only root).
#
#   deploy/image/rootfs.sh BINARY OUTDIR
#
# Used by both deploy/Containerfile (in its builder stage) and tests/image/build.sh (which
# builds the same image with buildah, without pulling a base image), so the two images hold
# the same files.
set -euo pipefail

die() { echo "deploy/image/rootfs.sh: $*" >&2; exit 1; }
[ "$#" -eq 2 ] || die "usage: rootfs.sh BINARY OUTDIR"
bin=$1 out=$2
[ -x "$bin" ] || die "$bin is not an executable file (build it: cargo build --locked --release --bin rollouts-dashboard)"
for tool in ldd strip; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install -y libc-bin binutils)"
done
certs=/etc/ssl/certs/ca-certificates.crt
[ -s "$certs" ] || die "$certs is missing (Debian: apt-get install -y ca-certificates)"

rm -rf "$out"
mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs"
install -m 0755 "$bin" "$out/usr/local/bin/rollouts-dashboard"
# Symbols are a third of the release binary; panics still name their location.
strip --strip-all "$out/usr/local/bin/rollouts-dashboard"

# Each library at the path the loader looks for it, as a regular file (cp -L follows the
# symlinks of the builder's merged /usr). A static binary lists none.
libs=$(ldd "$bin" 2>&1 || true)
if ! grep -qE 'statically linked|not a dynamic executable' <<<"$libs"; then
  grep -q 'not found' <<<"$libs" && die "unresolved libraries: $libs"
  paths=$(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$libs")
  [ -n "$paths" ] || die "could not read ldd's answer: $libs"
  for lib in $paths; do
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
  done
fi

install -m 0644 "$certs" "$out/etc/ssl/certs/ca-certificates.crt"
# 65532 is the "nonroot" user of distroless images, which Kubernetes manifests often assume.
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$out/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$out/etc/group"
chmod 0644 "$out/etc/passwd" "$out/etc/group"

echo "rootfs in $out:"
(cd "$out" && find . -type f -printf '  %p %s bytes\n' | sort)
