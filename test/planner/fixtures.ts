/** Small builders for hand-written planner snapshots (the paper's two-node lab and variants). */
import { DEFAULT_POLICY } from '../../src/planner/plan.ts';
import type { HostSnapshot, PlannerPolicy, Snapshot, VmSnapshot } from '../../src/planner/types.ts';

export function host(name: string, extra: Partial<HostSnapshot> = {}): HostSnapshot {
  return { name, cpuCores: 4, memoryMiB: 16384, powerState: 'on', standbyAllowed: true, maintenance: false, ...extra };
}

export function vm(name: string, on: string, cpuLoadPercent: number, extra: Partial<VmSnapshot> = {}): VmSnapshot {
  return { name, host: on, vcpus: 2, memoryMiB: 1024, cpuLoadPercent, doNotMigrate: false, ...extra };
}

export function snapshot(hosts: HostSnapshot[], vms: VmSnapshot[], atMs = 1_700_000_000_000): Snapshot {
  return { atMs, hosts, vms };
}

export function policy(extra: Partial<PlannerPolicy> = {}): PlannerPolicy {
  return { ...DEFAULT_POLICY, ...extra };
}

/** §4.2: VMs at 80 % and 40 % with two at 20 % on node100, four at 20 % on node200. */
export function paperBalanceSnapshot(): Snapshot {
  return snapshot(
    [host('node100', { idleWatts: 69 }), host('node200', { idleWatts: 58 })],
    [
      vm('vm-80', 'node100', 80), vm('vm-40', 'node100', 40), vm('vm-20a', 'node100', 20), vm('vm-20b', 'node100', 20),
      vm('vm-20c', 'node200', 20), vm('vm-20d', 'node200', 20), vm('vm-20e', 'node200', 20), vm('vm-20f', 'node200', 20),
    ],
  );
}

/** §4.1: four idle VMs of 2 vCPU / 1 GiB on each of two hosts. */
export function paperIdleSnapshot(): Snapshot {
  return snapshot(
    [host('node100', { idleWatts: 69 }), host('node200', { idleWatts: 58 })],
    [1, 2, 3, 4, 5, 6, 7, 8].map((i) => vm(`vm-${i}`, i <= 4 ? 'node100' : 'node200', 0)),
  );
}

/** Host loads (points) in a snapshot, from its VMs: what the planner sees. */
export function hostLoads(s: Snapshot): Record<string, number> {
  const loads: Record<string, number> = {};
  for (const h of s.hosts) loads[h.name] = 0;
  for (const v of s.vms) {
    const h = s.hosts.find((x) => x.name === v.host)!;
    loads[v.host] += (v.cpuLoadPercent * v.vcpus) / h.cpuCores;
  }
  return loads;
}
