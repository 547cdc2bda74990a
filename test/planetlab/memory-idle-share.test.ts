/**
 * tide's idle share where memory binds (src/planner/strategies/tide.ts): a target is also
 * charged the VM's share of its idle watts by memory, but only when the VMs fill a larger share
 * of the hosts' memory than of their CPU. Hand-built snapshots in CloudSim's units (cores of
 * 1,000 MIPS; a G4 idles at 86 W, a G5 at 93.7 W but adds fewer watts per MIPS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterState } from '../../src/planner/cluster.ts';
import { DEFAULT_POLICY, plan } from '../../src/planner/plan.ts';
import { memoryBinds } from '../../src/planner/strategies/tide.ts';
import type { HostSnapshot, PlannerPolicy, Snapshot, VmSnapshot } from '../../src/planner/types.ts';

const policy: PlannerPolicy = { ...DEFAULT_POLICY, minHostsOn: 0, strategy: 'tide' };
const G4_WATTS = [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117];
const G5_WATTS = [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135];

function host(name: string, model: 'G4' | 'G5', memoryMiB: number): HostSnapshot {
  const g4 = model === 'G4';
  return { name, cpuCores: g4 ? 3.72 : 5.32, coreMips: g4 ? 1860 : 2660, memoryMiB, powerState: 'on', standbyAllowed: true, maintenance: false, idleWatts: g4 ? 86 : 93.7, peakWatts: g4 ? 117 : 135, powerCurveWatts: g4 ? G4_WATTS : G5_WATTS };
}
/** A 1,000-MIPS, 1-vCPU VM of 1,740 MiB at a steady load. */
function vm(name: string, on: string, load: number): VmSnapshot {
  return { name, host: on, vcpus: 1, vcpuMips: 1000, memoryMiB: 1740, cpuLoadPercent: load, doNotMigrate: false, cpuHistory: Array(10).fill(load) };
}

/** `src` (the least utilised) is emptied into the G4 `cheap` or the G5 `dear`; each has room for one more VM. */
function snapshot(hostMemoryMiB: number): Snapshot {
  return {
    atMs: 0,
    hosts: [host('src', 'G5', hostMemoryMiB), host('cheap', 'G4', hostMemoryMiB), host('dear', 'G5', hostMemoryMiB)],
    vms: [vm('mover', 'src', 5), vm('c1', 'cheap', 30), vm('d1', 'dear', 30)],
  };
}

test('memoryBinds compares the share of memory the VMs fill with the share of CPU they use', () => {
  assert.equal(memoryBinds(new ClusterState(snapshot(4096), policy)), true, '3 × 1,740 of 3 × 4,096 MiB against a few % of CPU');
  assert.equal(memoryBinds(new ClusterState(snapshot(1_000_000), policy)), false, 'CloudSim mode: memory never fills');
});

test('where memory binds, the VM goes to the host that idles cheaper per MiB; where CPU binds, to the one that adds the fewest watts', () => {
  const target = (memoryMiB: number) => {
    const moves = plan(snapshot(memoryMiB), policy).actions.flatMap((a) => (a.type === 'migrate' ? [[a.vm, a.to]] : []));
    // The least utilised host is emptied first; where memory does not limit, `cheap` follows it.
    assert.deepEqual(moves[0]?.[0], 'mover', JSON.stringify(moves));
    return moves[0][1];
  };
  // Memory binds: a 1,740-MiB VM takes 36.5 W of a G4's idle watts, 39.8 W of a G5's.
  assert.equal(target(4096), 'cheap');
  // CPU binds: only the watts the VM adds count, fewer on the G5 (+0.3 W against +0.5 W).
  assert.equal(target(1_000_000), 'dear');
});
