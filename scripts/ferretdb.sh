#!/usr/bin/env bash
# FerretDB (a MongoDB wire-protocol server) with its SQLite backend, for the MongoDB history-store
# tests: no MongoDB server can be installed from the registries the build machines reach, so this
# builds FerretDB from the github.com/FerretDB/FerretDB Go module instead (test infrastructure only).
#
#   scripts/ferretdb.sh build      build once per version (cached), print the binary's path
#   scripts/ferretdb.sh up DIR     start it on a free loopback port, data in DIR/data; writes DIR/uri
#                                  (and prints the URI) once it answers a MongoDB `hello`
#   scripts/ferretdb.sh down DIR   stop what `up DIR` started (touches nothing outside DIR)
#   scripts/ferretdb.sh version    print the version that build/up use
#
# Environment:
#   TIDE_FERRETDB_VERSION  module version (default below)
#   TIDE_ENVTEST_CACHE     cache root (default ~/.cache/tide-envtest); the binary goes to
#                          $TIDE_ENVTEST_CACHE/ferretdb-<version>/ferretdb
#   FERRETDB_PORT          `up`: listen on this port instead of a free one the kernel picks
set -euo pipefail

# Pinned release (v1.x: the last line with the SQLite backend; v2 needs PostgreSQL + DocumentDB).
FERRETDB_VERSION=v1.24.2
VERSION="${TIDE_FERRETDB_VERSION:-$FERRETDB_VERSION}"
CACHE_ROOT="${TIDE_ENVTEST_CACHE:-$HOME/.cache/tide-envtest}"
BIN_DIR="$CACHE_ROOT/ferretdb-$VERSION"
BIN="$BIN_DIR/ferretdb"
MODULE="github.com/FerretDB/FerretDB"

die() { echo "ferretdb.sh: $*" >&2; exit 1; }
say() { echo "ferretdb.sh: $*" >&2; }

find_go() {
  if command -v go >/dev/null 2>&1; then command -v go
  elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go
  else return 1
  fi
}

build() {
  if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    echo "$BIN"
    return
  fi
  local go
  go="$(find_go)" || die "no Go toolchain (neither 'go' on PATH nor /usr/local/go/bin/go); FerretDB $VERSION needs Go >= 1.24 to build"
  local goversion
  goversion="$("$go" env GOVERSION 2>/dev/null)" || die "$go does not run"
  case "$goversion" in
    go1.2[4-9]*|go1.[3-9][0-9]*|go[2-9]*) ;;
    *) die "$go is $goversion; FerretDB $VERSION needs Go >= 1.24" ;;
  esac
  mkdir -p "$BIN_DIR"
  # One build at a time per cache (two test processes may ask at once); the second finds the binary.
  exec 9>"$BIN_DIR/.lock"
  flock 9
  if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    echo "$BIN"
    return
  fi

  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  export GOTOOLCHAIN=local CGO_ENABLED=0
  local start=$SECONDS timing=() src out why
  # Fetch first, so that an unreachable proxy is told apart from a failed compile.
  if ! out="$(cd "$work" && "$go" mod download -json "$MODULE@$VERSION" 2>&1)"; then
    why="$(printf '%s\n' "$out" | sed -n 's/^\t"Error": "\(.*\)"$/\1/p' | tail -n 1 | sed 's/\\"/"/g; s/\\n\\t/ /g; s/\\n/ /g')"
    [ -n "$why" ] || why="$(printf '%s' "$out" | grep -v downloading | tail -n 1)"
    case "$why" in
      *"dial tcp"*|*"no such host"*|*"connection refused"*|*"i/o timeout"*|*"TLS handshake"*|*"network is unreachable"*|*"Client.Timeout"*)
        die "the Go module proxy ($("$go" env GOPROXY)) is unreachable: fetching $MODULE@$VERSION: $why" ;;
      *) die "cannot fetch $MODULE@$VERSION from the Go module proxy ($("$go" env GOPROXY)): $why" ;;
    esac
  fi
  src="$(printf '%s\n' "$out" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src" ] || die "go mod download did not say where $MODULE@$VERSION is"
  # Built as its own main module from a copy of the module's source, with the
  # build/version/version.txt that FerretDB's release tooling writes and the module zip lacks
  # (without it the binary panics at start).
  cp -R "$src" "$work/src" && chmod -R u+w "$work/src"
  echo "$VERSION" >"$work/src/build/version/version.txt"
  echo "tide-envtest" >"$work/src/build/version/package.txt"
  # The PostgreSQL backend is left out (build tag); SQLite is modernc.org/sqlite, pure Go.
  local tags=(-tags ferretdb_no_postgresql)
  if ! (cd "$work/src" && "$go" list -deps "${tags[@]}" ./cmd/ferretdb) >/dev/null 2>"$work/download.log"; then
    why="$(grep -v downloading "$work/download.log" | tail -n 1)"
    case "$why" in
      *"dial tcp"*|*"no such host"*|*"connection refused"*|*"i/o timeout"*|*"TLS handshake"*|*"network is unreachable"*|*"Client.Timeout"*)
        die "the Go module proxy ($("$go" env GOPROXY)) is unreachable: fetching FerretDB $VERSION's dependencies: $why" ;;
      *) die "cannot fetch FerretDB $VERSION's dependencies from the Go module proxy ($("$go" env GOPROXY)): $why" ;;
    esac
  fi
  local fetched=$((SECONDS - start))

  say "building FerretDB $VERSION (SQLite backend, CGO_ENABLED=0) into $BIN_DIR; a cold build takes a few minutes"
  [ -x /usr/bin/time ] && timing=(/usr/bin/time -v -o "$work/time.txt")
  if ! (cd "$work/src" && "${timing[@]}" "$go" build -trimpath -buildvcs=false -ldflags='-s -w' "${tags[@]}" \
      -o "$work/bin/ferretdb" ./cmd/ferretdb) >"$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log" >&2
    die "building FerretDB $VERSION failed (log above)"
  fi
  "$work/bin/ferretdb" --version >/dev/null 2>&1 || die "the FerretDB binary built from $VERSION does not run"
  mv -f "$work/bin/ferretdb" "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
  local peak=""
  if [ -f "$work/time.txt" ]; then
    peak="$(awk -F': ' '/Maximum resident set size/ {printf ", peak memory %d MiB", $2/1024}' "$work/time.txt")"
  fi
  say "built FerretDB $VERSION in $((SECONDS - start)) s ($fetched s fetching modules, then compiling$peak)"
  echo "$BIN"
}

# A MongoDB OP_MSG `hello` on admin; succeeds when the server at 127.0.0.1:$1 answers it.
answers_hello() {
  local port=$1 reply
  # header: length 52, requestID 1, responseTo 0, opCode 2013 (OP_MSG); flags 0; section kind 0;
  # then the BSON document {hello: 1, $db: "admin"} (31 bytes).
  reply="$(
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf '\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00' >&3
    # shellcheck disable=SC2016 # "$db" is the BSON field name, not a shell expansion
    printf '\x1f\x00\x00\x00\x10hello\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00' >&3
    timeout 5 dd bs=65536 count=1 status=none <&3 | tr -d '\000' | tr -c '[:print:]' ' '
  )" 2>/dev/null || return 1
  [[ "$reply" == *isWritablePrimary* ]]
}

is_ours() { # pid dir: the process is a FerretDB whose command line names DIR
  local cmdline
  [ -r "/proc/$1/cmdline" ] || return 1
  cmdline="$(tr '\000' ' ' <"/proc/$1/cmdline")"
  [[ "$cmdline" == *ferretdb* && "$cmdline" == *"$2/data/"* ]]
}

up() {
  local dir=${1:?usage: ferretdb.sh up DIR}
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/pid" ] && is_ours "$(cat "$dir/pid")" "$dir"; then
    die "FerretDB is already running for $dir (pid $(cat "$dir/pid")); run 'ferretdb.sh down $dir' first"
  fi
  local bin
  bin="$(build)"
  local port="${FERRETDB_PORT:-0}"
  if [ "$port" != 0 ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port 127.0.0.1:$port is already in use (unset FERRETDB_PORT to take a free one)"
  fi
  rm -f "$dir/uri" "$dir/pid"
  : >"$dir/ferretdb.log"
  # Port 0: the kernel picks a free port, read back from FerretDB's "Listening on" line.
  setsid "$bin" --handler=sqlite --sqlite-url="file:$dir/data/" --listen-addr="127.0.0.1:$port" \
    --state-dir="$dir" --debug-addr=- --telemetry=disable --log-level=info \
    </dev/null >>"$dir/ferretdb.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  local deadline=$((SECONDS + 30)) addr=""
  while [ -z "$addr" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -q 'address already in use' "$dir/ferretdb.log"; then
        rm -f "$dir/pid"
        die "port 127.0.0.1:$port is already in use (unset FERRETDB_PORT to take a free one)"
      fi
      tail -n 20 "$dir/ferretdb.log" >&2
      rm -f "$dir/pid"
      die "FerretDB exited while starting (log above, $dir/ferretdb.log)"
    fi
    addr="$(grep -o 'Listening on TCP 127\.0\.0\.1:[0-9]*' "$dir/ferretdb.log" | head -n 1 | sed 's/.* //')" || true
    [ $SECONDS -lt $deadline ] || { down "$dir" >/dev/null 2>&1 || true; die "FerretDB did not start listening within 30 s ($dir/ferretdb.log)"; }
    [ -n "$addr" ] || sleep 0.1
  done
  port="${addr##*:}"
  until answers_hello "$port"; do
    [ $SECONDS -lt $deadline ] || { down "$dir" >/dev/null 2>&1 || true; die "FerretDB on 127.0.0.1:$port did not answer a MongoDB hello within 30 s"; }
    sleep 0.2
  done
  echo "mongodb://127.0.0.1:$port/" >"$dir/uri"
  cat "$dir/uri"
}

down() {
  local dir=${1:?usage: ferretdb.sh down DIR}
  [ -d "$dir" ] || return 0
  dir="$(cd "$dir" && pwd)"
  [ -f "$dir/pid" ] || return 0
  local pid
  pid="$(cat "$dir/pid")"
  if is_ours "$pid" "$dir"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do is_ours "$pid" "$dir" || break; sleep 0.1; done
    if is_ours "$pid" "$dir"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$dir/pid" "$dir/uri"
}

case "${1:-}" in
  build) build ;;
  up) up "${2:-}" ;;
  down) down "${2:-}" ;;
  version) echo "$VERSION" ;;
  *) echo "usage: $0 build | up DIR | down DIR | version" >&2; exit 2 ;;
esac
