# shellcheck shell=bash
# `envtest.sh up DIR` / `envtest.sh down DIR`: sourced by scripts/envtest.sh, which defines
# KUBE_DIR, die, say, build_kube.
#
# DIR holds everything: etcd's data (DIR/etcd), certificates and keys (DIR/pki), logs
# (DIR/*.log), pids (DIR/*.pid), DIR/kubeconfig (cluster-admin: a client certificate in
# system:masters) and DIR/envtest.env (shell-sourceable: URL, ports, paths, versions).

UP_TIMEOUT="${TIDE_ENVTEST_TIMEOUT:-90}"

# A free loopback TCP port, chosen by the kernel (bind to port 0) — or the one asked for, if
# it is free. A port in use is one clear line.
free_port() {
  local want="${1:-0}" what="$2"
  local port
  port="$(node -e '
    const s = require("net").createServer();
    s.once("error", (e) => { console.log("ERR " + e.code); process.exit(0); });
    s.listen({ host: "127.0.0.1", port: Number(process.argv[1]) }, () => { console.log(s.address().port); s.close(); });
  ' "$want")" || die "cannot probe loopback ports (node not found?)"
  case "$port" in
    "ERR EADDRINUSE") die "port $want (asked for the $what) is taken on 127.0.0.1" ;;
    ERR*) die "cannot bind 127.0.0.1:$want for the $what: ${port#ERR }" ;;
  esac
  echo "$port"
}

# A port the log says was taken between our probe and the program's bind.
port_taken_in_log() { grep -m1 -oE '(127\.0\.0\.1|localhost)?:[0-9]+: bind: address already in use' "$1" 2>/dev/null || true; }

# etcd: the one built at ETCD_VERSION, or TIDE_ENVTEST_ETCD (e.g. Debian's /usr/bin/etcd).
ensure_etcd() {
  if [ -n "${TIDE_ENVTEST_ETCD:-}" ]; then ETCD="$TIDE_ENVTEST_ETCD"; return 0; fi
  build_etcd
  ETCD="$ETCD_DIR/etcd"
}

# Certificates: one self-signed CA signs the serving certificate (127.0.0.1, localhost and the
# in-cluster names) and the admin client certificate (O=system:masters). The service-account
# token signing key pair is separate.
make_pki() {
  local pki="$1"
  mkdir -p "$pki"
  (
    cd "$pki"
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=tide-envtest-ca" -keyout ca.key -out ca.crt 2>/dev/null
    cat > serving.ext <<'EOF'
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.0.0.1
extendedKeyUsage=serverAuth
keyUsage=digitalSignature,keyEncipherment
EOF
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=kube-apiserver" \
      -keyout serving.key -out serving.csr 2>/dev/null
    openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile serving.ext -out serving.crt 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' > client.ext
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/O=system:masters/CN=tide-envtest-admin" -keyout admin.key -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out admin.crt 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext ./*.srl
  ) || die "openssl could not make the certificates in $pki"
  [ -s "$pki/sa.pub" ] || die "openssl could not make the certificates in $pki"
}

b64() { base64 -w0 < "$1"; }

write_kubeconfig() {
  local dir="$1" url="$2"
  umask 077
  cat > "$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: $url
    certificate-authority-data: $(b64 "$dir/pki/ca.crt")
users:
- name: envtest-admin
  user:
    client-certificate-data: $(b64 "$dir/pki/admin.crt")
    client-key-data: $(b64 "$dir/pki/admin.key")
contexts:
- name: envtest
  context:
    cluster: envtest
    user: envtest-admin
current-context: envtest
EOF
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Starts "$@" in its own session, detached from this script, output to LOG, pid to PIDFILE.
start_bg() {
  local log="$1" pidfile="$2"; shift 2
  setsid "$@" >"$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
}

fail_up() {
  # Leave nothing running: stop what this `up` started, then say why in one line.
  local msg="$1"
  cmd_down "$UP_DIR" >/dev/null 2>&1 || true
  die "$msg"
}

https_ok() {
  local dir="$1" url="$2"
  curl -fsS --max-time 5 --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$url" >/dev/null 2>&1
}

cmd_up() {
  local dir="$1"
  command -v openssl >/dev/null || die "openssl is not installed (it makes the test cluster's certificates)"
  command -v curl >/dev/null || die "curl is not installed (it polls the servers' health)"
  build_kube
  build_helm
  ensure_etcd
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  UP_DIR="$dir"
  for f in etcd kube-apiserver kube-controller-manager; do
    if pid_alive "$(cat "$dir/$f.pid" 2>/dev/null)"; then die "$f from an earlier 'up' is still running in $dir (run: $0 down $dir)"; fi
  done
  local start=$SECONDS
  rm -rf "$dir/etcd" "$dir/pki"
  make_pki "$dir/pki"

  local etcd_port peer_port api_port
  etcd_port="$(free_port "${TIDE_ENVTEST_ETCD_PORT:-0}" "etcd client port")"
  peer_port="$(free_port 0 "etcd peer port")"
  api_port="$(free_port "${TIDE_ENVTEST_APISERVER_PORT:-0}" "kube-apiserver port")"
  [ "$peer_port" != "$etcd_port" ] || peer_port="$(free_port 0 "etcd peer port")"
  local etcd_url="http://127.0.0.1:$etcd_port" api_url="https://127.0.0.1:$api_port"

  # etcd: a single member on loopback, data in DIR/etcd.
  start_bg "$dir/etcd.log" "$dir/etcd.pid" "$ETCD" \
    --name envtest --data-dir "$dir/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "envtest=http://127.0.0.1:$peer_port" --initial-cluster-state new \
    --snapshot-count 100000 --quota-backend-bytes $((2 * 1024 * 1024 * 1024)) \
    $( [ -z "${TIDE_ENVTEST_ETCD:-}" ] && echo --unsafe-no-fsync )
  local deadline=$((SECONDS + 30))
  until curl -fsS --max-time 2 "$etcd_url/health" 2>/dev/null | grep -q '"health":"true"'; do
    if ! pid_alive "$(cat "$dir/etcd.pid")"; then
      local taken; taken="$(port_taken_in_log "$dir/etcd.log")"
      [ -n "$taken" ] && fail_up "etcd could not start: port ${taken%%: bind*} is taken (log: $dir/etcd.log)"
      local why; why="$(grep -m1 -iE 'error|fatal|panic' "$dir/etcd.log" | cut -c1-200 || true)"
      [ -n "$why" ] || why="$(tail -n1 "$dir/etcd.log" | cut -c1-200)"
      [ -n "$why" ] || why="$ETCD exited at once with no output"
      fail_up "etcd did not start: $why (log: $dir/etcd.log)"
    fi
    [ $SECONDS -lt $deadline ] || fail_up "etcd did not become healthy within 30s (log: $dir/etcd.log)"
    sleep 0.2
  done

  # kube-apiserver: RBAC, service-account tokens (TokenRequest), our certificates.
  local issuer="https://kubernetes.default.svc.cluster.local"
  start_bg "$dir/kube-apiserver.log" "$dir/kube-apiserver.pid" "$KUBE_DIR/kube-apiserver" \
    --etcd-servers "$etcd_url" --etcd-prefix /registry \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --cert-dir "$dir/pki" --tls-cert-file "$dir/pki/serving.crt" --tls-private-key-file "$dir/pki/serving.key" \
    --client-ca-file "$dir/pki/ca.crt" \
    --authorization-mode Node,RBAC \
    --service-account-issuer "$issuer" --api-audiences "$issuer" \
    --service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type none \
    --allow-privileged=true --profiling=false --v=1
  deadline=$((SECONDS + UP_TIMEOUT))
  until https_ok "$dir" "$api_url/readyz"; do
    if ! pid_alive "$(cat "$dir/kube-apiserver.pid")"; then
      local taken; taken="$(port_taken_in_log "$dir/kube-apiserver.log")"
      [ -n "$taken" ] && fail_up "kube-apiserver could not start: port ${taken%%: bind*} is taken (log: $dir/kube-apiserver.log)"
      fail_up "kube-apiserver exited: $(grep -E '^(E|F)[0-9]{4}|Error:' "$dir/kube-apiserver.log" | tail -n1 | cut -c1-300) (log: $dir/kube-apiserver.log)"
    fi
    if ! pid_alive "$(cat "$dir/etcd.pid")"; then fail_up "etcd exited while kube-apiserver was starting (log: $dir/etcd.log)"; fi
    [ $SECONDS -lt $deadline ] || fail_up "kube-apiserver was not ready within ${UP_TIMEOUT}s (log: $dir/kube-apiserver.log)"
    sleep 0.3
  done
  write_kubeconfig "$dir" "$api_url"

  # kube-controller-manager, with only the controllers that act on API objects alone: namespace
  # deletion (a deleted namespace is emptied and goes, as on a cluster), garbage collection
  # (ownerReferences cascade), each namespace's "default" ServiceAccount and kube-root-ca.crt,
  # and ClusterRole aggregation (admin/edit/view). No node, pod or workload controllers: there
  # is no kubelet, so nothing would run.
  start_bg "$dir/kube-controller-manager.log" "$dir/kube-controller-manager.pid" "$KUBE_DIR/kube-controller-manager" \
    --kubeconfig "$dir/kubeconfig" --leader-elect=false --secure-port 0 \
    --controllers namespace-controller,garbage-collector-controller,serviceaccount-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller \
    --root-ca-file "$dir/pki/ca.crt" --use-service-account-credentials=false --v=1
  # Ready once it has made the default namespace's ServiceAccount.
  deadline=$((SECONDS + 60))
  until https_ok "$dir" "$api_url/api/v1/namespaces/default/serviceaccounts/default"; do
    pid_alive "$(cat "$dir/kube-controller-manager.pid")" \
      || fail_up "kube-controller-manager exited: $(grep -E '^(E|F)[0-9]{4}|Error:' "$dir/kube-controller-manager.log" | tail -n1 | cut -c1-300) (log: $dir/kube-controller-manager.log)"
    [ $SECONDS -lt $deadline ] || fail_up "kube-controller-manager made no default ServiceAccount within 60s (log: $dir/kube-controller-manager.log)"
    sleep 0.3
  done

  cat > "$dir/envtest.env" <<EOF
TIDE_ENVTEST_DIR=$dir
TIDE_ENVTEST_URL=$api_url
TIDE_ENVTEST_KUBECONFIG=$dir/kubeconfig
TIDE_ENVTEST_ETCD_URL=$etcd_url
TIDE_ENVTEST_KUBECTL=$KUBE_DIR/kubectl
TIDE_ENVTEST_HELM=$HELM_DIR/helm
TIDE_ENVTEST_KUBE_VERSION=$KUBE_VERSION
TIDE_ENVTEST_HELM_VERSION=$HELM_VERSION
TIDE_ENVTEST_ETCD_VERSION=$("$ETCD" --version 2>/dev/null | sed -n 's/^etcd Version: //p')
TIDE_ENVTEST_SA_ISSUER=$issuer
EOF
  say "up in $((SECONDS - start))s: kube-apiserver $KUBE_VERSION at $api_url, etcd at $etcd_url; KUBECONFIG=$dir/kubeconfig"
}

# Stops only the processes whose pids `up` wrote into DIR, and only if each pid is still the
# program it started (its command line names DIR; a pid reused by something else is left
# alone): first the API server and the controller manager together, then etcd.
cmd_down() {
  local dir="$1"
  [ -d "$dir" ] || die "down: no such directory $dir"
  dir="$(cd "$dir" && pwd)"
  local stopped=() group f pid i
  for group in "kube-controller-manager kube-apiserver" "etcd"; do
    local pids=()
    for f in $group; do
      [ -f "$dir/$f.pid" ] || continue
      pid="$(cat "$dir/$f.pid" 2>/dev/null || true)"
      if pid_alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/"; then
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
        stopped+=("$f")
      fi
      rm -f "$dir/$f.pid"
    done
    for pid in "${pids[@]}"; do
      for i in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
      pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    done
  done
  if [ ${#stopped[@]} -eq 0 ]; then say "nothing running in $dir"; else say "stopped ${stopped[*]} ($dir)"; fi
}
