/**
 * The drivers for real hosts: libvirt over SSH for observing and migrating, and the power
 * driver (Wake-on-LAN / IPMI / SSH poweroff) confirming each action by observing the host
 * through that same libvirt connection.
 */
import type { Clock } from '../api/clock.ts';
import type { HostTarget, HypervisorDriver, PowerDriver } from '../api/drivers.ts';
import type { HostLoadSource } from '../hypervisor/cpu-load.ts';
import { LibvirtSshDriver } from '../hypervisor/libvirt-ssh-driver.ts';
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
  const observe = async (host: HostTarget) => {
    const seen = await hypervisor.observeHost(host);
    if (seen.reachable) return 'on' as const;
    // A refused host key says nothing about power: never read it as "off".
    return seen.errorReason?.startsWith('HostKey') ? ('unknown' as const) : ('off' as const);
  };
  const power = new HostPowerDriver({
    clock: o.clock,
    observe,
    domainsOn: async (host) => {
      const seen = await hypervisor.observeHost(host);
      if (!seen.reachable) throw new Error(seen.error ?? `${host.name} unreachable`);
      return seen.domains.filter((d) => d.state !== 'shutoff').map((d) => d.name);
    },
    ...(o.powerPollMs ? { pollMs: o.powerPollMs } : {}),
  });
  return { hypervisor, power };
}
