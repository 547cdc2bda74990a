/** fast-check generators of random clusters and policies for the planner's property tests. */
import fc from 'fast-check';
import type { HostSnapshot, PlannerPolicy, Snapshot, VmSnapshot } from '../../src/planner/types.ts';

const NOW = 1_700_000_000_000;

/** `arb` in `percent` % of cases, null otherwise. */
function sometimes<T>(percent: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.tuple(fc.integer({ min: 0, max: 99 }), arb).map(([n, value]) => (n < percent ? value : null));
}

const hostArb = fc.record({
  cpuCores: fc.constantFrom(2, 4, 4, 4, 8),
  memoryMiB: fc.constantFrom(4096, 8192, 16384, 16384, 32768),
  powerState: fc.constantFrom('on', 'on', 'on', 'on', 'on', 'on', 'off', 'off', 'booting') as fc.Arbitrary<HostSnapshot['powerState']>,
  standbyAllowed: fc.integer({ min: 0, max: 4 }).map((n) => n !== 0),
  maintenance: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  // Emptied as maintenance, removal or powerPolicy Off ask; kept off (powerPolicy Off) too.
  evacuation: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'none', 'none', 'none', 'evacuate', 'keepOff'),
  measuredExtra: sometimes(30, fc.integer({ min: 0, max: 15 })),
  idleWatts: fc.integer({ min: 40, max: 120 }),
  poweredAgoMs: sometimes(30, fc.integer({ min: 0, max: 3_600_000 })),
});

const vmArb = fc.record({
  vcpus: fc.constantFrom(1, 2, 2, 4),
  memoryMiB: fc.constantFrom(512, 1024, 1024, 2048, 4096),
  // Mostly moderate loads, so that balancing and consolidation both get exercised.
  cpuLoadPercent: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 100 }), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 40 }), weight: 2 },
    { arbitrary: fc.constantFrom(0, 20, 40, 80), weight: 1 },
  ),
  hostIndex: fc.nat(),
  // Pinned VMs mostly sit on their host; now and then one is away from it.
  pinned: sometimes(8, fc.record({ away: fc.integer({ min: 0, max: 4 }).map((n) => n === 0), index: fc.nat() })),
  doNotMigrate: fc.integer({ min: 0, max: 14 }).map((n) => n === 0),
  antiAffinityGroup: sometimes(25, fc.constantFrom('db', 'web', 'cache')),
  migratedAgoMs: sometimes(25, fc.integer({ min: 0, max: 3_600_000 })),
});

export const clusterArb: fc.Arbitrary<Snapshot> = fc
  .record({ hosts: fc.array(hostArb, { minLength: 1, maxLength: 12, size: 'medium' }), vms: fc.array(vmArb, { maxLength: 40, size: 'medium' }) })
  .map(({ hosts, vms }) => {
    const hostSnaps: HostSnapshot[] = hosts.map((h, i) => ({
      name: `node${i + 1}`,
      cpuCores: h.cpuCores,
      memoryMiB: h.memoryMiB,
      powerState: h.powerState,
      standbyAllowed: h.standbyAllowed,
      maintenance: h.maintenance,
      ...(h.evacuation !== 'none' ? { evacuate: true } : {}),
      ...(h.evacuation === 'keepOff' ? { keepOff: true } : {}),
      idleWatts: h.idleWatts,
      peakWatts: h.idleWatts * 2,
      ...(h.poweredAgoMs !== null ? { lastPowerActionAtMs: NOW - h.poweredAgoMs } : {}),
    }));
    const on = hostSnaps.filter((h) => h.powerState === 'on');
    const vmSnaps: VmSnapshot[] = on.length === 0 ? [] : vms.map((v, i) => {
      const host = on[v.hostIndex % on.length].name;
      const pinnedHost = v.pinned && (v.pinned.away ? hostSnaps[v.pinned.index % hostSnaps.length].name : host);
      return {
      name: `vm-${i + 1}`,
      host,
      vcpus: v.vcpus,
      memoryMiB: v.memoryMiB,
      cpuLoadPercent: v.cpuLoadPercent,
      doNotMigrate: v.doNotMigrate,
      ...(pinnedHost ? { pinnedHost } : {}),
      ...(v.antiAffinityGroup !== null ? { antiAffinityGroup: v.antiAffinityGroup } : {}),
      ...(v.migratedAgoMs !== null ? { lastMigratedAtMs: NOW - v.migratedAgoMs } : {}),
      };
    });
    // Some hosts report a measured load a little above what their VMs explain (hypervisor overhead).
    hosts.forEach((h, i) => {
      if (h.measuredExtra === null || hostSnaps[i].powerState !== 'on') return;
      const explained = vmSnaps.filter((v) => v.host === hostSnaps[i].name).reduce((s, v) => s + (v.cpuLoadPercent * v.vcpus) / hostSnaps[i].cpuCores, 0);
      hostSnaps[i].cpuLoadPercent = explained + h.measuredExtra;
    });
    return { atMs: NOW, hosts: hostSnaps, vms: vmSnaps };
  });

export const policyArb: fc.Arbitrary<PlannerPolicy> = fc.record({
  strategy: fc.constantFrom('paper', 'paper', 'paper', 'paper', 'paper', 'npa') as fc.Arbitrary<PlannerPolicy['strategy']>,
  overloadThresholdPercent: fc.integer({ min: 40, max: 100 }),
  consolidationThresholdPercent: fc.integer({ min: 40, max: 100 }),
  balanceThresholdPercent: fc.integer({ min: 1, max: 30 }),
  minHostsOn: fc.integer({ min: 0, max: 4 }),
  maxMigrationsPerPlan: fc.constantFrom(0, 0, 1, 3, 10),
  migrationCooldownMs: fc.constantFrom(0, 600_000, 1_800_000),
  powerCooldownMs: fc.constantFrom(0, 600_000, 1_800_000),
  consolidationAllowed: fc.integer({ min: 0, max: 2 }).map((n) => n !== 0),
});
