/**
 * The last emptiness check and the power-off, as ONE remote command (issue 20, finding 4).
 *
 * Checking from Tide and then sending `systemctl poweroff` leaves a gap of one more SSH round trip
 * (seconds, with the observation in between) in which a `virsh start`, a manual migration or an
 * incoming migration lands unseen. Here the host's own shell asks libvirt and powers off only if
 * libvirt answered and listed no live domain; otherwise it exits non-zero with a message saying
 * why, and nothing is powered off.
 *
 * What counts as live: every domain not shut off — running, paused (an incoming migration's domain
 * is paused on its destination from libvirt's Prepare step until it is resumed), in shutdown,
 * crashed or pmsuspended (`--state-other`) — so `list --all` with those three state filters, on the
 * host's own libvirt URI. A libvirt that does not answer (libvirtd restarting, socket missing) is
 * a refusal too: its domains are unknown.
 *
 * The window that remains, honestly:
 * - libvirt has no way to refuse new domains while a check runs, so between `virsh list`
 *   returning and systemd queueing the power-off (milliseconds, inside one shell) a domain can
 *   still start or arrive; and after that, libvirtd keeps running until systemd stops it during the
 *   shutdown, so a domain can be started on a host that is already going down.
 * - What guards such a domain is the host's shutdown itself: libvirt-guests.service (enabled by
 *   Debian's libvirt-daemon-system) stops before libvirtd and saves (ON_SHUTDOWN=suspend, the
 *   default: `virsh managedsave`) or shuts down (ON_SHUTDOWN=shutdown) every running guest of the
 *   URIs it is given (URIS, default qemu:///system), so a late guest is saved or shut down in order,
 *   not cut off. A host without libvirt-guests is not guarded: systemd's final SIGTERM to the QEMU
 *   processes is a power cut for their guests (docs/power.md asks for libvirt-guests).
 * - An incoming migration is also guarded by libvirt's migration protocol: the source keeps the
 *   guest until the destination has resumed it, so a destination whose libvirtd stops first fails
 *   the migration and the guest stays on the source. Only one that completes in the window is
 *   exposed, and it is then a running guest like any other (previous point).
 * - The lock below serialises this check with anything else that takes the same lock: another Tide
 *   replica's power-off of the same host, or an administrator's `flock /run/lock/tide-poweroff.lock
 *   virsh start …`. It cannot stop a libvirt client that does not take it.
 */
import { quoteShellArg } from '../../hypervisor/shell-quote.ts';

export const POWEROFF_LOCK = '/run/lock/tide-poweroff.lock';

/** How the command ends when it refuses; any other non-zero exit is a failure of the command itself. */
export const REFUSED = { domainsLive: 65, libvirtSilent: 69, lockBusy: 75 } as const;

/**
 * The shell command that powers the host off only if libvirt at `libvirtUri` lists no live
 * domain. With `then: 'nothing'` it only checks (for a power-off sent another way, e.g. IPMI): it
 * exits 0 when the host is empty, as the other refuses.
 */
export function guardedPoweroffCommand(libvirtUri: string, then: 'poweroff' | 'nothing' = 'poweroff'): string {
  const uri = quoteShellArg(libvirtUri);
  const lock = quoteShellArg(POWEROFF_LOCK);
  const refuse = (code: number, why: string) => `{ echo ${quoteShellArg(`tide: refusing to power off: ${why}`)}"$detail" >&2; exit ${code}; }`;
  const script = [
    'detail=',
    `exec 9>>${lock} || ${refuse(REFUSED.lockBusy, `cannot open the lock ${POWEROFF_LOCK}`)}`,
    `flock -w 30 9 || ${refuse(REFUSED.lockBusy, `the lock ${POWEROFF_LOCK} stayed held for 30 s`)}`,
    // virsh's own error goes to stderr as it is, before our line.
    `live=$(virsh -c ${uri} list --all --name --state-running --state-paused --state-other) || ${refuse(REFUSED.libvirtSilent, `libvirt at ${libvirtUri} did not answer, so the domains on this host are unknown`)}`,
    // --name prints one name per line and a blank line; keep the names, space-separated.
    `detail=$(printf '%s\\n' "$live" | sed '/^[[:space:]]*$/d' | tr '\\n' ' ')`,
    `[ -z "$detail" ] || ${refuse(REFUSED.domainsLive, `libvirt at ${libvirtUri} lists live domains (running, paused or arriving, shutting down): `)}`,
    then === 'poweroff' ? 'exec systemctl poweroff' : 'exit 0',
  ].join('\n');
  return `sh -c ${quoteShellArg(script)}`;
}
