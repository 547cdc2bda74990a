#!/usr/bin/env bash
# The whole test suite: installs what the tests need, type-checks, then runs every test file
# with node's test runner. Run as root on Debian it also installs the system packages the
# real-component tests use (libvirt/QEMU lab, sshd, socat, mosquitto, prometheus, chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/install-system-deps.sh
npx tsc -p tsconfig.json --noEmit
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
