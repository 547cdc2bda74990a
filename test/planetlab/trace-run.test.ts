import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readTraceDir } from '../../src/sim/trace.ts';
import { runTrace, type TraceRunResult } from '../../src/sim/datacentre/run-trace.ts';
import { CLOUDSIM_SETUP } from '../../src/sim/datacentre/setup.ts';
import { oracleEnergy } from '../../src/sim/oracle/oracle.ts';
import { checkPlan } from '../../src/planner/invariants.ts';
import { DEFAULT_POLICY } from '../../src/planner/plan.ts';
import { sharedPath } from './shared-data.ts';

const DAY = '20110306';
const traces = readTraceDir(sharedPath('planetlab', DAY));

test('the CloudSim setup embedded in code is the one in power-models.json', () => {
  const json = JSON.parse(readFileSync(sharedPath('power-models.json'), 'utf8'));
  const cs = json.cloudsimPlanetLabSetup;
  assert.equal(CLOUDSIM_SETUP.hostCount, cs.hosts.count);
  assert.equal(CLOUDSIM_SETUP.intervalSeconds, cs.schedulingIntervalSeconds);
  assert.equal(CLOUDSIM_SETUP.durationSeconds, cs.simulationLengthSeconds);
  CLOUDSIM_SETUP.hostTypes.forEach((t, i) => {
    assert.equal(t.coreMips, cs.hosts.types[i].mips);
    assert.equal(t.cores, cs.hosts.types[i].cores);
    assert.equal(t.memoryMiB, cs.hosts.types[i].ramMiB);
    assert.deepEqual([...t.watts], json.models[t.model].watts);
  });
  assert.deepEqual(CLOUDSIM_SETUP.vmTypes.map((v) => [v.mips, v.vcpus, v.memoryMiB]), cs.vmTypes.map((v: { mips: number; cores: number; ramMiB: number }) => [v.mips, v.cores, v.ramMiB]));
});

test('a reduced data centre: every plan keeps the invariants and the oracle is below every strategy', () => {
  const subset = traces.slice(0, 160);
  const setup = { ...CLOUDSIM_SETUP, hostCount: 120, durationSeconds: 12 * 3600 };
  const oracle = oracleEnergy(subset, setup).lowerKWh;
  const results: TraceRunResult[] = [];
  for (const strategy of ['npa', 'paper', 'lr-mmt', 'tide'] as const) {
    let plans = 0;
    const result = runTrace(subset, {
      strategy,
      setup,
      onPlan: (snapshot, plan) => {
        plans++;
        assert.deepEqual(checkPlan(snapshot, { ...DEFAULT_POLICY, minHostsOn: 0, strategy }, plan), []);
        const moved = plan.actions.filter((a) => a.type === 'migrate').map((a) => (a as { vm: string }).vm);
        assert.equal(new Set(moved).size, moved.length, 'no VM moves twice in one plan');
        for (const a of plan.actions) assert.ok(a.message.length > 0 && !a.message.includes('\n'), `one-line reason: ${a.message}`);
      },
    });
    assert.equal(plans, 144);
    assert.ok(oracle <= result.energyKWh, `oracle ${oracle} kWh > ${strategy} ${result.energyKWh} kWh`);
    results.push(result);
  }
  const [npa, , lr, tide] = results;
  assert.equal(npa.migrations, 0);
  assert.ok(lr.energyKWh < npa.energyKWh && tide.energyKWh < npa.energyKWh, 'consolidation saves energy');
});

test("realistic mode: no plan puts more than a host's memory on it, and idle VMs stay", () => {
  const subset = traces.slice(0, 120);
  const setup = { ...CLOUDSIM_SETUP, hostCount: 120, durationSeconds: 6 * 3600, cloudsimCompat: false };
  for (const strategy of ['lr-mmt', 'tide'] as const) {
    let largest = 0;
    const result = runTrace(subset, {
      strategy,
      setup,
      onPlan: (snapshot, plan) => {
        assert.ok(snapshot.hosts.every((h) => h.memoryMiB === 4096));
        assert.equal(snapshot.vms.length, subset.length, 'no VM leaves in realistic mode');
        assert.deepEqual(checkPlan(snapshot, { ...DEFAULT_POLICY, minHostsOn: 0, strategy }, plan), []);
      },
    });
    for (const h of result.datacentre.hosts) largest = Math.max(largest, h.resident.reduce((sum, vm) => sum + vm.type.memoryMiB, 0));
    assert.ok(largest <= 4096, `${strategy}: a host ends with ${largest} MiB of VMs`);
    assert.ok(result.migrations > 0, `${strategy} consolidates within memory`);
  }
});

test(`full day ${DAY}: lr-mmt lands near CloudSim's LR-MMT 1.2 and tide beats it on ESV with fewer migrations`, () => {
  const reference = JSON.parse(readFileSync(sharedPath('cloudsim-reference.json'), 'utf8')).days[DAY]['lr-mmt-1.2'];
  const lr = runTrace(traces, { strategy: 'lr-mmt' });
  assert.ok(Math.abs(lr.energyKWh / reference.energyKWh - 1) < 0.1, `energy ${lr.energyKWh} vs CloudSim ${reference.energyKWh}`);
  assert.ok(Math.abs(lr.migrations / reference.migrations - 1) < 0.25, `migrations ${lr.migrations} vs CloudSim ${reference.migrations}`);
  assert.ok(Math.abs(lr.sla.slatah * 100 - reference.slatahPercent) < 1.5, `SLATAH ${lr.sla.slatah * 100} % vs ${reference.slatahPercent} %`);
  assert.ok(Math.abs(lr.sla.pdm * 100 - reference.pdmPercent) < 0.02, `PDM ${lr.sla.pdm * 100} % vs ${reference.pdmPercent} %`);
  const tide = runTrace(traces, { strategy: 'tide' });
  assert.ok(tide.sla.esv < lr.sla.esv, `tide ESV ${tide.sla.esv} ≥ lr-mmt ${lr.sla.esv}`);
  assert.ok(tide.migrations <= lr.migrations, `tide ${tide.migrations} migrations > lr-mmt ${lr.migrations}`);
  assert.ok(lr.planningMs.mean < 1000 && tide.planningMs.mean < 1000);
});
