#!/usr/bin/env bash
# Runs every test of rollouts-dashboard, as CI does (.ci/run calls this), printing the time of
# each phase. Installs what the tests need through the project's own scripts:
#   1. Rust: cargo fmt --check, clippy -D warnings, unit + integration tests (fixtures in ../shared)
#   2. Web: npm ci, typecheck, unit tests, rebuild the bundle and fail if static/ drifted
#   3. Image (tests/image): release build, image built with buildah, run read-only with podman
#   4. Real cluster (tests/cluster: built from the Go module proxy, cached): end-to-end tests;
#      deploy/check.sh: the kustomize manifests and the Helm chart (Helm built by tests/helm);
#      then a second cluster running the newer Argo Rollouts (v1.10.2 beside v1.9.2; built with
#      GOTOOLCHAIN=go1.27.3 by tests/cluster/build.sh) and the actions suite (e2e_cluster) on it,
#      then the fleet suite (e2e_fleet): one dashboard on both clusters at once
#   5. Browser tests in headless Chromium (tests/browser)
#   6. Benchmark smoke run (tests/bench), so the harness cannot rot
#   Ingress chain with the cluster (tests/ingress): Chromium → nginx → oauth2-proxy → dashboard
# Env: SKIP_IMAGE=1 / SKIP_CLUSTER=1 / SKIP_BROWSER=1 / SKIP_BENCH=1 / SKIP_INGRESS=1 skip a phase locally; with CI=true
# nothing may be skipped (the run fails instead).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

T0=$(date +%s)
PHASE=""; PHASE_T0=$T0
SUMMARY=()
phase() {
  local now; now=$(date +%s)
  if [ -n "$PHASE" ]; then
    SUMMARY+=("$(printf '%-28s %5ss' "$PHASE" "$((now - PHASE_T0))")")
    echo "=== phase '$PHASE' took $((now - PHASE_T0))s"
  fi
  PHASE="$1"; PHASE_T0=$now
  [ -n "$PHASE" ] && echo "=== phase '$PHASE' (t=$((now - T0))s)"
  return 0
}
skipping() { # skipping VAR PHASE
  if [ "${!1:-}" = "1" ]; then
    if [ "${CI:-}" = "true" ]; then echo "ERROR: $1=1 is not allowed in CI ($2 must run)" >&2; exit 1; fi
    echo "=== SKIPPING $2 ($1=1; never allowed in CI)"; return 0
  fi
  return 1
}

[ -d "$REPO/../shared/fixtures/argo-rollouts-info" ] || {
  echo "ERROR: ../shared/fixtures is missing beside the repository; the tests read fixtures from it" >&2; exit 1; }

phase "rust: fmt + clippy"
cargo fmt --all -- --check
cargo clippy --all-targets --all-features --locked -- -D warnings

phase "rust: unit + integration"
cargo test --locked 2>&1 | tee /tmp/rollouts-dashboard-cargo-test.log
cargo build --locked --bin rollouts-dashboard
export ROLLOUTS_DASHBOARD_BIN="$REPO/target/debug/rollouts-dashboard"

phase "web: build + drift check"
npm --prefix web ci --no-audit --no-fund
npm --prefix web run typecheck
npm --prefix web test
npm --prefix web run build
if ! git diff --exit-code --stat -- static/ || [ -n "$(git status --porcelain -- static/)" ]; then
  git status --porcelain -- static/
  echo "ERROR: static/ differs from a fresh build of web/: run 'npm --prefix web run build' and commit static/" >&2
  exit 1
fi
# The TypeScript protocol types are written from the Rust types by `cargo test` (ts-rs, in
# src/protocol.rs), which ran above: they must be the committed ones.
GENERATED=web/src/api/generated
if ! git diff --exit-code --stat -- "$GENERATED" || [ -n "$(git status --porcelain -- "$GENERATED")" ]; then
  git status --porcelain -- "$GENERATED"
  echo "ERROR: $GENERATED differs from the Rust types: run 'cargo test --lib typescript' and commit $GENERATED" >&2
  exit 1
fi

if ! skipping SKIP_IMAGE "image build + run"; then
  phase "image: build + run"
  bash tests/image/build.sh
  bash tests/image/run.sh
fi

CLUSTER=""
CLUSTER_NEW=""  # the second cluster (newer Argo Rollouts), while it is up
# down_cluster RC NAME: `down`, keeping the Argo controller's log first when RC says the run
# failed (the cluster's state dir goes with `down`).
down_cluster() {
  local rc="$1" name="$2" log
  log="$(tests/cluster/cluster.sh env "$name" 2>/dev/null | sed -n "s/^export ROLLOUTS_DASHBOARD_CONTROLLER_LOG='\(.*\)'$/\1/p")"
  if [ "$rc" -ne 0 ] && [ -f "$log" ]; then
    cp "$log" "/tmp/rollouts-dashboard-controller-$name.log" \
      && echo "controller log kept in /tmp/rollouts-dashboard-controller-$name.log" >&2
  fi
  tests/cluster/cluster.sh down "$name" || true
}
cleanup() {
  local rc=$?
  if [ -n "$CLUSTER_NEW" ]; then down_cluster "$rc" "$CLUSTER_NEW"; fi
  if [ -n "$CLUSTER" ]; then down_cluster "$rc" "$CLUSTER"; fi
}
trap cleanup EXIT

if ! skipping SKIP_CLUSTER "cluster end-to-end tests"; then
  phase "cluster: build + up"
  CLUSTER="ci-$$"
  tests/cluster/cluster.sh up "$CLUSTER"
  eval "$(tests/cluster/cluster.sh env "$CLUSTER")"
  export ROLLOUTS_DASHBOARD_E2E_KUBECONFIG="$KUBECONFIG"
  phase "cluster: end-to-end tests"
  cargo test --locked --features e2e --test e2e_cluster -- --test-threads=1 2>&1 | tee /tmp/rollouts-dashboard-e2e.log
  phase "cluster: security end-to-end tests"
  cargo test --locked --features e2e --test e2e_security -- --test-threads=1
  phase "cluster: several replicas (token sessions, sign-out on all)"
  cargo test --locked --features e2e --test e2e_replicas -- --test-threads=1
  phase "cluster: API server outage and recovery"
  cargo test --locked --features e2e --test e2e_recovery -- --test-threads=1 --nocapture
  phase "helm: build (pinned, cached)"
  helm_env=$(bash tests/helm/build.sh)  # HELM: v3.22.0 from the Go module proxy (tests/helm)
  eval "$helm_env"
  export HELM
  phase "cluster: deploy/ manifests (server-side dry run)"
  bash deploy/check.sh                 # kustomize variants and the Helm chart (deploy/helm)

  # Mixed versions: the actions suite again, on a second cluster with Argo Rollouts v1.10.2 (its
  # rollouts-controller and CRDs; the first cluster runs v1.9.2). Only the actions suite: the
  # security and outage suites test the dashboard and the API server, not the controller. The
  # cluster goes down right after, so the later phases run beside one cluster only.
  phase "cluster v1.10: build + up"
  CLUSTER_NEW="ci110-$$"
  tests/cluster/cluster.sh up "$CLUSTER_NEW" --argo v1.10 >/dev/null
  phase "cluster v1.10: end-to-end tests"
  (
    eval "$(tests/cluster/cluster.sh env "$CLUSTER_NEW")"
    export ROLLOUTS_DASHBOARD_E2E_KUBECONFIG="$KUBECONFIG"
    cargo test --locked --features e2e --test e2e_cluster -- --test-threads=1 2>&1 \
      | tee /tmp/rollouts-dashboard-e2e-v1.10.log
  )
  # The fleet (#14): one dashboard on both clusters at once (v1.9.2 and v1.10.2): both lists,
  # the same namespace/name in both, actions to the right one, per-cluster RBAC, and the
  # second cluster's API server stopped and started again (one test at a time: that outage
  # must not hit another test's requests).
  phase "fleet: two clusters end-to-end"
  (
    ROLLOUTS_DASHBOARD_E2E_KUBECONFIG_2="$(tests/cluster/cluster.sh env "$CLUSTER_NEW" \
      | sed -n "s/^export KUBECONFIG='\(.*\)'$/\1/p")"
    export ROLLOUTS_DASHBOARD_E2E_KUBECONFIG_2
    export ROLLOUTS_DASHBOARD_E2E_CLUSTER_NAME_2="$CLUSTER_NEW"
    cargo test --locked --features e2e --test e2e_fleet -- --test-threads=1 --nocapture 2>&1 \
      | tee /tmp/rollouts-dashboard-e2e-fleet.log
  )
  down_cluster 0 "$CLUSTER_NEW"; CLUSTER_NEW=""
fi

if ! skipping SKIP_BROWSER "browser tests"; then
  phase "browser tests"
  bash tests/browser/run.sh
  if [ -n "$CLUSTER" ]; then
    phase "browser: promote on the real cluster"
    (cd tests/browser && node --test --test-timeout=300000 cluster-promote.mjs)
  fi
fi

# The Ingress path on the real cluster: Chromium → nginx (TLS) → oauth2-proxy → dashboard
# (tests/ingress; nginx installed with apt and oauth2-proxy built from the Go module proxy if missing).
if [ -n "$CLUSTER" ] && ! skipping SKIP_INGRESS "ingress chain (nginx + oauth2-proxy)"; then
  phase "ingress: nginx + oauth2-proxy on the cluster"
  bash tests/ingress/run.sh
elif [ -z "$CLUSTER" ]; then
  echo "=== SKIPPING ingress chain (it needs the cluster, skipped with SKIP_CLUSTER=1)"
fi

if ! skipping SKIP_BENCH "benchmark smoke"; then
  phase "benchmark smoke"
  ROLLOUTS_DASHBOARD_BENCH_SMOKE=1 ROLLOUTS_DASHBOARD_BENCH_CLUSTER="$CLUSTER" bash tests/bench/run.sh
fi

phase ""
echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
echo "=== all tests passed in $(( $(date +%s) - T0 ))s"
