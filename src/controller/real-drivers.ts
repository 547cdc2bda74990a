/**
 * The drivers for real hosts: libvirt over SSH for observing and migrating, and the power
 * driver (Wake-on-LAN / IPMI / SSH poweroff) confirming each action by observing the host
 * through that same libvirt connection.
 */
import type { Clock } from '../api/clock.ts';
import { isObservable, type HypervisorDriver, type ObservedHost, type PowerDriver } from '../api/drivers.ts';
import type { HostLoadSource } from '../hypervisor/cpu-load.ts';
import { LibvirtSshDriver } from '../hypervisor/libvirt-ssh-driver.ts';
import type { ObservedPower } from '../power/control/confirm.ts';
import { HostPowerDriver } from '../power/control/host-power-driver.ts';

export interface RealDriverOptions {
  clock: Clock;
  /** `domainSum` when several "hosts" share one machine (the test lab); `procStat` otherwise. */
  hostLoad?: HostLoadSource;
  /** How often a host is observed while a power action waits for confirmation. */
  powerPollMs?: number;
}

export function realDrivers(o: RealDriverOptions): { hypervisor: HypervisorDriver; power: PowerDriver } {
  const hypervisor = new LibvirtSshDriver({ clock: o.clock, ...(o.hostLoad ? { hostLoad: o.hostLoad } : {}) });
  return { hypervisor, power: powerDriverOver(hypervisor, o) };
}

/** The power driver of real hosts, observing them through `hypervisor`. */
export function powerDriverOver(hypervisor: HypervisorDriver, o: Pick<RealDriverOptions, 'clock' | 'powerPollMs'>): PowerDriver {
  return new HostPowerDriver({
    clock: o.clock,
    observe: async (host) => powerSeenIn(await hypervisor.observeHost(host)),
    domainsOn: async (host) => {
      const seen = await hypervisor.observeHost(host);
      // Empty only when libvirt answered in full: a failed `virsh` lists nothing, and means unknown.
      if (!isObservable(seen)) throw new Error(seen.error ?? `${host.name} cannot be observed`);
      return seen.domains.filter((d) => d.state !== 'shutoff').map((d) => d.name);
    },
    ...(o.powerPollMs ? { pollMs: o.powerPollMs } : {}),
  });
}

/**
 * What an observation through libvirt over SSH says about power. A host that answered SSH is on,
 * whether or not libvirt answered. One that did not answer is only 'unreachable' — what a host
 * that is off looks like, and also a network blip — never 'off': the power driver sends its
 * command anyway, and counts sustained unreachability as off only after a power-off was sent.
 * A refused host key, bad credentials or spec say nothing about power: 'unknown'.
 */
export function powerSeenIn(seen: ObservedHost): ObservedPower {
  if (seen.reachable) return 'on';
  if (seen.powerState === 'off') return 'off'; // a driver that really knows (none over SSH does)
  return seen.errorReason === 'Unreachable' ? 'unreachable' : 'unknown';
}
