#!/usr/bin/env bash
# Builds the lab guests' initramfs (busybox-static + the load-generating init) into $1 and
# links the host's Debian kernel beside it as vmlinuz. Idempotent: rebuilds only when missing.
set -euo pipefail
out=${1:?usage: build-initramfs.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
if [ ! -e "$out/vmlinuz" ]; then
  kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$kernel" ] || { echo "build-initramfs: no /boot/vmlinuz-* (install linux-image-amd64)" >&2; exit 1; }
  cp "$kernel" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
fi
[ -e "$out/initramfs.cpio.gz" ] && exit 0
[ -x /bin/busybox ] || { echo "build-initramfs: /bin/busybox missing (install busybox-static)" >&2; exit 1; }
if ldd /bin/busybox >/dev/null 2>&1; then echo "build-initramfs: /bin/busybox is not static (install busybox-static)" >&2; exit 1; fi
root=$(mktemp -d "$out/root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys}
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$out/initramfs.tmp"
mv "$out/initramfs.tmp" "$out/initramfs.cpio.gz"
