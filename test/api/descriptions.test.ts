/**
 * Every field of every CRD has a description, so that `kubectl explain` shows none empty: in the
 * schemas of src/api, in the CRDs committed under manifests/crds/ (what users install), and as
 * the embedded server publishes them to `kubectl explain`. The real server's view of the same is
 * checked in test/realkube/install-kubectl.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { customResourceDefinition, RESOURCES } from '../../src/api/crds.ts';
import { startHarness } from '../kube/harness.ts';
import { assertExplainedFieldsDescribed, fieldsWithoutDescription } from './field-descriptions.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

test('the walk finds a field without a description at any depth (objects, array items, map values)', () => {
  const schema = {
    type: 'object',
    properties: {
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        description: 'x',
        properties: {
          a: { type: 'string', description: ' ' },
          list: { type: 'array', description: 'x', items: { type: 'object', properties: { b: { type: 'integer' } } } },
          map: { type: 'object', description: 'x', additionalProperties: { type: 'object', properties: { c: { type: 'string', description: 'ok' }, d: { type: 'string' } } } },
        },
      },
    },
  };
  assert.deepEqual(fieldsWithoutDescription(schema, 'K'), ['K.spec.a', 'K.spec.list[].b', 'K.spec.map{}.d']);
});

test('every field of every resource in src/api has a description', () => {
  for (const def of RESOURCES) {
    const crd = customResourceDefinition(def) as any;
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    assert.deepEqual(fieldsWithoutDescription(schema, def.kind), [], `${def.kind}: fields without a description`);
    assert.ok(schema.description?.trim(), `${def.kind} itself has a description`);
  }
});

test('every field of every CRD in manifests/crds/ has a description', () => {
  const files = readdirSync(join(ROOT, 'manifests/crds')).filter((f) => f.endsWith('.yaml'));
  assert.equal(files.length, RESOURCES.length, 'one file per resource');
  for (const file of files) {
    const crd = parse(readFileSync(join(ROOT, 'manifests/crds', file), 'utf8'));
    for (const version of crd.spec.versions) {
      assert.deepEqual(fieldsWithoutDescription(version.schema.openAPIV3Schema, crd.spec.names.kind), [], `${file} ${version.name}`);
    }
  }
});

test('kubectl explain --recursive on the embedded server: every field of every Tide resource has a description', async () => {
  const server = await startHarness();
  try {
    await server.applyCrds(join(ROOT, 'manifests/crds/'));
    await assertExplainedFieldsDescribed((args) => server.kubectlOk(args));
  } finally {
    await server.close();
  }
});
