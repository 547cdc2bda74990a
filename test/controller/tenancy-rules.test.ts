/**
 * The two tenancy rules as pure functions (the end-to-end tests on both servers are in
 * test/realkube/tenancy.test.ts): which Secrets a host may have Tide read, and which placement
 * of a libvirt domain governs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PhysicalHostSpec } from '../../src/api/physical-host.ts';
import type { VirtualMachinePlacement } from '../../src/api/types.ts';
import { resolveClaims, withClaimConditions } from '../../src/controller/claims.ts';
import { secretsToRead } from '../../src/controller/credentials.ts';

const spec = (ssh?: object, ipmi?: object) =>
  ({ address: 'h', capacity: { cpuCores: 1, memoryMiB: 64 }, ...(ssh ? { ssh: { secretRef: ssh } } : {}), ...(ipmi ? { power: { ipmi: { address: 'b', secretRef: ipmi } } } : {}) }) as unknown as PhysicalHostSpec;

test("Secrets: a ref without a namespace is Tide's; one in another namespace refuses the host, naming the field and the Secret", () => {
  assert.deepEqual(secretsToRead(spec({ name: 'ssh' }, { name: 'bmc', namespace: 'tide' }), 'tide'), {
    secrets: [{ field: 'spec.ssh.secretRef', namespace: 'tide', name: 'ssh' }, { field: 'spec.power.ipmi.secretRef', namespace: 'tide', name: 'bmc' }],
  });
  assert.deepEqual(secretsToRead(spec(), 'tide'), { secrets: [] });
  const refused = secretsToRead(spec({ name: 'ssh' }, { name: 'bmc', namespace: 'team-a' }), 'tide');
  assert.ok('refused' in refused);
  assert.match(refused.refused, /^spec\.power\.ipmi\.secretRef names Secret team-a\/bmc, outside Tide's namespace tide/);
});

const placement = (namespace: string, name: string, domain: string, created: string): VirtualMachinePlacement =>
  ({ apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { namespace, name, creationTimestamp: created, generation: 1 }, spec: { domain, doNotMigrate: false, priority: 0 } }) as VirtualMachinePlacement;

test('claims: the oldest placement of a domain governs, then namespace/name; the others are conflicts naming it', () => {
  const old = placement('z-team', 'web', 'web-1', '2026-01-01T00:00:00Z');
  const young = placement('a-team', 'web', 'web-1', '2026-01-01T00:00:01Z');
  const twinA = placement('a', 'x', 'db-1', '2026-01-01T00:00:00Z');
  const twinB = placement('b', 'x', 'db-1', '2026-01-01T00:00:00Z');
  const alone = placement('a', 'y', 'cache-1', '2026-01-02T00:00:00Z');
  const claims = resolveClaims([young, twinB, alone, old, twinA]);
  assert.deepEqual(claims.managed.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(), ['a/x', 'a/y', 'z-team/web']);
  assert.deepEqual(claims.conflicts.map((c) => [c.placement.metadata.namespace, c.winner.metadata.namespace]), [['b', 'a'], ['a-team', 'z-team']]);

  const now = '2026-01-03T00:00:00Z';
  const lost = withClaimConditions({}, young, old, now);
  const conflict = lost.conditions!.find((c) => c.type === 'Conflict')!;
  assert.equal(conflict.status, 'True');
  assert.match(conflict.message, /already claimed by VirtualMachinePlacement z-team\/web \(created 2026-01-01T00:00:00Z\)/);
  assert.equal(lost.conditions!.find((c) => c.type === 'Ready')?.reason, 'Conflict');
  const won = withClaimConditions({}, old, undefined, now);
  assert.deepEqual(won.conditions!.map((c) => [c.type, c.status]), [['Conflict', 'False']]);
});
