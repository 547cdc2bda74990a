import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { crdFiles } from '../../src/api/crd-files.ts';
import { RESOURCES, resourceSchema } from '../../src/api/crds.ts';
import { parseDuration } from '../../src/api/schema-helpers.ts';

const root = new URL('../../', import.meta.url);

function validatorFor(kind: string) {
  const def = RESOURCES.find((d) => d.kind === kind);
  assert.ok(def, `no resource definition for kind ${kind}`);
  const ajv = new Ajv({ strict: false, useDefaults: true, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(resourceSchema(def));
}

test('committed CRD manifests are exactly what src/api generates (run `npm run gen` after a schema change)', () => {
  for (const [path, text] of crdFiles()) {
    assert.equal(readFileSync(new URL(path, root), 'utf8'), text, `${path} is out of date`);
  }
});

test('CRD schemas are structural: no anyOf/allOf/patternProperties, one type per node', () => {
  const walk = (node: unknown, path: string): void => {
    if (!node || typeof node !== 'object') return;
    for (const banned of ['anyOf', 'allOf', 'oneOf', 'patternProperties', '$id', '$ref']) {
      assert.ok(!(banned in node), `${path} uses ${banned}`);
    }
    const n = node as Record<string, unknown>;
    if ('properties' in n || 'items' in n) assert.ok(typeof n.type === 'string', `${path} has no type`);
    if (n.properties) for (const [k, v] of Object.entries(n.properties)) walk(v, `${path}.${k}`);
    if (n.items) walk(n.items, `${path}[]`);
    if (typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${path}{}`);
  };
  for (const def of RESOURCES) walk(resourceSchema(def), def.kind);
});

test('the paper example resources validate, and defaults fill in the paper thresholds', () => {
  const dir = new URL('manifests/examples/paper/', root);
  let custom = 0;
  for (const file of readdirSync(dir)) {
    for (const doc of parseAllDocuments(readFileSync(new URL(file, dir), 'utf8'))) {
      const obj = doc.toJS() as { apiVersion: string; kind: string; spec: Record<string, unknown> };
      if (!obj.apiVersion.startsWith('tide.dev/')) continue;
      const validate = validatorFor(obj.kind);
      assert.ok(validate(obj), `${file} ${obj.kind}: ${JSON.stringify(validate.errors)}`);
      custom++;
    }
  }
  assert.equal(custom, 11, 'two hosts, eight VMs and one policy');

  const policy = { apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'p' }, spec: {} as Record<string, unknown> };
  assert.ok(validatorFor('ConsolidationPolicy')(policy));
  assert.equal(policy.spec.overloadThresholdPercent, 80);
  assert.equal(policy.spec.consolidationThresholdPercent, 80);
  assert.equal(policy.spec.balanceThresholdPercent, 10);
  assert.equal(policy.spec.evaluationInterval, '10m');
  assert.equal(policy.spec.strategy, 'paper');
});

test('schemas reject out-of-range thresholds, bad durations, bad MACs and hostile domain names', () => {
  const policy = validatorFor('ConsolidationPolicy');
  const bad = (spec: object) => ({ apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: {}, spec });
  assert.equal(policy(bad({ overloadThresholdPercent: 150 })), false);
  assert.match(JSON.stringify(policy.errors), /overloadThresholdPercent/);
  assert.equal(policy(bad({ evaluationInterval: 'ten minutes' })), false);
  assert.equal(policy(bad({ strategy: 'greedy' })), false);

  const host = validatorFor('PhysicalHost');
  const hostWith = (power: object) => ({
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: {},
    spec: { address: 'h1', capacity: { cpuCores: 4, memoryMiB: 4096 }, power },
  });
  assert.equal(host(hostWith({ onMethod: 'WakeOnLAN', wakeOnLAN: { macAddress: 'zz:00:00:00:00:00' } })), false);
  assert.equal(host({ ...hostWith({}), spec: { address: 'h1; rm -rf /', capacity: { cpuCores: 4, memoryMiB: 4096 } } }), false);
  // Watts a host cannot draw (1e308 made the power model's sums Infinity).
  assert.ok(host(hostWith({ idleWatts: 90, peakWatts: 250 })));
  assert.equal(host(hostWith({ idleWatts: 90, peakWatts: 1e308 })), false);
  assert.match(JSON.stringify(host.errors), /peakWatts.*must be <= 100000/);

  const vm = validatorFor('VirtualMachinePlacement');
  assert.equal(vm({ apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: {}, spec: { domain: "x';touch /tmp/pwned;'" } }), false);
  assert.ok(vm({ apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: {}, spec: { domain: 'web-01.prod' } }));
});

test('CEL rules are declared where one field depends on another', () => {
  const rules = (kind: string) => JSON.stringify(resourceSchema(RESOURCES.find((d) => d.kind === kind)!));
  assert.match(rules('PhysicalHost'), /self.onMethod != 'WakeOnLAN' \|\| has\(self.wakeOnLAN\)/);
  assert.match(rules('ConsolidationPolicy'), /self.consolidationThresholdPercent <= self.overloadThresholdPercent/);
});

test('parseDuration reads Go-style durations and names a bad one', () => {
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.throws(() => parseDuration('10 minutes'), /invalid duration '10 minutes'/);
});
