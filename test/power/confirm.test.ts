import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../src/api/clock.ts';
import { PowerActionError, type HostTarget } from '../../src/api/drivers.ts';
import { confirmPowerState, type ObservedPower } from '../../src/power/control/confirm.ts';

/** A clock that only moves when slept on. */
function steppedClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return { slept, now: () => now, sleep: async (ms, signal) => { signal?.throwIfAborted(); slept.push(ms); now += ms; } };
}
const host: HostTarget = { name: 'n1', spec: { capacity: { cpuCores: 1, memoryMiB: 64 } } };

test('confirmation polls until the wanted state is observed', async () => {
  const clock = steppedClock();
  const seen: ObservedPower[] = ['off', 'unknown', 'off', 'on'];
  await confirmPowerState(host, 'on', 'test', { observe: async () => seen.shift()!, clock, timeoutMs: 60_000, pollMs: 5000 });
  assert.deepEqual(clock.slept, [5000, 5000, 5000]);
});

test('observation errors count as unknown; the timeout ends the wait with the last observation', async () => {
  const clock = steppedClock();
  let calls = 0;
  await assert.rejects(
    confirmPowerState(host, 'off', 'IPMI chassis power soft', { observe: async () => { calls++; throw new Error('no route'); }, clock, timeoutMs: 12_000, pollMs: 5000 }),
    (err: unknown) => err instanceof PowerActionError && err.action === 'off' &&
      err.message === 'n1 was not observed off within 12s after IPMI chassis power soft (last observed: unknown (no route)); not retrying',
  );
  assert.deepEqual(clock.slept, [5000, 5000, 2000], 'the last sleep is cut to the deadline');
  assert.equal(calls, 4);
});

test('an abort stops the wait', async () => {
  const abort = new AbortController();
  abort.abort(new Error('operator shutting down'));
  await assert.rejects(confirmPowerState(host, 'on', 'test', { observe: async () => 'off', clock: steppedClock(), timeoutMs: 1000, pollMs: 100, signal: abort.signal }), /operator shutting down/);
});

test('after a power-off was sent, only unreachability that lasts confirms it; a blip does not, and it never confirms on', async () => {
  const run = (seen: ObservedPower[], want: 'on' | 'off') =>
    confirmPowerState(host, want, 'a power-off', { observe: async () => seen.shift() ?? 'on', clock: steppedClock(), timeoutMs: 30_000, pollMs: 5000 });
  await run(['on', 'unreachable', 'unreachable'], 'off');
  await assert.rejects(run(['unreachable', 'on', 'unreachable', 'on', 'unreachable'], 'off'), /not observed off within 30s after a power-off \(last observed: on\)/);
  await assert.rejects(run(['unreachable', 'unreachable', 'unreachable', 'unreachable', 'unreachable', 'unreachable', 'unreachable'], 'on'), /not observed on/);
  // Evidence of off (a BMC, a meter) needs no second look.
  await run(['off'], 'off');
});
