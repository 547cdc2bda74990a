import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterFreshness } from '../../src/power/agent/meter-freshness.ts';
import { meterStatusPatch } from '../../src/power/agent/meter-status.ts';

const M = '0x00124b0001a2b3c4';
const T0 = Date.parse('2026-03-01T12:00:00Z');

test('a meter is fresh until stale-after passes without a watts reading', () => {
  const f = new MeterFreshness(60_000);
  assert.equal(f.view(M, T0).fresh, false);
  f.record({ meterId: M, watts: 120, atMs: T0, source: 'serial' });
  f.record({ meterId: M, energyWh: 5000, atMs: T0 + 30_000, source: 'serial' }); // energy alone does not refresh watts
  assert.deepEqual(f.view(M, T0 + 60_000), { fresh: true, watts: 120, energyWh: 5000, readingAtMs: T0, reason: 'MeterReading', message: `meter ${M} read 120 W at 2026-03-01T12:00:00.000Z` });
  const stale = f.view(M, T0 + 60_001);
  assert.equal(stale.fresh, false);
  assert.equal(stale.reason, 'MeterStale');
  assert.equal(stale.watts, undefined);
  assert.equal(stale.energyWh, 5000);
});

test('an older reading arriving late does not replace a newer one; offline lasts until a newer reading', () => {
  const f = new MeterFreshness(60_000);
  f.record({ meterId: M, watts: 200, atMs: T0, source: 'mqtt' });
  f.record({ meterId: M, watts: 100, atMs: T0 - 5000, source: 'mqtt' });
  assert.equal(f.view(M, T0).watts, 200);
  f.markOffline(M, T0 + 1000);
  assert.equal(f.view(M, T0 + 2000).reason, 'MeterOffline');
  f.record({ meterId: M, watts: 210, atMs: T0 + 3000, source: 'mqtt' });
  assert.equal(f.view(M, T0 + 3000).watts, 210);
});

test('the status patch keeps other conditions and the transition time while the status holds', () => {
  const f = new MeterFreshness(60_000);
  f.record({ meterId: M, watts: 99.5, energyWh: 10, atMs: T0, source: 'serial' });
  const other = { type: 'Ready', status: 'True' as const, reason: 'Ok', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' };
  const first = meterStatusPatch({ conditions: [other] }, f.view(M, T0 + 1500), T0 + 1500);
  assert.deepEqual(first.status, {
    watts: 99.5, energyWh: 10, meterReadingTime: '2026-03-01T12:00:00Z',
    conditions: [other, { type: 'MeterFresh', status: 'True', reason: 'MeterReading', message: first.status.conditions[1]!.message, lastTransitionTime: '2026-03-01T12:00:01Z' }],
  });
  const again = meterStatusPatch(first.status, f.view(M, T0 + 30_000), T0 + 30_000);
  assert.equal(again.status.conditions[1]!.lastTransitionTime, '2026-03-01T12:00:01Z');
  const stale = meterStatusPatch(again.status, f.view(M, T0 + 120_000), T0 + 120_000);
  assert.equal(stale.status.watts, null, 'merge patch null removes the old number');
  assert.equal(stale.status.conditions[1]!.status, 'False');
  assert.equal(stale.status.conditions[1]!.reason, 'MeterStale');
  assert.equal(stale.status.conditions[1]!.lastTransitionTime, '2026-03-01T12:02:00Z');
});
