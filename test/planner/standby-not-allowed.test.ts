import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, plan } from '../../src/planner/plan.ts';
import type { HostSnapshot, Snapshot } from '../../src/planner/types.ts';

const host = (name: string, extra: Partial<HostSnapshot> = {}): HostSnapshot => ({
  name, cpuCores: 4, memoryMiB: 16384, powerState: 'on', standbyAllowed: true, maintenance: false, ...extra,
});

function snapshot(hosts: HostSnapshot[]): Snapshot {
  return { atMs: 0, hosts, vms: [{ name: 'vm-1', host: 'node200', vcpus: 2, memoryMiB: 1024, cpuLoadPercent: 10, doNotMigrate: false }] };
}

test('a host off whose standby is no longer allowed is powered on, by every strategy', () => {
  for (const strategy of ['paper', 'npa'] as const) {
    const p = plan(snapshot([host('node100', { powerState: 'off', standbyAllowed: false }), host('node200')]), { ...DEFAULT_POLICY, strategy });
    const on = p.actions.filter((a) => a.type === 'power-on');
    assert.equal(on.length, 1, strategy);
    assert.equal(on[0]!.reason, 'StandbyNotAllowed');
    assert.match(on[0]!.message, /node100.*standbyAllowed false or powerPolicy AlwaysOn/);
  }
});

test('hosts in maintenance, without a power-on method, or allowed standby stay off', () => {
  const p = plan(
    snapshot([
      host('a', { powerState: 'off', standbyAllowed: false, maintenance: true }),
      host('b', { powerState: 'off', standbyAllowed: false, canPowerOn: false }),
      host('c', { powerState: 'off', standbyAllowed: true }),
      host('node200'),
    ]),
    DEFAULT_POLICY,
  );
  assert.deepEqual(p.actions.filter((a) => a.type === 'power-on'), []);
});
