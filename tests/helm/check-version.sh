#!/usr/bin/env bash
# The chart's appVersion (the image tag it defaults to) must be the dashboard's version, whose
# one source is Cargo.toml. Needs nothing but sed; deploy/check.sh runs it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cargo=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n1)
chart=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$repo/deploy/helm/rollouts-dashboard/Chart.yaml")
[ -n "$cargo" ] || { echo "FAIL: no version in Cargo.toml" >&2; exit 1; }
if [ "$cargo" != "$chart" ]; then
  echo "FAIL: deploy/helm/rollouts-dashboard/Chart.yaml has appVersion '$chart' but Cargo.toml says '$cargo': update appVersion (and bump the chart's version)" >&2
  exit 1
fi
echo "ok   Chart.yaml appVersion $chart = Cargo.toml version"
