/**
 * `tide simulate` and `tide plan` as a user runs them: through the CLI's main() in this process
 * (the CLI takes seconds to start on a busy machine), and once as a real child process for the
 * exit code and the stack-trace-free error line.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tideInProcess } from './in-process.ts';

const TIDE = fileURLToPath(new URL('../../bin/tide.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tide-cli-sim-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tide = tideInProcess;

function tideProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TIDE, ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('simulate --json prints the documented document for paper-consolidation', async () => {
  const { code, stdout, stderr } = await tide('simulate', '--scenario', 'paper-consolidation', '--json');
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '', 'no progress output when stderr is not a terminal');
  const doc = JSON.parse(stdout);
  assert.deepEqual(Object.keys(doc), ['scenario', 'initialWatts', 'finalWatts', 'energyWh', 'hosts', 'vms', 'actions', 'timeline']);
  assert.equal(doc.scenario, 'paper-consolidation');
  assert.equal(doc.initialWatts, 127);
  assert.equal(doc.finalWatts, 58);
  assert.equal(doc.energyWh, 16.404);
  assert.deepEqual(doc.hosts.map((h: { name: string; powerState: string; watts: number; vms: string[] }) => [h.name, h.powerState, h.watts, h.vms.length]), [['node100', 'off', 0, 0], ['node200', 'on', 58, 8]]);
  assert.deepEqual(Object.keys(doc.hosts[0]), ['name', 'powerState', 'cpuLoadPercent', 'watts', 'vms']);
  assert.deepEqual(Object.keys(doc.vms[0]), ['name', 'host', 'cpuLoadPercent']);
  assert.deepEqual(doc.actions[0], {
    type: 'migrate', vm: 'vm-1', from: 'node100', to: 'node200', atSeconds: 0,
    reason: doc.actions[0].reason,
  });
  assert.match(doc.actions[0].reason, /^Consolidate: migrate vm-1 node100→node200: /);
  assert.deepEqual(doc.actions.at(-1), { type: 'power-off', host: 'node100', atSeconds: 44.36, reason: doc.actions.at(-1).reason });
  assert.match(doc.actions.at(-1).reason, /^EmptyHost: power off node100/);
  assert.ok(doc.timeline.length >= 3);
});

test('simulate prints actions with reasons, power over time and energy for paper-balance', async () => {
  const { code, stdout } = await tide('simulate', '--scenario', 'paper-balance');
  assert.equal(code, 0);
  assert.match(stdout, /33 s {2}\[Balance, done at 44.1 s\] migrate vm-40 node100→node200: node100 80 % vs node200 40 %, d = 40 ≥ 10, vm-40 weighs 20 points ≤ d\/2 = 20/);
  assert.match(stdout, /power over time/);
  assert.match(stdout, /208 W/);
  assert.match(stdout, /node100 +on +60 % +99.6 W/);
  assert.match(stdout, /energy: 31.33 Wh over 600 s/);
});

test('simulate --trace runs PlanetLab-format traces', async () => {
  const traces = join(dir, 'traces');
  mkdirSync(traces);
  for (let i = 0; i < 4; i++) writeFileSync(join(traces, `vm${i}`), Array.from({ length: 12 }, (_, k) => String((k * 5 + i) % 30)).join('\n') + '\n');
  const { code, stdout, stderr } = await tide('simulate', '--trace', traces, '--json');
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(stdout);
  assert.deepEqual(doc.vms.map((v: { name: string }) => v.name).sort(), ['vm0', 'vm1', 'vm2', 'vm3']);
  assert.ok(doc.energyWh > 0);
});

test('bad input: one clear line naming file, line and field, exit code 2, no stack trace', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'name: x\ndurationSeconds: 60\nhosts:\n  - name: a\n    cpuCores: many\n    memoryMiB: 1024\n    power: { idleWatts: 1, peakWatts: 2 }\n');
  const scenario = await tideProcess('simulate', '--scenario', bad);
  assert.equal(scenario.code, 2);
  assert.equal(scenario.stderr.trim(), `tide simulate: ${bad}:5:15: hosts[0].cpuCores must be integer`);
  const traces = join(dir, 'bad-traces');
  mkdirSync(traces);
  writeFileSync(join(traces, 'vm0'), '10\n20\n3x\n');
  const trace = await tide('simulate', '--trace', traces);
  assert.equal(trace.code, 2);
  assert.equal(trace.stderr.trim(), `tide simulate: ${join(traces, 'vm0')}:3: expected a CPU percentage (a number from 0 to 100), got "3x"`);
  const none = await tide('simulate');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give --scenario NAME\|FILE or --trace DIR/);
  for (const r of [scenario, trace, none]) assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('plan --snapshot prints each action with its sentence, and points at bad fields', async () => {
  const snapshot = join(dir, 'snapshot.json');
  const host = (name: string) => ({ name, cpuCores: 4, memoryMiB: 16384, powerState: 'on', standbyAllowed: true, maintenance: false });
  const vm = (name: string, on: string, load: number) => ({ name, host: on, vcpus: 2, memoryMiB: 1024, cpuLoadPercent: load, doNotMigrate: false });
  writeFileSync(snapshot, JSON.stringify({ atMs: 0, hosts: [host('node100'), host('node200')], vms: [vm('vm-80', 'node100', 80), vm('vm-40', 'node100', 40), vm('a', 'node100', 20), vm('b', 'node100', 20), vm('c', 'node200', 20), vm('d', 'node200', 20), vm('e', 'node200', 20), vm('f', 'node200', 20)] }, null, 2));
  const ok = await tide('plan', '--snapshot', snapshot);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /1\. \[Balance\] migrate vm-40 node100→node200/);
  assert.match(ok.stdout, /summary: .*d = 0 < 10/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{\n  "atMs": 0,\n  "hosts": [\n    { "name": "a", "cpuCores": 4, "memoryMiB": 1, "powerState": "asleep", "standbyAllowed": true, "maintenance": false }\n  ],\n  "vms": []\n}\n');
  const r = await tide('plan', '--snapshot', bad);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^tide plan: ${bad}:4:\\d+: hosts\\[0\\]\\.powerState must be equal to one of the allowed values`));
});
