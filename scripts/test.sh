#!/usr/bin/env bash
# The whole test suite: installs what the tests need, type-checks and compiles the tree into
# .build/ (scripts/compile.sh), builds and starts the real Kubernetes control plane
# (scripts/envtest.sh), then runs every test file's compiled copy with node's test runner. Run as
# root on Debian it also installs the system packages the real-component tests use (libvirt/QEMU
# lab, sshd, socat, mosquitto, prometheus, chromium, openssl).
#
# Two tiers of Kubernetes tests: the embedded API server (src/kube, always) and a real
# kube-apiserver + etcd + kube-controller-manager and a real helm, built from source (the real
# tier). The real tier is required: with CI=true nothing turns it off, and a missing Go or a
# failed build fails the run. Locally, TIDE_REAL_KUBE=0 skips it (its tests show as skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
[ -d node_modules ] || npm ci
bash scripts/install-system-deps.sh
# Type-checks everything and compiles it into .build/, the copy the tests run from: loading
# modules through tsx's hooks costs about twice the CPU (scripts/compile.sh says why).
bash scripts/compile.sh .build
cleanup_build() { rm -rf "$root/.build"; }
trap cleanup_build EXIT

ci=false
case "${CI:-}" in true|1) ci=true ;; esac
if [ "$ci" = false ] && [ "${TIDE_REAL_KUBE:-}" = 0 ]; then
  tiers="embedded API server only (real kube-apiserver tier skipped because TIDE_REAL_KUBE=0)"
else
  # Cold, this builds kube-apiserver, kube-controller-manager, kubectl and helm (see
  # docs/kube.md for the time it takes); warm, the cached binaries are used at once.
  if ! bash scripts/envtest.sh build; then
    echo "test.sh: the real kube-apiserver tier is required$([ "$ci" = true ] && echo ' in CI') and its build failed (locally, TIDE_REAL_KUBE=0 skips it)" >&2
    exit 1
  fi
  envdir="$(mktemp -d "${TMPDIR:-/tmp}/tide-envtest-XXXXXX")"
  trap 'bash scripts/envtest.sh down "$envdir" >/dev/null 2>&1 || true; rm -rf "$envdir"; cleanup_build' EXIT
  if ! bash scripts/envtest.sh up "$envdir"; then
    echo "test.sh: the real kube-apiserver tier is required and the server did not start (logs: $envdir/*.log)" >&2
    trap - EXIT
    bash scripts/envtest.sh down "$envdir" >/dev/null 2>&1 || true
    exit 1
  fi
  export TIDE_ENVTEST_DIR="$envdir"
  # shellcheck disable=SC1091
  tiers="embedded API server + real tier ($(. "$envdir/envtest.env"; echo "kube-apiserver $TIDE_ENVTEST_KUBE_VERSION, etcd $TIDE_ENVTEST_ETCD_VERSION, helm $TIDE_ENVTEST_HELM_VERSION"))"
fi
echo "test.sh: Kubernetes test tiers: $tiers"

# MongoDB store tier: FerretDB (SQLite backend) built from source; test/store/mongodb.test.ts starts it.
if [ -n "${MONGODB_URI:-}" ]; then
  mongo_tier="MongoDB at MONGODB_URI"
elif [ "$ci" = false ] && [ "${TIDE_FERRETDB:-}" = 0 ]; then
  mongo_tier="skipped (TIDE_FERRETDB=0)"
else
  if ! bash scripts/ferretdb.sh build >/dev/null; then
    echo "test.sh: the FerretDB tier is required$([ "$ci" = true ] && echo ' in CI') and its build failed (locally, TIDE_FERRETDB=0 skips it)" >&2
    exit 1
  fi
  mongo_tier="FerretDB $(bash scripts/ferretdb.sh version) (SQLite backend)"
fi
echo "test.sh: MongoDB store tier: $mongo_tier"

# Two phases. The lab files boot QEMU guests (TCG where there is no /dev/kvm) and live-migrate
# them between network namespaces: they need the CPU to themselves and share the lab's names, so
# they run one at a time with nothing beside them. Every other file is independent (its own temp
# dirs, free ports, its own private real server where it adds cluster-scoped objects) and mostly
# waits on timers and servers, so several run at once (TIDE_TEST_CONCURRENCY, default 3). The
# CPU is the limit: within the same hour a warm .ci/run took 20 min 42 s at 4 (phase 1 677 s) and
# 20 min 32 s at 3 (phase 1 680 s) (docs/kube.md).
# The compiled copy of each test file: test/x/y.test.ts runs as .build/test/x/y.test.js.
mapfile -t files < <(find test -name '*.test.ts' | sort | sed 's/\.ts$/.js/')
lab=() rest=()
for f in "${files[@]}"; do
  case "$f" in
    test/e2e-lab/*|test/hypervisor/lab-*) lab+=("$f") ;;
    *) rest+=("$f") ;;
  esac
done
concurrency="${TIDE_TEST_CONCURRENCY:-3}"
# The PlanetLab traces beside the repository (../shared/data), named outright: from .build/ the
# tests' own "../shared" would look inside the repository.
export TIDE_SHARED_DATA="${TIDE_SHARED_DATA:-$root/../shared/data}"
# scripts/test-runner.mjs runs each phase as `node --test` would, longest files first (by the
# times of the last run on this machine), and prints where the phase's time went.
set +e
echo "test.sh: phase 1 of 2: ${#rest[@]} files, $concurrency at a time"
cd .build
start=$SECONDS
node --enable-source-maps "$root/scripts/test-runner.mjs" --concurrency "$concurrency" --label "test.sh: phase 1" "${rest[@]}"
rc_rest=$?
echo "test.sh: phase 1 took $((SECONDS - start)) s (exit $rc_rest)"
echo "test.sh: phase 2 of 2: ${#lab[@]} lab files (real libvirt/QEMU guests), one at a time"
start=$SECONDS
node --enable-source-maps "$root/scripts/test-runner.mjs" --concurrency 1 --label "test.sh: phase 2" "${lab[@]}"
rc_lab=$?
cd ..
echo "test.sh: phase 2 took $((SECONDS - start)) s (exit $rc_lab)"
set -e
echo "test.sh: Kubernetes test tiers that ran: $tiers; MongoDB store tier: $mongo_tier"
[ "$rc_rest" = 0 ] && [ "$rc_lab" = 0 ]
