/**
 * Scale: a day of 800 hosts and 1,500 VMs with PlanetLab-like loads at 5-minute steps runs in
 * seconds (the per-step cost is linear), and the data centre stays consistent throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceScenario } from '../../src/sim/trace-scenario.ts';
import { runSimulation } from '../../src/sim/run.ts';
import type { Trace } from '../../src/sim/trace.ts';

/** Seeded daily-shaped utilisation traces: quiet at night, busy by day, noisy. */
function traces(count: number): Trace[] {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: count }, (_, i) => {
    const base = 5 + rnd() * 30;
    const samples = Array.from({ length: 288 }, (_, k) => {
      const day = Math.sin((Math.PI * k) / 288) ** 2;
      return Math.round(Math.min(100, Math.max(0, base * (0.3 + day) + (rnd() - 0.5) * 20)));
    });
    return { name: `vm-${String(i).padStart(4, '0')}`, file: `synthetic/${i}`, samples };
  });
}

test('24 h of 800 hosts / 1,500 VMs at 5-minute steps takes seconds', (t) => {
  const scenario = traceScenario('synthetic', traces(1500), { hosts: 800 });
  const started = performance.now();
  const r = runSimulation(scenario);
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(`800 hosts / 1500 VMs / 24 h: ${seconds.toFixed(2)} s wall, ${r.rounds.length} rounds, ${r.actions.length} actions, ${r.energyWh.toFixed(0)} Wh`);
  assert.ok(seconds < 30, `took ${seconds} s`);
  assert.ok(r.rounds.length >= 200, 'most 5-minute rounds ran');
  assert.equal(r.vms.length, 1500);
  const memory = new Map(scenario.vms.map((v) => [v.name, v.memoryMiB]));
  for (const host of r.hosts) {
    const used = host.vms.reduce((sum, name) => sum + memory.get(name)!, 0);
    assert.ok(used <= 4096, `${host.name} holds ${used} MiB`);
    if (host.powerState === 'off') assert.deepEqual(host.vms, []);
  }
  // All 800 hosts on for 24 h would draw at least 800 × 86 W idle; consolidation must beat that.
  assert.ok(r.energyWh < 800 * 86 * 24, `${r.energyWh} Wh`);
  assert.ok(r.actions.some((a) => a.action.type === 'power-off'));
  assert.deepEqual(r.actions.filter((a) => a.outcome === 'failed').map((a) => a.error), [], 'every planned action could be carried out');
});
