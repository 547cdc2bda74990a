#!/usr/bin/env bash
# scripts/envtest.sh — a real Kubernetes control plane and a real Helm for Tide's tests
# (controller-runtime's "envtest" idea, built here from source because no binary can be
# downloaded): kube-apiserver, kube-controller-manager, kubectl, etcd and helm at pinned
# versions, from their Go modules. Nothing is installed system-wide.
#
#   scripts/envtest.sh build           build the pinned binaries once (cached, see below)
#   scripts/envtest.sh up DIR          start etcd + kube-apiserver (+ kube-controller-manager) with
#                                      their data, certificates, logs and pids in DIR; write
#                                      DIR/kubeconfig (cluster-admin) and DIR/envtest.env; return
#                                      once /readyz is ok
#   scripts/envtest.sh down DIR        stop what `up DIR` started (only the pids recorded in DIR)
#   scripts/envtest.sh helm|kubectl|kube-apiserver|kube-controller-manager|etcd
#                                      print the path of that binary (building it if needed)
#   scripts/envtest.sh versions        print the pinned versions
#
# Binaries are cached per version in ${TIDE_ENVTEST_CACHE:-$HOME/.cache/tide-envtest}/<version>/.
# The Go module and build caches are Go's own (go env GOMODCACHE GOCACHE).
set -euo pipefail

# Pinned versions. KUBE_VERSION is a k8s.io/kubernetes release; its staging modules
# (k8s.io/api, k8s.io/apimachinery, ...) are taken at the matching v0.X.Y.
KUBE_VERSION=v1.37.2
HELM_VERSION=v3.22.0
# etcd as k8s.io/kubernetes v1.37.2's go.mod pins it (go.etcd.io/etcd/server/v3). Debian's
# etcd-server (3.4.23) runs, but lacks RequestWatchProgress, which kube-apiserver 1.37 needs for
# consistent reads from its watch cache and for ending a watch's initial events with a bookmark.
ETCD_VERSION=v3.7.0

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Go's caches and ours live under HOME: take it from the password database when unset.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
CACHE="${TIDE_ENVTEST_CACHE:-$HOME/.cache/tide-envtest}"
KUBE_DIR="$CACHE/kubernetes-$KUBE_VERSION"
HELM_DIR="$CACHE/helm-$HELM_VERSION"
ETCD_DIR="$CACHE/etcd-$ETCD_VERSION"
KUBE_BINARIES=(kube-apiserver kube-controller-manager kubectl)

die() { echo "envtest: $*" >&2; exit 1; }
say() { echo "envtest: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------

find_go() {
  if [ -n "${TIDE_ENVTEST_GO:-}" ]; then
    [ -x "$TIDE_ENVTEST_GO" ] || die "no Go toolchain: TIDE_ENVTEST_GO=$TIDE_ENVTEST_GO is not an executable"
    GO="$TIDE_ENVTEST_GO"
  elif command -v go >/dev/null 2>&1; then GO="$(command -v go)"
  elif [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go
  else die "no Go toolchain: 'go' is not on PATH and /usr/local/go/bin/go does not exist (the real kube-apiserver and helm are built from source; locally, TIDE_REAL_KUBE=0 skips that tier)"
  fi
  export PATH="$(dirname "$GO"):$PATH"
  export CGO_ENABLED=0 GOFLAGS="-trimpath -mod=mod" GOWORK=off
}

# Runs `go mod download -json MODULE@VERSION` and prints the path of its go.mod; a proxy that
# cannot be reached (or does not have the version) is one clear line.
download_mod() {
  local out
  if ! out="$("$GO" mod download -json "$1" 2>&1)"; then
    local why
    why="$(printf '%s' "$out" | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        let why; try { why = JSON.parse(s).Error; } catch {}
        console.log((why || s.replace(/\s+/g, " ")).slice(0, 400));
      });' 2>/dev/null || printf '%s' "$out" | tr '\n' ' ' | cut -c1-400)"
    case "$why" in
      *"dial tcp"*|*"no such host"*|*"connection refused"*|*"i/o timeout"*|*"TLS handshake"*|*"network is unreachable"*|*"Client.Timeout"*)
        die "the Go module proxy ($("$GO" env GOPROXY)) is unreachable while fetching $1: $why" ;;
      *) die "cannot fetch $1 from the Go module proxy ($("$GO" env GOPROXY)): $why" ;;
    esac
  fi
  printf '%s\n' "$out" | grep -m1 '"GoMod"' | sed 's/.*"GoMod": *"//; s/".*//'
}

# Peak memory of a build step: GNU time reports the largest resident set of the step's
# processes (the compiler or linker child that peaked), in KiB.
PEAK_KB=0
timed() {
  if [ -x /usr/bin/time ]; then
    local f; f="$(mktemp)"
    /usr/bin/time -f '%M' -o "$f" "$@" || { rm -f "$f"; return 1; }
    local kb; kb="$(tail -n1 "$f")"; rm -f "$f"
    [[ "$kb" =~ ^[0-9]+$ ]] && [ "$kb" -gt "$PEAK_KB" ] && PEAK_KB="$kb"
  else
    "$@"
  fi
  return 0
}

have_all() { local d="$1"; shift; for b in "$@"; do [ -x "$d/$b" ] || return 1; done; }

build_kube() {
  have_all "$KUBE_DIR" "${KUBE_BINARIES[@]}" && return 0
  find_go
  mkdir -p "$CACHE"
  local start=$SECONDS work
  work="$(mktemp -d "$CACHE/.build-kube-XXXXXX")"
  say "building kube-apiserver, kube-controller-manager, kubectl $KUBE_VERSION from the k8s.io/kubernetes module (cold: about 20 minutes on 2 idle cores, see docs/kube.md) ..."
  local kmod; kmod="$(download_mod "k8s.io/kubernetes@$KUBE_VERSION")"
  [ -f "$kmod" ] || die "the Go module proxy gave no go.mod for k8s.io/kubernetes@$KUBE_VERSION"
  local staging="v0.${KUBE_VERSION#v1.}"
  {
    echo "module tide.invalid/envtest-kube"
    echo
    grep -m1 -E '^go [0-9]' "$kmod"
    # The release's own godebug settings, as its main module would have them.
    grep -E '^godebug ' "$kmod" || true
    awk '/^godebug \($/{f=1;print;next} f&&/^\)/{print;f=0;next} f{print}' "$kmod"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    # k8s.io/kubernetes points its staging modules at ./staging/src/k8s.io/<name>; point them at
    # the published v0.X.Y instead (the list is read from the release's own go.mod).
    grep -oE '^[[:space:]]*k8s\.io/[A-Za-z0-9._-]+ => \./staging/src/k8s\.io/[A-Za-z0-9._-]+' "$kmod" \
      | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } > "$work/go.mod"
  grep -q '^replace k8s.io/api ' "$work/go.mod" || die "could not read the staging modules from k8s.io/kubernetes@$KUBE_VERSION's go.mod"
  local pkgs=() b
  for b in "${KUBE_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  local getlog="$work/go-get.log"
  ( cd "$work" && "$GO" get "${pkgs[@]/%/@$KUBE_VERSION}" ) >"$getlog" 2>&1 || {
    grep -qiE 'dial tcp|no such host|connection refused|i/o timeout' "$getlog" \
      && die "the Go module proxy ($("$GO" env GOPROXY)) is unreachable while resolving k8s.io/kubernetes $KUBE_VERSION's dependencies: $(grep -m1 -iE 'dial tcp|no such host|connection refused|i/o timeout' "$getlog")"
    die "go get of k8s.io/kubernetes $KUBE_VERSION failed: $(tail -n3 "$getlog" | tr '\n' ' ') (log: $getlog)"
  }
  local major minor
  major="${KUBE_VERSION#v}"; major="${major%%.*}"
  minor="${KUBE_VERSION#v*.}"; minor="${minor%%.*}"
  local x=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    x+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$work/bin"
  local buildlog="$work/go-build.log"
  timed "$GO" -C "$work" build -ldflags "-s -w$x" -o "$work/bin/" "${pkgs[@]}" >"$buildlog" 2>&1 \
    || die "building k8s.io/kubernetes $KUBE_VERSION failed: $(tail -n3 "$buildlog" | tr '\n' ' ') (log: $buildlog)"
  mkdir -p "$KUBE_DIR"
  for b in "${KUBE_BINARIES[@]}"; do mv -f "$work/bin/$b" "$KUBE_DIR/$b"; done
  local secs=$((SECONDS - start))
  echo "built $KUBE_VERSION in ${secs}s, peak RSS $((PEAK_KB / 1024)) MiB ($(date -u +%FT%TZ))" >> "$KUBE_DIR/BUILD"
  rm -rf "$work"
  say "built ${KUBE_BINARIES[*]} $KUBE_VERSION in ${secs}s (peak RSS of one build process: $((PEAK_KB / 1024)) MiB) -> $KUBE_DIR"
}

build_helm() {
  have_all "$HELM_DIR" helm && return 0
  find_go
  mkdir -p "$CACHE"
  local start=$SECONDS work
  work="$(mktemp -d "$CACHE/.build-helm-XXXXXX")"
  say "building helm $HELM_VERSION from the helm.sh/helm/v3 module ..."
  local hmod; hmod="$(download_mod "helm.sh/helm/v3@$HELM_VERSION")"
  [ -f "$hmod" ] || die "the Go module proxy gave no go.mod for helm.sh/helm/v3@$HELM_VERSION"
  {
    echo "module tide.invalid/envtest-helm"
    echo
    grep -m1 -E '^go [0-9]' "$hmod"
    echo
    echo "require helm.sh/helm/v3 $HELM_VERSION"
    # Helm's own replace lines, if its release has any, apply to its main module only: copy them.
    awk '/^replace \($/{f=1;print;next} f&&/^\)/{print;f=0;next} f{print} /^replace [^(]/{print}' "$hmod"
  } > "$work/go.mod"
  local getlog="$work/go-get.log"
  ( cd "$work" && "$GO" get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" ) >"$getlog" 2>&1 || {
    grep -qiE 'dial tcp|no such host|connection refused|i/o timeout' "$getlog" \
      && die "the Go module proxy ($("$GO" env GOPROXY)) is unreachable while resolving helm $HELM_VERSION's dependencies: $(grep -m1 -iE 'dial tcp|no such host|connection refused|i/o timeout' "$getlog")"
    die "go get of helm $HELM_VERSION failed: $(tail -n3 "$getlog" | tr '\n' ' ') (log: $getlog)"
  }
  # Helm's Makefile stamps its version and the Kubernetes version its client libraries target
  # (the default .Capabilities.KubeVersion of `helm template` and `helm lint`).
  local cg kmaj kmin x
  cg="$(cd "$work" && "$GO" list -m -f '{{.Version}}' k8s.io/client-go)"   # v0.X.Y
  kmaj=1; kmin="${cg#v0.}"; kmin="${kmin%%.*}"
  x="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    x+=" -X $p.k8sVersionMajor=$kmaj -X $p.k8sVersionMinor=$kmin"
  done
  local buildlog="$work/go-build.log"
  mkdir -p "$work/bin"
  timed "$GO" -C "$work" build -ldflags "-s -w $x" -o "$work/bin/helm" helm.sh/helm/v3/cmd/helm >"$buildlog" 2>&1 \
    || die "building helm $HELM_VERSION failed: $(tail -n3 "$buildlog" | tr '\n' ' ') (log: $buildlog)"
  mkdir -p "$HELM_DIR"
  mv -f "$work/bin/helm" "$HELM_DIR/helm"
  local secs=$((SECONDS - start))
  echo "built $HELM_VERSION in ${secs}s, peak RSS $((PEAK_KB / 1024)) MiB ($(date -u +%FT%TZ))" >> "$HELM_DIR/BUILD"
  rm -rf "$work"
  say "built helm $HELM_VERSION in ${secs}s (peak RSS of one build process: $((PEAK_KB / 1024)) MiB) -> $HELM_DIR"
}

build_etcd() {
  have_all "$ETCD_DIR" etcd && return 0
  find_go
  mkdir -p "$CACHE"
  local start=$SECONDS work
  work="$(mktemp -d "$CACHE/.build-etcd-XXXXXX")"
  say "building etcd $ETCD_VERSION from the go.etcd.io/etcd/server/v3 module ..."
  local emod; emod="$(download_mod "go.etcd.io/etcd/server/v3@$ETCD_VERSION")"
  [ -f "$emod" ] || die "the Go module proxy gave no go.mod for go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  {
    echo "module tide.invalid/envtest-etcd"
    echo
    grep -m1 -E '^go [0-9]' "$emod"
    echo
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  } > "$work/go.mod"
  local getlog="$work/go-get.log"
  ( cd "$work" && "$GO" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" ) >"$getlog" 2>&1 || {
    grep -qiE 'dial tcp|no such host|connection refused|i/o timeout' "$getlog" \
      && die "the Go module proxy ($("$GO" env GOPROXY)) is unreachable while resolving etcd $ETCD_VERSION's dependencies: $(grep -m1 -iE 'dial tcp|no such host|connection refused|i/o timeout' "$getlog")"
    die "go get of etcd $ETCD_VERSION failed: $(tail -n3 "$getlog" | tr '\n' ' ') (log: $getlog)"
  }
  local buildlog="$work/go-build.log"
  mkdir -p "$work/bin"
  timed "$GO" -C "$work" build -ldflags "-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3 >"$buildlog" 2>&1 \
    || die "building etcd $ETCD_VERSION failed: $(tail -n3 "$buildlog" | tr '\n' ' ') (log: $buildlog)"
  mkdir -p "$ETCD_DIR"
  mv -f "$work/bin/etcd" "$ETCD_DIR/etcd"
  local secs=$((SECONDS - start))
  echo "built $ETCD_VERSION in ${secs}s, peak RSS $((PEAK_KB / 1024)) MiB ($(date -u +%FT%TZ))" >> "$ETCD_DIR/BUILD"
  rm -rf "$work"
  say "built etcd $ETCD_VERSION in ${secs}s (peak RSS of one build process: $((PEAK_KB / 1024)) MiB) -> $ETCD_DIR"
}

cmd_build() {
  local start=$SECONDS
  local cold=0
  have_all "$KUBE_DIR" "${KUBE_BINARIES[@]}" && have_all "$HELM_DIR" helm && have_all "$ETCD_DIR" etcd || cold=1
  case "${1:-all}" in
    kube) build_kube ;;
    helm) build_helm ;;
    etcd) build_etcd ;;
    all) build_kube; build_etcd; build_helm ;;
    *) die "build: unknown target '$1' (kube, etcd, helm or all)" ;;
  esac
  if [ "$cold" = 1 ]; then say "build done in $((SECONDS - start))s"; else say "binaries cached in $CACHE (kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION)"; fi
}

# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

source "$HERE/envtest/run.sh"

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  up) [ $# -ge 2 ] || usage; cmd_up "$2" ;;
  down) [ $# -ge 2 ] || usage; cmd_down "$2" ;;
  helm) build_helm; echo "$HELM_DIR/helm" ;;
  kubectl|kube-apiserver|kube-controller-manager) build_kube; echo "$KUBE_DIR/$1" ;;
  etcd) build_etcd; echo "$ETCD_DIR/etcd" ;;
  versions) echo "kubernetes $KUBE_VERSION"; echo "etcd $ETCD_VERSION"; echo "helm $HELM_VERSION" ;;
  *) usage ;;
esac
