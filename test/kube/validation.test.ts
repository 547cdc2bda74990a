/** The server's pure parts: schema pruning/defaults, schema and CEL messages, CRD schema checks, selectors, patches, ages, protobuf bodies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomResourceValidator } from '../../src/kube/apiserver/validation/custom-resource.ts';
import { structuralCauses } from '../../src/kube/apiserver/validation/structural-schema.ts';
import { parseLabelSelector, parseFieldSelector } from '../../src/kube/apiserver/selectors.ts';
import { mergePatch, strategicMergePatch } from '../../src/kube/apiserver/patch.ts';
import { humanDuration } from '../../src/kube/apiserver/tables.ts';
import type { KubeObject } from '../../src/kube/apiserver/types.ts';
import { decodeProtobufBody } from '../../src/kube/apiserver/protobuf.ts';
import { serverSideApply } from '../../src/kube/apiserver/server-side-apply.ts';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

const schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      'x-kubernetes-validations': [{ rule: 'self.low <= self.high', message: 'low must not exceed high', fieldPath: '.low' }],
      properties: {
        low: { type: 'integer', default: 1 },
        high: { type: 'number', default: 10 },
        serial: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'serial is immutable' }] },
        note: { type: 'string', nullable: true },
        mode: { type: 'string', default: 'auto' },
        items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        ratio: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1 },
        hosts: {
          type: 'array',
          items: { type: 'string' },
          'x-kubernetes-validations': [{ rule: 'self.all(h, h.endsWith(".lab"))', messageExpression: "'hosts must end in .lab, got ' + self.join(',')" }],
        },
      },
    },
  },
};

const object = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec });

test('pruning reports unknown fields by path (objects, arrays, maps) and keeps preserve-unknown-fields', () => {
  const v = new CustomResourceValidator(schema);
  const obj = object({ extra: 1, items: [{ name: 'a', bogus: true }], labels: { a: 'b' }, free: { anything: { goes: 1 } } });
  assert.deepEqual(v.pruneAndDefault(obj), ['spec.extra', 'spec.items[0].bogus']);
  assert.deepEqual(obj.spec, { items: [{ name: 'a' }], labels: { a: 'b' }, free: { anything: { goes: 1 } }, low: 1, high: 10, mode: 'auto' });
});

test('a null in a non-nullable field is dropped and its default applies; nullable fields keep null', () => {
  const v = new CustomResourceValidator(schema);
  const obj = object({ mode: null, note: null });
  v.pruneAndDefault(obj);
  assert.equal(obj.spec.mode, 'auto');
  assert.equal(obj.spec.note, null);
  assert.deepEqual(v.validate(obj), []);
});

test('CEL sees integers as ints and numbers as doubles, and compares them across types', () => {
  const v = new CustomResourceValidator(schema);
  const ok = object({ low: 3, high: 3.5 });
  v.pruneAndDefault(ok);
  assert.deepEqual(v.validate(ok), []);
  const bad = object({ low: 4, high: 3.5 });
  v.pruneAndDefault(bad);
  assert.deepEqual(v.validate(bad), [{ reason: 'FieldValueInvalid', field: 'spec.low', message: 'Invalid value: low must not exceed high' }]);
});

test('transition rules (oldSelf) only run on updates', () => {
  const v = new CustomResourceValidator(schema);
  const first = object({ serial: 'A' });
  v.pruneAndDefault(first);
  assert.deepEqual(v.validate(first), []);
  const changed = object({ serial: 'B' });
  v.pruneAndDefault(changed);
  assert.deepEqual(v.validate(changed, first), [{ reason: 'FieldValueInvalid', field: 'spec.serial', message: 'Invalid value: serial is immutable' }]);
  assert.deepEqual(v.validate(first, first), []);
});

test('messageExpression builds the message; OpenAPI v3.0 exclusive bounds are honoured', () => {
  const v = new CustomResourceValidator(schema);
  const obj = object({ hosts: ['a.lab', 'b.example'], ratio: 0 });
  v.pruneAndDefault(obj);
  assert.deepEqual(v.validate(obj), [
    { reason: 'FieldValueInvalid', field: 'spec.ratio', message: 'Invalid value: 0: spec.ratio in body should be greater than 0' },
    { reason: 'FieldValueInvalid', field: 'spec.hosts', message: 'Invalid value: hosts must end in .lab, got a.lab,b.example' },
  ]);
});

test('a CEL rule that does not compile is reported at its schema location', () => {
  const v = new CustomResourceValidator({ type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a ==', message: 'm' }] } } });
  assert.equal(v.ruleErrors.length, 1);
  assert.equal(v.ruleErrors[0]!.location, 'openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule');
});

test('CRD schemas: numeric exclusiveMinimum, missing types and enum values of the wrong type are rejected', () => {
  const causes = structuralCauses(
    { type: 'object', properties: { a: { type: 'number', exclusiveMinimum: 0 }, b: { properties: {} }, c: { type: 'string', enum: ['x', true] }, d: { type: 'array' } } },
    's',
  );
  assert.deepEqual(causes.map((c) => c.field), ['s.properties[a].exclusiveMinimum', 's.properties[b].type', 's.properties[c].enum[1]', 's.properties[d].items']);
});

test('label and field selectors', () => {
  const o = (labels: Record<string, string>, name = 'n', namespace = 'ns'): KubeObject => ({ metadata: { name, namespace, labels } });
  const sel = parseLabelSelector('env in (prod, stage),!legacy,tier!=db,app');
  assert.equal(sel(o({ env: 'prod', app: 'x' })), true);
  assert.equal(sel(o({ env: 'dev', app: 'x' })), false);
  assert.equal(sel(o({ env: 'prod', app: 'x', legacy: '' })), false);
  assert.equal(sel(o({ env: 'prod', app: 'x', tier: 'db' })), false);
  assert.equal(sel(o({ env: 'prod' })), false);
  assert.equal(parseLabelSelector('a notin (b)')(o({})), true);
  const f = parseFieldSelector('metadata.name=n,metadata.namespace!=other');
  assert.equal(f(o({})), true);
  assert.equal(f(o({}, 'm')), false);
  assert.throws(() => parseFieldSelector('spec.size=1'), /field label not supported: spec\.size/);
  assert.throws(() => parseLabelSelector('a in b'), /unable to parse requirement/);
});

test('merge patch (RFC 7386) and the strategic merge directives kubectl sends', () => {
  assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { b: { c: null, x: 1 }, e: [2] }), { a: 1, b: { d: 3, x: 1 }, e: [2] });
  assert.deepEqual(
    strategicMergePatch({ metadata: { labels: { a: '1' } }, data: { x: 'y' } }, { $setElementOrder: [], metadata: { labels: { a: null, b: '2' } }, data: { $patch: 'replace', z: 'w' } }),
    { metadata: { labels: { b: '2' } }, data: { z: 'w' } },
  );
  assert.deepEqual(strategicMergePatch({ a: { b: 1 }, c: 2 }, { a: { $patch: 'delete' } }), { c: 2 });
});

test('ages read as kubectl shows them', () => {
  const s = 1000;
  assert.deepEqual([5 * s, 119 * s, 150 * s, 600 * s, 3 * 3600 * s + 60 * s, 30 * 3600 * s, 50 * 3600 * s, 400 * 86400 * s].map(humanDuration), ['5s', '119s', '2m30s', '10m', '3h1m', '30h', '2d2h', '400d']);
});

test('list types: duplicate set items and duplicate map-list keys are rejected', () => {
  const v = new CustomResourceValidator({
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
          conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'string' } } } },
        },
      },
    },
  });
  const obj = object({ tags: ['a', 'b', 'a'], conditions: [{ type: 'Ready', status: 'True' }, { type: 'Ready', status: 'False' }] });
  assert.deepEqual(v.validate(obj), [
    { reason: 'FieldValueDuplicate', field: 'spec.tags[2]', message: 'Duplicate value: "a"' },
    { reason: 'FieldValueDuplicate', field: 'spec.conditions[1]', message: 'Duplicate value: {"type":"Ready"}' },
  ]);
});

test('CEL: operators, macros, the strings, lists and regex libraries compile and evaluate; unknown functions are compile errors', () => {
  const rules = [
    "self.l[0] == 1 && 'x' in self.m && self.m['x'] == 'y' && (self.a == 1 ? true : false) || !true",
    'has(self.a) && self.l.all(x, x > 0) && self.l.exists_one(x, x == 1) && self.l.map(x, x * 2) == [2, 4] && self.l.filter(x, x > 1) == [2]',
    "self.l.isSorted() && ![2, 1].isSorted() && self.l.sum() == 3 && [1.5, 2.5].sum() == 4.0 && self.l.min() == 1 && ['b', 'a'].min() == 'a' && self.l.max() == 2 && self.l.indexOf(2) == 1 && self.l.lastIndexOf(1) == 0",
    "self.s.find('[0-9]+') == '12' && self.s.findAll('[0-9]') == ['1', '2'] && self.s.matches('^a') && self.s.lowerAscii() == self.s && self.s.split('1') == ['a', '2']",
    "duration('1h') > duration('10m') && timestamp('2026-01-01T00:00:00Z') < timestamp('2027-01-01T00:00:00Z')",
  ];
  const schemaWith = (rule: string) => ({
    type: 'object',
    properties: { a: { type: 'integer' }, l: { type: 'array', items: { type: 'integer' } }, s: { type: 'string' }, m: { type: 'object', additionalProperties: { type: 'string' } } },
    'x-kubernetes-validations': [{ rule, message: 'failed' }],
  });
  const obj = { apiVersion: 'x/v1', kind: 'X', metadata: {}, a: 1, l: [1, 2], s: 'a12', m: { x: 'y' } } as KubeObject;
  for (const rule of rules) {
    const v = new CustomResourceValidator(schemaWith(rule));
    assert.deepEqual(v.ruleErrors, [], rule);
    assert.deepEqual(v.validate(obj), [], rule);
  }
  const unknown = new CustomResourceValidator(schemaWith("self.s.quantity().isGreaterThan(quantity('1'))"));
  assert.match(unknown.ruleErrors[0]!.message, /undeclared reference to 'isGreaterThan', 'quantity'/);
});

test('protobuf bodies: the k8s envelope around a Secret and around DeleteOptions', () => {
  const envelope = (apiVersion: string, kind: string, raw: Uint8Array) => {
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(apiVersion).tag(2, WireType.LengthDelimited).string(kind).join();
    w.tag(2, WireType.LengthDelimited).bytes(raw);
    return Buffer.concat([Buffer.from('k8s\0', 'latin1'), w.finish()]);
  };
  const entry = (w: BinaryWriter, field: number, key: string, value: string | Uint8Array) => {
    w.tag(field, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(key);
    if (typeof value === 'string') w.tag(2, WireType.LengthDelimited).string(value);
    else w.tag(2, WireType.LengthDelimited).bytes(value);
    w.join();
  };
  const secret = new BinaryWriter();
  secret.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('ssh').tag(2, WireType.LengthDelimited).string('').join();
  entry(secret, 2, 'key', new TextEncoder().encode('PRIVATE'));
  secret.tag(3, WireType.LengthDelimited).string('Opaque');
  assert.deepEqual(decodeProtobufBody(envelope('v1', 'Secret', secret.finish())), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'ssh' },
    data: { key: Buffer.from('PRIVATE').toString('base64') },
    type: 'Opaque',
  });
  const options = new BinaryWriter();
  options.tag(2, WireType.LengthDelimited).fork().tag(2, WireType.LengthDelimited).string('42').join();
  options.tag(4, WireType.LengthDelimited).string('Foreground');
  assert.deepEqual(decodeProtobufBody(envelope('v1', 'DeleteOptions', options.finish())), {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    preconditions: { resourceVersion: '42' },
    propagationPolicy: 'Foreground',
  });
  assert.throws(() => decodeProtobufBody(envelope('apps/v1', 'Deployment', new Uint8Array())), /only understood for Secret, ConfigMap, DeleteOptions, SelfSubjectAccessReview, Namespace here \(got Deployment\); send JSON/);
});

test('server-side apply merges map lists by key, and each manager removes only its own items', () => {
  const schema = {
    type: 'object',
    properties: {
      status: {
        type: 'object',
        properties: {
          conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'string' } } } },
        },
      },
    },
  };
  const req = (manager: string) => ({ manager, force: false, apiVersion: 'x/v1', schema, now: '2026-01-01T00:00:00Z' });
  const cond = (type: string, status: string) => ({ type, status });
  const applied = (...conditions: object[]): KubeObject => ({ apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, status: { conditions } });
  let live = serverSideApply(undefined, applied(cond('Ready', 'True')), req('operator'));
  live = serverSideApply(live, applied(cond('Metered', 'True')), req('agent'));
  assert.deepEqual(live.status.conditions, [cond('Ready', 'True'), cond('Metered', 'True')]);
  live = serverSideApply(live, applied(cond('Ready', 'False'), cond('Reachable', 'True')), req('operator'));
  assert.deepEqual(live.status.conditions, [cond('Ready', 'False'), cond('Metered', 'True'), cond('Reachable', 'True')]);
  live = serverSideApply(live, applied(cond('Reachable', 'True')), req('operator'));
  assert.deepEqual(live.status.conditions, [cond('Metered', 'True'), cond('Reachable', 'True')], "the operator's Ready goes, the agent's Metered stays");
  assert.throws(() => serverSideApply(live, applied(cond('Metered', 'False')), req('operator')), /Apply failed with 1 conflict: conflict with "agent": \.status\.conditions\[type="Metered"\]\.status/);
});

test('server-side apply to /status is recorded apart: the same manager keeps its spec fields', () => {
  const req = (subresource?: 'status') => ({ manager: 'tide', force: false, apiVersion: 'x/v1', now: '2026-01-01T00:00:00Z', subresource });
  let live = serverSideApply(undefined, { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec: { size: 1 } }, req());
  live = serverSideApply(live, { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, status: { ready: true } }, req('status'));
  assert.deepEqual(live.spec, { size: 1 });
  assert.deepEqual(live.status, { ready: true });
  assert.deepEqual((live.metadata.managedFields as any[]).map((e) => [e.manager, e.subresource ?? '', Object.keys(e.fieldsV1)]), [['tide', '', ['f:spec']], ['tide', 'status', ['f:status']]]);
});
