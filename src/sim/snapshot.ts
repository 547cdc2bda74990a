/** What the planner sees of the simulated data centre: a Snapshot, as the controller builds one. */
import type { HostSnapshot, Snapshot, VmSnapshot } from '../planner/types.ts';
import type { SimDataCentre } from './datacentre.ts';

export function snapshotOf(dc: SimDataCentre): Snapshot {
  const hosts: HostSnapshot[] = [];
  const vms: VmSnapshot[] = [];
  for (const host of dc.hosts.values()) {
    const { spec } = host;
    hosts.push({
      name: spec.name,
      cpuCores: spec.cpuCores,
      memoryMiB: spec.memoryMiB,
      powerState: host.powerState,
      standbyAllowed: spec.standbyAllowed,
      maintenance: spec.maintenance,
      idleWatts: spec.power.idleWatts,
      peakWatts: spec.power.peakWatts,
      ...(host.lastPowerActionAtMs !== undefined && { lastPowerActionAtMs: host.lastPowerActionAtMs }),
    });
    for (const vm of host.vms) {
      vms.push({
        name: vm.spec.name,
        host: spec.name,
        vcpus: vm.spec.vcpus,
        memoryMiB: vm.spec.memoryMiB,
        cpuLoadPercent: vm.load,
        // A VM whose migration is still running stays put until it lands.
        doNotMigrate: vm.spec.doNotMigrate || vm.migration !== undefined,
        ...(vm.spec.pinnedHost !== undefined && { pinnedHost: vm.spec.pinnedHost }),
        ...(vm.spec.antiAffinityGroup !== undefined && { antiAffinityGroup: vm.spec.antiAffinityGroup }),
        ...(vm.lastMigratedAtMs !== undefined && { lastMigratedAtMs: vm.lastMigratedAtMs }),
      });
    }
  }
  return { atMs: dc.now(), hosts, vms };
}
