/**
 * The chaos soak (bench/soak) in CI: a short soak of a few seeds through the whole operator
 * must keep every invariant, lose no VM, converge, and inject every fault kind that does not need
 * a host to be woken or switched off; and the
 * checker must be able to fail — a driver that switches off the wrong host is caught.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS, faultSchedule } from '../../bench/soak/faults.ts';
import { checkFleet, checkMigrationStart } from '../../bench/soak/invariants.ts';
import { shrinkFaults } from '../../bench/soak/shrink.ts';
import { runSoak } from '../../bench/soak/soak.ts';
import { SimDataCentre } from '../../src/sim/datacentre.ts';
import { SimPowerDriver } from '../../src/sim/drivers.ts';
import { constantLoad } from '../../src/sim/load.ts';
import { linearPower } from '../../src/sim/power-model.ts';

test('short soak: every fault kind injected, no violation, no VM lost, the fleet converges', async () => {
  const totals: Record<string, number> = {};
  for (const seed of [11, 12, 13]) {
    // Loads that change every 5 minutes, half the VMs hot, one host starting off: hosts are woken
    // and emptied, so the one-shot faults (kill points, migration and wake-up faults) find actions to hit.
    const r = await runSoak({ seed, rounds: 40, hosts: 5, vms: 20, meanGap: 2, load: { periodSeconds: 300, hotShare: 0.5, offHosts: 1 }, drainRounds: 80 });
    assert.equal(r.violations, 0, `seed ${seed}: ${JSON.stringify(r.firstViolations)}`);
    assert.equal(r.vmsLost, 0, `seed ${seed}: VMs lost`);
    assert.ok(r.converged, `seed ${seed}: converged within K rounds`);
    assert.ok(r.migrations > 0, `seed ${seed}: the operator migrated VMs (${r.migrations})`);
    for (const [kind, n] of Object.entries(r.faults)) totals[kind] = (totals[kind] ?? 0) + n;
  }
  // Waking a host needs an overload on a consolidated fleet, which 40 short rounds do not reliably
  // reach (the long soak in docs/soak.md injects these three too); every other kind must be hit.
  const needPowerActions = new Set(['wake-fail', 'wake-late', 'operator-kill-mid-power-off']);
  const missing = FAULT_KINDS.filter((k) => !(totals[k] > 0) && !needPowerActions.has(k));
  assert.deepEqual(missing, [], `every fault kind injected at least once: ${JSON.stringify(totals)}`);
});

test('the checker can fail: a power driver that switches off the wrong host (one with VMs) is caught', async () => {
  const r = await runSoak({
    seed: 5,
    rounds: 0,
    hosts: 4,
    vms: 12,
    faults: [],
    convergeRounds: 120,
    stopAtViolation: true,
    // A mis-wired power driver: asked to switch one host off, it switches off another that runs VMs.
    power: (clock) => {
      const sim = new SimPowerDriver(clock);
      return {
        powerOn: (t, s) => sim.powerOn(t, s),
        powerOff: async (t, s) => {
          const wrong = [...clock.dc.hosts.values()].find((h) => h.spec.name !== t.name && h.powerState === 'on' && h.vms.size > 0);
          if (wrong) wrong.powerState = 'off';
          return sim.powerOff(t, s);
        },
      };
    },
  });
  assert.ok(r.violations > 0, 'violations found');
  const kinds = new Set(r.firstViolations.map((v) => v.kind));
  assert.ok(kinds.has('host-off-with-vm'), `host-off-with-vm among ${[...kinds]}`);
  assert.ok(kinds.has('vm-lost'), `vm-lost among ${[...kinds]}`);
  assert.ok(r.vmsLost > 0);
});

function tinyDc(): SimDataCentre {
  const host = (name: string) => ({ name, cpuCores: 4, memoryMiB: 8192, power: linearPower(50, 100), offWatts: 0, bootSeconds: 60, shutdownSeconds: 30, powerState: 'on' as const, standbyAllowed: true, maintenance: false, meterId: name });
  const vm = (name: string, on: string) => ({ name, host: on, vcpus: 1, memoryMiB: 1024, load: constantLoad(10), doNotMigrate: false });
  return new SimDataCentre([host('a'), host('b')], [vm('v1', 'a'), vm('v2', 'b')], { bandwidthMbps: 1000, overheadSeconds: 1, cpuPercent: 10 }, 0);
}

test('checkFleet names each broken invariant', () => {
  const dc = tinyDc();
  const rules = { vms: ['v1', 'v2'], minHostsOn: 2, fixed: new Map([['v2', 'b']]) };
  assert.deepEqual(checkFleet(dc, rules), []);
  const b = dc.hosts.get('b')!;
  const v2 = dc.vms.get('v2')!;
  b.vms.delete(v2);
  dc.hosts.get('a')!.vms.add(v2);
  v2.host = dc.hosts.get('a')!;
  dc.hosts.get('a')!.powerState = 'shutting-down';
  const kinds = checkFleet(dc, rules).map((v) => v.kind).sort();
  assert.deepEqual(kinds, ['below-min-hosts-on', 'host-off-with-vm', 'pinned-moved', 'vm-lost', 'vm-lost']);
  b.vms.add(v2); // now on two hosts
  assert.ok(checkFleet(dc, rules).some((v) => v.kind === 'vm-on-two-hosts'));
  assert.deepEqual(checkMigrationStart('v1', 100_000, 50_000, 60_000, new Map()).map((v) => v.kind), ['migration-cooldown']);
  assert.deepEqual(checkMigrationStart('v1', 200_000, 50_000, 60_000, new Map()), []);
});

test('the fault schedule follows from the seed alone, and shrinking finds the one fault that matters', async () => {
  assert.deepEqual(faultSchedule(7, 500), faultSchedule(7, 500));
  assert.notDeepEqual(faultSchedule(7, 500), faultSchedule(8, 500));
  const faults = faultSchedule(7, 500);
  const culprit = faults[13];
  const { faults: shortest } = await shrinkFaults(faults, async (subset) => subset.includes(culprit), 100);
  assert.deepEqual(shortest, [culprit]);
});
