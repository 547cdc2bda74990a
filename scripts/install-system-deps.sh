#!/usr/bin/env bash
# Installs the Debian packages the real-component tests use, listed one per line in
# scripts/system-deps/*.txt (one file per component), when run as root on Debian and
# something is missing. Elsewhere it only says what is missing; a test that needs a missing
# program fails with a message naming it.
set -euo pipefail
cd "$(dirname "$0")"
mapfile -t packages < <(cat system-deps/*.txt 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
missing=()
for p in "${packages[@]}"; do
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
