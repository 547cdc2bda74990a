/**
 * Fuzzing the simulator's input files: scenario YAML (random text, valid scenarios with random
 * values put at random fields, damaged YAML text) and PlanetLab trace files. A file is either
 * loaded into something the simulator can run or refused with a ScenarioError / TraceError
 * that starts with the file (and line, where there is one) — never another exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseScenario, ScenarioError } from '../../src/sim/scenario.ts';
import { parseTraceColumns, TraceError } from '../../src/sim/trace.ts';
import { fuzzParams } from './runs.ts';

const dir = mkdtempSync(join(tmpdir(), 'tide-fuzz-scenario-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const FILE = join(dir, 'fuzz.yaml');
writeFileSync(join(dir, 'vm.trace'), '10\n20 \n30\n');
mkdirSync(join(dir, 'a-directory'));

const VALID = {
  name: 'fuzz',
  durationSeconds: 3600,
  evaluation: { firstAtSeconds: 0, intervalSeconds: 300, onOverload: true },
  migration: { bandwidthMbps: 1000, overheadSeconds: 2.5, cpuPercent: 20, maxConcurrent: 2 },
  policy: { strategy: 'paper', overloadThresholdPercent: 80, minHostsOn: 1 },
  hosts: [
    { name: 'h1', cpuCores: 4, memoryMiB: 8192, power: { idleWatts: 60, peakWatts: 120 } },
    { name: 'h2', count: 2, cpuCores: 4, memoryMiB: 8192, power: { specpower: 'HP ProLiant ML110 G4 (Xeon 3040)' }, powerState: 'off' },
  ],
  vms: [
    { name: 'v1', host: 'h1', vcpus: 2, memoryMiB: 1024, load: 40 },
    { name: 'v2', host: 'h1', vcpus: 1, memoryMiB: 512, load: { steps: [{ atSeconds: 0, percent: 10 }, { atSeconds: 60, percent: 90 }] } },
    { name: 'v3', host: 'h1', vcpus: 1, memoryMiB: 512, load: { trace: 'vm.trace', intervalSeconds: 300 } },
  ],
};

/** Values to put anywhere: of every type, with the awkward strings of a JS object's own keys. */
const anyValue = fc.oneof(
  fc.integer(), fc.double(), fc.constantFrom(-1, 0, 1e308, 1000, 101), fc.boolean(), fc.constant(null),
  fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'h1', 'h2-1', 'a-directory', '/etc', '/nonexistent', 'vm.trace', 'x'.repeat(300), ''),
  fc.string({ maxLength: 12 }), fc.array(fc.integer(), { maxLength: 12 }), fc.dictionary(fc.string({ maxLength: 6 }), fc.integer(), { maxKeys: 3 }),
  fc.record({ steps: fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 2 }) }), fc.record({ trace: fc.constantFrom('vm.trace', 'a-directory', '../nope', ''), intervalSeconds: fc.anything({ maxDepth: 0 }) }),
);

/** Every path into VALID (objects and arrays), to replace or delete what is there. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...prefix, k]))];
}
const PATHS = paths(VALID).filter((p) => p.length > 0);

function setAt(root: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

function loadsOrSaysWhere(text: string): void {
  try {
    const scenario = parseScenario(text, FILE);
    // What was loaded runs: every VM on a known host, loads are percentages.
    const hosts = new Set(scenario.hosts.map((h) => h.name));
    for (const vm of scenario.vms) {
      assert.ok(hosts.has(vm.host), `VM ${vm.name} on unknown host ${vm.host}`);
      const load = vm.load.at(0);
      assert.ok(load >= 0 && load <= 100, `VM ${vm.name} load ${load}`);
    }
    for (const h of scenario.hosts) assert.ok(Number.isFinite(h.power.watts(50)), `host ${h.name} power`);
  } catch (err) {
    assert.ok(err instanceof ScenarioError, `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    assert.ok(err.message.startsWith(FILE), `"${err.message}" does not start with the file`);
  }
}

test('scenario files: valid scenarios with a field replaced or removed load, or fail naming file and field', () => {
  loadsOrSaysWhere(stringify(VALID));
  assert.doesNotThrow(() => parseScenario(stringify(VALID), FILE), 'the fixture is valid');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...PATHS), anyValue, fc.boolean()), { minLength: 1, maxLength: 3 }), (changes) => {
      let doc: unknown = VALID;
      for (const [path, value, remove] of changes) {
        try {
          doc = setAt(doc, path, value, remove);
        } catch {
          // An earlier change removed this path's parent: nothing to change.
        }
      }
      loadsOrSaysWhere(stringify(doc));
    }),
    fuzzParams(300),
  );
});

test('scenario files: random and damaged YAML text fails with file:line:column, never another error', () => {
  const valid = stringify(VALID);
  const damaged = fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.constantFrom(':', '- ', '{', '}', '[', '&a ', '*a', '!!binary ', '"', "'", '\t', '\n  ', '? ', '|', '%', '---\n', '<<: ')).map(([at, cut, insert]) => {
    const i = at % valid.length;
    return valid.slice(0, i) + insert + valid.slice(i + cut);
  });
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), damaged), loadsOrSaysWhere), fuzzParams(300));
});

test('scenario regressions the fuzzer found: each is a ScenarioError naming file and field', () => {
  const withHost = (power: object) => stringify({ ...VALID, vms: [], hosts: [{ name: 'h1', cpuCores: 1, memoryMiB: 64, power }] });
  for (const name of ['constructor', '__proto__', 'toString']) {
    // Was: "Error: a power table needs 11 figures", from Object.prototype's members.
    assert.throws(() => parseScenario(withHost({ specpower: name }), FILE), (err: Error) => err instanceof ScenarioError && err.message.includes('hosts[0].power.specpower names unknown model'));
  }
  // Was: "ReferenceError: Excessive alias count indicates a resource exhaustion attack".
  const laughs = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n';
  assert.throws(() => parseScenario(laughs, FILE), (err: Error) => err instanceof ScenarioError && err.message.startsWith(`${FILE}: invalid YAML: Excessive alias count`));
  // Was: "Error: EISDIR: illegal operation on a directory, read".
  const traceIsDir = stringify({ ...VALID, vms: [{ name: 'v', host: 'h1', vcpus: 1, memoryMiB: 1, load: { trace: 'a-directory' } }] });
  assert.throws(() => parseScenario(traceIsDir, FILE), (err: Error) => err instanceof ScenarioError && /vms\[0\]\.load\.trace names a file that cannot be read: .*a-directory \(EISDIR\)/.test(err.message));
});

test('trace files: random and damaged text gives percentages, or a TraceError naming file and line', () => {
  const traceText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 120 }),
    fc.array(fc.oneof(fc.double(), fc.integer({ min: -5, max: 105 }), fc.constantFrom('', ' ', 'NaN', '1e2', '0x10', '5 5', '5\t6', '5 6 7', '\r', 'Infinity')).map(String), { maxLength: 20 }).map((lines) => lines.join('\n')),
  );
  fc.assert(
    fc.property(traceText, (text) => {
      try {
        const { cpu, memory } = parseTraceColumns(text, 'vm-17.trace');
        assert.ok(cpu.length > 0);
        for (const v of [...cpu, ...(memory ?? [])]) assert.ok(Number.isFinite(v) && v >= 0 && v <= 100, `sample ${v}`);
        if (memory) assert.equal(memory.length, cpu.length);
      } catch (err) {
        assert.ok(err instanceof TraceError, `threw ${String(err)}`);
        assert.match(err.message, /^vm-17\.trace(:\d+)?: /);
      }
    }),
    fuzzParams(1500),
  );
});
