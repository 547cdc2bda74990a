/**
 * Property tests of the oracle on random small data centres and traces, in both modes: the
 * lower bound is below every strategy's energy (for every run that stays within its hosts'
 * capacity, which is what the bound assumes — see src/sim/oracle/lower-bound.ts), and below the
 * reachable packing in every interval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runTrace } from '../../src/sim/datacentre/run-trace.ts';
import type { DatacentreSetup, HostType, VmType } from '../../src/sim/datacentre/setup.ts';
import { oracleEnergy } from '../../src/sim/oracle/oracle.ts';
import type { Trace } from '../../src/sim/trace.ts';

const STRATEGIES = ['npa', 'paper', 'lr-mmt', 'tide'] as const;

/** A non-decreasing SPECpower-style table, convex or not. */
const tableArb = fc.tuple(fc.integer({ min: 40, max: 120 }), fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 10, maxLength: 10 }))
  .map(([idle, steps]) => steps.reduce((t, d) => [...t, t[t.length - 1] + d], [idle]));

const hostTypeArb: fc.Arbitrary<HostType> = fc.record({
  model: fc.constant(''),
  watts: tableArb,
  coreMips: fc.constantFrom(1000, 1860, 2660),
  cores: fc.constantFrom(1, 2),
  memoryMiB: fc.constantFrom(2048, 4096),
  bandwidthMbps: fc.constant(1000),
});

/** Hosts of one or two models, VMs every host's memory can take and the fastest core can run. */
const worldArb = fc
  .record({
    hostTypes: fc.array(hostTypeArb, { minLength: 1, maxLength: 2 }).map((ts) => ts.map((t, i) => ({ ...t, model: `model-${i}` }))),
    vmSizes: fc.array(fc.record({ mips: fc.constantFrom(500, 1000, 2000, 2500), memoryMiB: fc.constantFrom(613, 870, 1740) }), { minLength: 1, maxLength: 4 }),
    vms: fc.integer({ min: 1, max: 6 }),
    spareHosts: fc.integer({ min: 0, max: 2 }),
    samples: fc.integer({ min: 3, max: 8 }),
    cloudsimCompat: fc.boolean(),
    withMemory: fc.boolean(),
  })
  .chain((w) => {
    const fastest = Math.max(...w.hostTypes.map((t) => t.coreMips));
    const vmTypes: VmType[] = w.vmSizes.map((v) => ({ mips: Math.min(v.mips, fastest), vcpus: 1, memoryMiB: v.memoryMiB }));
    // Every VM can have a host of the fastest model to itself: the initial placement never fails.
    const setup: DatacentreSetup = {
      hostCount: w.hostTypes.length * w.vms + w.spareHosts,
      hostTypes: w.hostTypes,
      vmTypes,
      intervalSeconds: 300,
      durationSeconds: (w.samples - 1) * 300,
      cloudsimCompat: w.cloudsimCompat,
      migrationDegradation: 0.1,
    };
    const load = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 30 }));
    const trace = fc.tuple(fc.array(load, { minLength: w.samples, maxLength: w.samples }), fc.array(fc.integer({ min: 10, max: 100 }), { minLength: w.samples, maxLength: w.samples }));
    const traces = fc.array(trace, { minLength: w.vms, maxLength: w.vms }).map((ts): Trace[] =>
      ts.map(([samples, memory], i) => ({ name: `vm-${i}`, file: `vm-${i}`, samples, ...(w.withMemory && { memory }) })),
    );
    return traces.map((t) => ({ setup, traces: t }));
  });

test('the lower bound is below every strategy that stays within capacity, and below the packing in every interval', () => {
  let runs = 0;
  let checked = 0;
  fc.assert(
    fc.property(worldArb, ({ setup, traces }) => {
      const oracle = oracleEnergy(traces, setup);
      oracle.intervals.forEach((i, k) => assert.ok(i.lowerJoules <= i.upperJoules * (1 + 1e-12), `interval ${k}: lower ${i.lowerJoules} J > packing ${i.upperJoules} J`));
      for (const strategy of STRATEGIES) {
        const result = runTrace(traces, { strategy, setup, initialPlacement: strategy === 'npa' ? 'first-fit' : 'power-aware' });
        runs++;
        if (result.overCapacityHostSeconds > 0) continue;
        checked++;
        // The relative slack is float noise: on one host with a linear table the bound is exact.
        assert.ok(oracle.lowerKWh <= result.energyKWh * (1 + 1e-9), `${strategy}: lower bound ${oracle.lowerKWh} kWh > ${result.energyKWh} kWh`);
      }
    }),
    { numRuns: 300 },
  );
  // Most runs must be checked, or the property says little.
  assert.ok(checked >= runs * 0.6, `only ${checked} of ${runs} runs stayed within capacity`);
});
