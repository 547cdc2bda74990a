#!/usr/bin/env bash
# Installs the Debian packages the real-component tests use, when run as root on Debian and
# something is missing. Elsewhere it only says what is missing; the tests that need a
# missing program fail with a message naming it.
set -euo pipefail
PACKAGES=(socat)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing Debian packages (run as root to install): ${missing[*]}" >&2
fi
