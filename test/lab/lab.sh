#!/usr/bin/env bash
# A lab of libvirt hypervisor hosts on one machine, for tests and benchmarks.
#
# Each host is a network namespace <prefix>-<host> joined to a bridge in namespace <prefix>-sw
# (addresses 10.213.0.<10+index>, nothing routed anywhere else), with a private mount and UTS
# namespace in which its own /etc/libvirt, /var/lib/libvirt, /run/libvirt, /var/cache/libvirt and
# /var/log/libvirt are bind-mounted from the host's folder, and its own virtlogd, libvirtd
# (listening on qemu+tcp inside the lab, for migration) and sshd (own host key, key-only auth).
# A lab lives in /tmp/tidelab/<prefix>; the prefix is unique per lab so that labs left by a
# killed run are found and removed (clean-stale) without touching anyone else's.
#
#   lab.sh up LABDIR OWNER_PID            create the lab: switch, client key, guest image, accel
#   lab.sh host-up LABDIR HOST INDEX      power a host on (build namespace, start daemons)
#   lab.sh host-down LABDIR HOST [--force]  power a host off; refuses while it runs domains
#                                          unless --force (which kills them, like pulling the plug)
#   lab.sh guest-start LABDIR HOST NAME VCPUS MEMORY_MIB LOAD_PERCENT
#   lab.sh libvirtd-stop LABDIR HOST      stop the host's libvirtd alone: its guests keep running
#                                          (what a package upgrade does while it restarts libvirtd)
#   lab.sh libvirtd-start LABDIR HOST     start it again; it finds its running guests
#   lab.sh exec LABDIR HOST COMMAND...    run a command inside a host (virsh, ...)
#   lab.sh nic-up LABDIR HOST INDEX       give a host its standby NIC: a namespace of its own
#                                          (<prefix>-<host>-nic, 10.213.0.<200+index>) on the switch
#                                          that lives while the host is off, where Wake-on-LAN
#                                          packets arrive; the switch gets 10.213.0.1 to send from
#   lab.sh nic-exec LABDIR HOST COMMAND...  run a command in a host's standby NIC namespace (nft, ...)
#   lab.sh switch-exec LABDIR COMMAND...  run a command in the switch namespace (10.213.0.1)
#   lab.sh down LABDIR                    tear the whole lab down (idempotent)
#   lab.sh clean-stale                    tear down every lab whose owner process is gone
set -euo pipefail

LAB_BASE=/tmp/tidelab
SUBNET=10.213.0
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "lab: $*" >&2; exit 1; }
prefix_of() { basename "$1"; }
host_ns() { echo "$(prefix_of "$1")-$2"; }
switch_ns() { echo "$(prefix_of "$1")-sw"; }
host_address() { echo "$SUBNET.$((10 + $(cat "$1/hosts/$2/index")))"; }
check_name() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$ ]] || die "invalid name '$1'"; }
check_labdir() { [[ $1 == "$LAB_BASE"/tl[0-9a-f]* ]] || die "lab folder must be $LAB_BASE/tl<hex>, not '$1'"; }

# A live process's start time (which tells it from a later one with the same pid); empty for a
# process that is gone or a zombie (a killed test runner may linger as one for a while).
process_identity() {
  local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  local rest=${stat##*) } # fields after "(comm)": state is the 1st, starttime the 20th
  set -- $rest
  [ "$1" = Z ] || echo "${20}"
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_from() { [ -s "$1" ] && tr -dc '0-9' < "$1" || true; }

# Stops a process by pid: TERM, then KILL after a grace period.
stop_pid() {
  local pid=$1 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2 i; shift 2
  for i in $(seq 1 $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "timed out after ${seconds}s waiting for $what"
}

# Removes a network namespace and kills whatever still runs in it (guests, sessions, daemons).
remove_ns() {
  ip netns list | grep -qx "$1\( .*\)\?" || return 0
  local pids; pids=$(ip netns pids "$1" 2>/dev/null || true)
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  ip netns del "$1" 2>/dev/null || true
}

in_host() { # in_host LABDIR HOST COMMAND...: runs inside the host's namespaces
  local labdir=$1 host=$2; shift 2
  local holder; holder=$(pid_from "$labdir/hosts/$host/holder.pid")
  alive "$holder" || die "host $host is off"
  nsenter -t "$holder" -m -n -u -- "$@"
}

cmd_up() {
  local labdir=$1 owner=$2
  check_labdir "$labdir"
  mkdir -p "$labdir/hosts"
  echo "$owner $(process_identity "$owner")" > "$labdir/owner"
  local sw; sw=$(switch_ns "$labdir")
  if ! ip netns list | grep -qx "$sw\( .*\)\?"; then
    ip netns add "$sw"
    ip -n "$sw" link set lo up
    ip -n "$sw" link add br0 type bridge
    ip -n "$sw" link set br0 up
  fi
  [ -e "$labdir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C "tide-lab" -f "$labdir/client_key"
  cp "$labdir/client_key.pub" "$labdir/authorized_keys"
  bash "$HERE/guest/build-initramfs.sh" "$labdir/guest"
  [ -s "$labdir/accel" ] || detect_accel "$labdir" > "$labdir/accel"
}

# KVM when /dev/kvm really works, TCG otherwise; TIDE_LAB_ACCEL=tcg forces TCG. "Works" means the
# lab's own guest boots to its init under KVM: on some nested hosts /dev/kvm opens and QEMU starts
# but the guest kernel hangs. The answer is cached per kernel and QEMU version.
detect_accel() {
  local labdir=$1
  [ "${TIDE_LAB_ACCEL:-}" = tcg ] && { echo qemu; return; }
  [ -c /dev/kvm ] || { echo qemu; return; }
  local cache; cache="$LAB_BASE/accel-$( (qemu-system-x86_64 --version; cat "$labdir/guest/vmlinuz") | cksum | cut -d' ' -f1)"
  [ -s "$cache" ] && { cat "$cache"; return; }
  local out=$labdir/kvm-probe.log pid i answer=qemu
  qemu-system-x86_64 -accel kvm -m 96 -display none -nodefaults -serial "file:$out" -no-reboot \
    -kernel "$labdir/guest/vmlinuz" -initrd "$labdir/guest/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet tide.load=0" </dev/null >/dev/null 2>&1 &
  pid=$!
  for i in $(seq 1 75); do
    grep -q 'tide guest:' "$out" 2>/dev/null && { answer=kvm; break; }
    alive "$pid" || break
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
  echo "$answer" > "$cache"
  echo "$answer"
}

cmd_host_up() {
  local labdir=$1 host=$2 index=$3
  check_labdir "$labdir"; check_name "$host"
  [[ $index =~ ^[0-9]+$ ]] && [ "$index" -lt 200 ] || die "invalid host index '$index'"
  local hdir=$labdir/hosts/$host ns; ns=$(host_ns "$labdir" "$host")
  alive "$(pid_from "$hdir/holder.pid")" && return 0
  mkdir -p "$hdir"
  echo "$index" > "$hdir/index"
  local addr; addr=$(host_address "$labdir" "$host")

  ip netns list | grep -qx "$ns\( .*\)\?" || ip netns add "$ns"
  ip -n "$ns" link set lo up
  if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
    ip -n "$(switch_ns "$labdir")" link add "h$index" type veth peer name eth0 netns "$ns"
    ip -n "$(switch_ns "$labdir")" link set "h$index" master br0 up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
  fi
  # A neighbour that went silent (a lab host powered off) is given up within about 10 s, not
  # Linux's default 30-45 s: a migration to a host that was just powered off otherwise waits that
  # long for "No route to host" when the source spoke to it before.
  ip netns exec "$ns" sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=5000 net.ipv4.neigh.eth0.delay_first_probe_time=1

  # What a real host keeps across reboots: its host key, libvirt config and persistent domains.
  [ -e "$hdir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "$host" -f "$hdir/ssh_host_ed25519_key"
  if [ ! -d "$hdir/etc-libvirt" ]; then
    cp -a /etc/libvirt "$hdir/etc-libvirt"
    rm -f "$hdir/etc-libvirt/qemu/networks/autostart/"*
    cat >> "$hdir/etc-libvirt/libvirtd.conf" <<EOF
# tide lab
listen_tls = 0
listen_tcp = 1
auth_tcp = "none"
listen_addr = "$addr"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
EOF
    cat >> "$hdir/etc-libvirt/qemu.conf" <<EOF
# tide lab
security_driver = "none"
# Notice a destination that vanished mid-migration within ~6 s rather than ~30 s.
keepalive_interval = 2
keepalive_count = 3
EOF
  fi
  # What a reboot loses: everything under /run.
  rm -rf "$hdir/run-libvirt"
  mkdir -p "$hdir"/{run-libvirt,var-lib-libvirt,cache-libvirt,log-libvirt}
  seed_qemu_capabilities "$hdir"
  cat > "$hdir/sshd_config" <<EOF
Port 22
ListenAddress $addr
HostKey $hdir/ssh_host_ed25519_key
PidFile $hdir/sshd.pid
AuthorizedKeysFile $labdir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 32
LogLevel VERBOSE
EOF
  rm -f "$hdir"/{holder,libvirtd,virtlogd,sshd}.pid
  setsid nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation private \
    bash "$0" _holder "$labdir" "$host" </dev/null >"$hdir/holder.log" 2>&1 &
  wait_for 20 "host $host namespace" test -s "$hdir/holder.pid"
  local holder; holder=$(pid_from "$hdir/holder.pid")
  in_host "$labdir" "$host" virtlogd -d -p "$hdir/virtlogd.pid"
  in_host "$labdir" "$host" libvirtd -d --listen -p "$hdir/libvirtd.pid"
  wait_for 60 "libvirtd on $host" in_host "$labdir" "$host" virsh -c qemu:///system version
  keep_qemu_capabilities "$hdir"
  mkdir -p /run/sshd
  in_host "$labdir" "$host" /usr/sbin/sshd -f "$hdir/sshd_config" -E "$hdir/sshd.log"
  wait_for 30 "sshd on $host" in_host "$labdir" "$host" bash -c "exec 3<>/dev/tcp/$addr/22"
  : "$holder"
}

# A fresh libvirtd probes QEMU's capabilities before it answers, about 4 of the 5 s a host takes
# to come up here. Every lab host runs the same QEMU on the same kernel, so the first host's
# probe results (libvirt's own cache files) seed the others'. libvirt still checks each file
# against the QEMU binary, its own version and the host CPU, and probes again if one changed.
CAPS_CACHE=$LAB_BASE/qemu-capabilities
seed_qemu_capabilities() {
  local caps=$1/cache-libvirt/qemu/capabilities
  [ -d "$CAPS_CACHE" ] && [ ! -d "$caps" ] || return 0
  mkdir -p "$caps"
  cp -p "$CAPS_CACHE"/*.xml "$caps"/ 2>/dev/null || true
}
keep_qemu_capabilities() {
  local caps=$1/cache-libvirt/qemu/capabilities tmp
  [ ! -d "$CAPS_CACHE" ] && compgen -G "$caps/*.xml" >/dev/null || return 0
  tmp=$(mktemp -d "$LAB_BASE/.qemu-capabilities-XXXXXX")
  cp -p "$caps"/*.xml "$tmp"/ && mv -T "$tmp" "$CAPS_CACHE" 2>/dev/null || rm -rf "$tmp"
}

# Runs as the first process of a host's mount + UTS namespace and keeps it alive.
cmd_holder() {
  local labdir=$1 host=$2 hdir=$1/hosts/$2 pair
  hostname "$host"
  for pair in etc-libvirt:/etc/libvirt var-lib-libvirt:/var/lib/libvirt run-libvirt:/run/libvirt \
    cache-libvirt:/var/cache/libvirt log-libvirt:/var/log/libvirt; do
    mkdir -p "${pair#*:}"
    mount --bind "$hdir/${pair%%:*}" "${pair#*:}"
  done
  # A hypervisor host's root has none of this machine's shell setup. Bash sources ~/.bashrc for
  # every command sshd runs, and here that ran pyenv's init, whose rehash lock stalled
  # concurrent SSH sessions for a minute when a killed shell left it behind.
  local home; home=$(getent passwd root | cut -d: -f6)
  if [ -f "$home/.bashrc" ]; then
    : > "$hdir/bashrc"
    mount --bind "$hdir/bashrc" "$home/.bashrc"
  fi
  echo $$ > "$hdir/holder.pid"
  exec sleep infinity
}

cmd_host_down() {
  local labdir=$1 host=$2 force=${3:-}
  check_labdir "$labdir"; check_name "$host"
  local hdir=$labdir/hosts/$host ns; ns=$(host_ns "$labdir" "$host")
  local holder; holder=$(pid_from "$hdir/holder.pid")
  if alive "$holder" && [ "$force" != --force ]; then
    local running
    running=$(in_host "$labdir" "$host" virsh -c qemu:///system list --name --state-running --state-paused 2>/dev/null | sed '/^$/d' || true)
    [ -z "$running" ] || die "host $host still runs domains: $(echo $running); migrate them away first (or --force)"
  fi
  local d
  # An orderly power-off stops the daemons; a forced one pulls the plug on everything at once.
  # The daemons stop side by side: libvirtd and virtlogd take about 2 s each to exit.
  if [ "$force" != --force ]; then
    for d in sshd libvirtd virtlogd; do stop_pid "$(pid_from "$hdir/$d.pid")" & done
    wait
  fi
  remove_ns "$ns"
  stop_pid "$holder"
  rm -f "$hdir"/{holder,libvirtd,virtlogd,sshd}.pid
  rm -rf "$hdir/run-libvirt"
}

cmd_guest_start() {
  local labdir=$1 host=$2 name=$3 vcpus=$4 memory=$5 load=$6
  check_labdir "$labdir"; check_name "$host"; check_name "$name"
  [[ $vcpus =~ ^[1-8]$ ]] || die "vcpus must be 1..8, not '$vcpus'"
  [[ $memory =~ ^[0-9]+$ ]] && [ "$memory" -ge 96 ] && [ "$memory" -le 1024 ] || die "memory must be 96..1024 MiB (the guest kernel needs 96), not '$memory'"
  [[ $load =~ ^[0-9]+$ ]] && [ "$load" -le 100 ] || die "load must be 0..100 %, not '$load'"
  local accel; accel=$(cat "$labdir/accel")
  local xml=$labdir/hosts/$host/$name.xml
  cat > "$xml" <<EOF
<domain type='$accel'>
  <name>$name</name>
  <memory unit='MiB'>$memory</memory>
  <vcpu>$vcpus</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$labdir/guest/vmlinuz</kernel>
    <initrd>$labdir/guest/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 tide.load=$load</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
  in_host "$labdir" "$host" virsh -q -c qemu:///system define "$xml" >/dev/null
  in_host "$labdir" "$host" virsh -q -c qemu:///system start "$name" >/dev/null
}

cmd_libvirtd_stop() {
  local labdir=$1 host=$2
  check_labdir "$labdir"; check_name "$host"
  local hdir=$labdir/hosts/$host
  alive "$(pid_from "$hdir/holder.pid")" || die "host $host is off"
  stop_pid "$(pid_from "$hdir/libvirtd.pid")"
  rm -f "$hdir/libvirtd.pid"
}

cmd_libvirtd_start() {
  local labdir=$1 host=$2
  check_labdir "$labdir"; check_name "$host"
  local hdir=$labdir/hosts/$host
  alive "$(pid_from "$hdir/libvirtd.pid")" && return 0
  in_host "$labdir" "$host" libvirtd -d --listen -p "$hdir/libvirtd.pid"
  wait_for 60 "libvirtd on $host" in_host "$labdir" "$host" virsh -c qemu:///system version
}

cmd_down() {
  local labdir=$1 hdir
  check_labdir "$labdir"
  [ -d "$labdir" ] || { ip netns del "$(switch_ns "$labdir")" 2>/dev/null || true; return 0; }
  for hdir in "$labdir"/hosts/*/; do
    [ -d "$hdir" ] && cmd_host_down "$labdir" "$(basename "$hdir")" --force
  done
  # A namespace of this lab whose host folder is gone (interrupted host-up) is removed as well.
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$(prefix_of "$labdir")-" || true); do
    remove_ns "$ns"
  done
  rm -rf "$labdir"
}

# The host's namespace exists only while it is on; a NIC that hears Wake-on-LAN must outlive it.
cmd_nic_up() {
  local labdir=$1 host=$2 index=$3
  check_labdir "$labdir"; check_name "$host"
  [[ $index =~ ^[0-9]+$ ]] && [ "$index" -lt 50 ] || die "invalid NIC index '$index' (0..49)"
  local sw; sw=$(switch_ns "$labdir")
  local ns; ns="$(host_ns "$labdir" "$host")-nic"
  ip -n "$sw" addr add "$SUBNET.1/24" brd + dev br0 2>/dev/null || true # already there: fine
  ip netns list | grep -qx "$ns\( .*\)\?" && return 0
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$sw" link add "n$index" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "n$index" master br0 up
  ip -n "$ns" addr add "$SUBNET.$((200 + index))/24" brd + dev eth0
  ip -n "$ns" link set eth0 up
}

cmd_clean_stale() {
  local labdir owner start
  for labdir in "$LAB_BASE"/tl*; do
    [ -d "$labdir" ] || continue
    read -r owner start < "$labdir/owner" 2>/dev/null || { owner=''; start=''; }
    [ -n "$owner" ] && [ -n "$start" ] && [ "$(process_identity "$owner")" = "$start" ] && continue
    echo "lab: removing stale lab $labdir" >&2
    cmd_down "$labdir"
  done
  # Namespaces of labs whose folder is already gone.
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E '^tl[0-9a-f]{8}-' || true); do
    [ -d "$LAB_BASE/${ns%%-*}" ] || remove_ns "$ns"
  done
}

[ "$(id -u)" = 0 ] || die "the lab needs root (network and mount namespaces)"
command=${1:-}; shift || true
case "$command" in
  up) cmd_up "$@" ;;
  host-up) cmd_host_up "$@" ;;
  host-down) cmd_host_down "$@" ;;
  guest-start) cmd_guest_start "$@" ;;
  libvirtd-stop) cmd_libvirtd_stop "$@" ;;
  libvirtd-start) cmd_libvirtd_start "$@" ;;
  exec) labdir=$1 host=$2; shift 2; check_labdir "$labdir"; in_host "$labdir" "$host" "$@" ;;
  nic-up) cmd_nic_up "$@" ;;
  nic-exec) labdir=$1 host=$2; shift 2; check_labdir "$labdir"; check_name "$host"; ip netns exec "$(host_ns "$labdir" "$host")-nic" "$@" ;;
  switch-exec) labdir=$1; shift; check_labdir "$labdir"; ip netns exec "$(switch_ns "$labdir")" "$@" ;;
  down) cmd_down "$@" ;;
  clean-stale) cmd_clean_stale ;;
  _holder) cmd_holder "$@" ;;
  *) die "usage: lab.sh up|host-up|host-down|guest-start|libvirtd-stop|libvirtd-start|exec|nic-up|nic-exec|switch-exec|down|clean-stale ..." ;;
esac
