/** Scenario and trace files: the built-ins load, and bad input names file, line and field. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_SCENARIOS, loadScenario, parseScenario, ScenarioError } from '../../src/sim/scenario.ts';
import { parseTrace, readTraceDir, TraceError } from '../../src/sim/trace.ts';
import { traceScenario } from '../../src/sim/trace-scenario.ts';
import { runSimulation } from '../../src/sim/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'tide-sim-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HOSTS = `name: t
durationSeconds: 600
hosts:
  - name: a
    cpuCores: 4
    memoryMiB: 4096
    power: { idleWatts: 50, peakWatts: 100 }
`;

function scenarioError(text: string): string {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    assert.ok(err instanceof ScenarioError, `expected a ScenarioError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the scenario was accepted');
}

test('built-in scenarios load with their hosts, VMs and policy', () => {
  for (const name of BUILT_IN_SCENARIOS) {
    const s = loadScenario(name);
    assert.equal(s.name, name);
    assert.equal(s.hosts.length, 2);
    assert.equal(s.vms.length, 8);
    assert.equal(s.policy.strategy, 'paper');
  }
});

test('bad scenarios: the error names the file, the line and the field', () => {
  assert.equal(scenarioError(HOSTS.replace('cpuCores: 4', 'cpuCores: 0')), 'bad.yaml:5:15: hosts[0].cpuCores must be >= 1');
  assert.equal(scenarioError(`${HOSTS}    colour: red\n`), 'bad.yaml:8:5: hosts[0].colour is not a known field');
  assert.equal(scenarioError(HOSTS.replace('    cpuCores: 4\n', '')), 'bad.yaml:4:5: hosts[0] is missing required field cpuCores');
  assert.equal(scenarioError(`${HOSTS}vms:\n  - { name: v, host: b, vcpus: 1, memoryMiB: 64, load: 5 }\n`), 'bad.yaml:9:22: vms[0].host names unknown host b');
  assert.equal(scenarioError(`${HOSTS}vms:\n  - { name: v, host: a, vcpus: 1, memoryMiB: 64, load: 120 }\n`), 'bad.yaml:9:56: vms[0].load 120 is outside 0–100');
  assert.equal(scenarioError(`${HOSTS}vms:\n  - { name: v, host: a, vcpus: 1, memoryMiB: 8192, load: 5 }\n`), 'bad.yaml:9:22: vms[0].host puts 8192 MiB of VMs on a, which has 4096 MiB');
  assert.match(scenarioError(HOSTS.replace('{ idleWatts: 50, peakWatts: 100 }', '{ specpower: "HAL 9000" }')), /^bad.yaml:7:\d+: hosts\[0\].power.specpower names unknown model "HAL 9000"/);
  // Found by the fuzz test: 1e308 W made every energy sum Infinity.
  assert.equal(scenarioError(HOSTS.replace('peakWatts: 100', 'peakWatts: 1e+308')), 'bad.yaml:7:40: hosts[0].power.peakWatts must be <= 100000');
  assert.match(scenarioError('name: t\n  durationSeconds: 1\n'), /^bad.yaml:1:\d+: invalid YAML/);
  assert.throws(() => loadScenario(join(dir, 'missing.yaml')), /no such scenario file/);
});

test('load steps and trace files in a scenario drive the simulation', () => {
  writeFileSync(join(dir, 'busy.txt'), '0\n100\n');
  const file = join(dir, 'steps.yaml');
  writeFileSync(file, `${HOSTS}vms:
  - { name: s, host: a, vcpus: 4, memoryMiB: 64, load: { steps: [ { atSeconds: 0, percent: 0 }, { atSeconds: 300, percent: 50 } ] } }
  - { name: t, host: a, vcpus: 4, memoryMiB: 64, load: { trace: busy.txt, intervalSeconds: 300 } }
`);
  const r = runSimulation(loadScenario(file));
  // 0–300 s: both idle → 50 W; 300–600 s: 50 % + 100 % of 4 cores → capped at 100 % → 100 W.
  assert.ok(Math.abs(r.energyWh - (50 * 300 + 100 * 300) / 3600) < 1e-9);
});

test('bad traces: the error names the file and the line', () => {
  assert.throws(() => parseTrace('12\n13\nabc\n', 'vm-7'), (err: unknown) => err instanceof TraceError && err.message === 'vm-7:3: expected a CPU percentage (a number from 0 to 100), got "abc"');
  assert.throws(() => parseTrace('12\n\n13\n', 'vm-8'), /^TraceError: vm-8:2: expected a CPU percentage|vm-8:2:/);
  assert.throws(() => parseTrace('12\n130\n', 'vm-9'), /vm-9:2: CPU percentage 130 is outside 0–100/);
  assert.throws(() => parseTrace('', 'vm-10'), /vm-10: the trace is empty/);
  const traces = join(dir, 'traces');
  mkdirSync(traces);
  writeFileSync(join(traces, 'good'), '10\n20\n');
  writeFileSync(join(traces, 'broken'), '10\n-\n');
  assert.throws(() => readTraceDir(traces), (err: unknown) => err instanceof TraceError && err.message.startsWith(`${join(traces, 'broken')}:2:`));
  assert.throws(() => readTraceDir(join(dir, 'nowhere')), /cannot read the trace directory/);
});

test('PlanetLab traces become VMs on CloudSim-style hosts, one per file', () => {
  const traces = join(dir, 'planetlab');
  mkdirSync(traces);
  for (let i = 0; i < 8; i++) writeFileSync(join(traces, `vm${i}`), Array.from({ length: 288 }, (_, k) => String((i * 7 + k) % 40)).join('\n') + '\n');
  const scenario = traceScenario(traces, readTraceDir(traces));
  assert.equal(scenario.vms.length, 8);
  assert.equal(scenario.hosts.length, Math.ceil((8 * 800) / 1052));
  assert.equal(scenario.durationSeconds, 288 * 300);
  const r = runSimulation(scenario);
  assert.ok(r.energyWh > 0);
  assert.ok(r.rounds.length >= 288, 'a decision every 5 minutes');
  assert.ok(r.hosts.some((h) => h.powerState === 'off'), 'light traces let the paper strategy power hosts off');
});
