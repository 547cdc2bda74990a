/** Properties of the patch and apply algebra the server's writes rest on, over random objects. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mergePatch } from '../../src/kube/apiserver/patch.ts';
import { serverSideApply } from '../../src/kube/apiserver/server-side-apply.ts';
import type { KubeObject } from '../../src/kube/apiserver/types.ts';

/** JSON objects with short keys, so that random patches and configs overlap with their targets. */
const key = fc.constantFrom('a', 'b', 'c', 'd');
const leaf = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('x', 'y'), fc.boolean(), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }));
const { tree } = fc.letrec((tie) => ({
  tree: fc.dictionary(key, fc.oneof({ depthSize: 'small' }, leaf, tie('tree')), { maxKeys: 3 }),
}));
const patchTree = fc.letrec((tie) => ({
  node: fc.dictionary(key, fc.oneof({ depthSize: 'small' }, leaf, fc.constant(null), tie('node')), { maxKeys: 3 }),
})).node;

const object = (spec: unknown): KubeObject => ({ apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec });
const apply = (live: KubeObject | undefined, spec: unknown, manager = 'm') =>
  serverSideApply(live, object(spec), { manager, force: false, apiVersion: 'x/v1', now: '2026-01-01T00:00:00Z' });

test('merge patch is idempotent and leaves no nulls behind', () => {
  fc.assert(
    fc.property(tree, patchTree, (target, patch) => {
      const once = mergePatch(target, patch);
      assert.deepEqual(mergePatch(once, patch), once);
      assert.ok(!JSON.stringify(once).includes('null'));
    }),
  );
});

test('server-side apply is idempotent, and what a manager applied is what the object holds', () => {
  fc.assert(
    fc.property(tree, tree, (first, second) => {
      const created = apply(undefined, first);
      assert.deepEqual(apply(created, first), created);
      // Re-applying a different configuration as the only manager leaves exactly that configuration
      // (no field of the first one survives unless the second sets it).
      const replaced = apply(created, second);
      assert.deepEqual(replaced.spec ?? {}, pruneEmpty(second));
    }),
  );
});

test('server-side apply by a second manager keeps the first manager\'s fields unless they conflict', () => {
  fc.assert(
    fc.property(tree, tree, (mine, theirs) => {
      const live = apply(undefined, mine, 'first');
      let result: KubeObject;
      try {
        result = apply(live, theirs, 'second');
      } catch (err) {
        assert.match((err as Error).message, /^Apply failed with (1 conflict: conflict|\d+ conflicts: conflicts) with "first"/);
        return;
      }
      assert.deepEqual(result.spec ?? {}, pruneEmpty(mergePatch(pruneEmpty(mine), pruneEmpty(theirs))));
    }),
  );
});

/** Apply owns leaves: an empty object in a configuration sets nothing beneath it. */
function pruneEmpty(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = pruneEmpty(v);
  return out;
}
