/**
 * The executor's side of a wake (issue 15 part 4), in memory: each method in turn, the
 * leadership fence checked before a fallback is sent, the attempts kept bounded, and the
 * WakeFailing condition. Through the operator on both API servers: test/realkube/wake-fallback.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PHYSICAL_HOST } from '../../src/api/crds.ts';
import type { HostTarget, PowerDriver, WakeMethod } from '../../src/api/drivers.ts';
import type { PhysicalHost, WakeAttempt } from '../../src/api/types.ts';
import { Executor, type ExecutorDeps } from '../../src/controller/executor.ts';
import type { Plan } from '../../src/planner/types.ts';
import { host, snapshot } from '../planner/fixtures.ts';
import { executionOf, MemoryWriter, ModelHypervisor, quietLog, testClock } from './executor-world.ts';

class MethodPower implements PowerDriver {
  readonly calls: string[] = [];
  constructor(private readonly works: (method: WakeMethod | undefined) => boolean) {}
  async powerOn(h: HostTarget, _signal?: AbortSignal, method?: WakeMethod): Promise<void> {
    this.calls.push(`${h.name} ${method}`);
    if (!this.works(method)) throw new Error(`${h.name} was not observed up within 600 s`);
  }
  async powerOff(): Promise<void> {}
}

const wakeB: Plan = { strategy: 'paper', summary: 'test', actions: [{ type: 'power-on', host: 'b', reason: 'Overloaded', message: 'power on b' }] };

function world(power: MethodPower, extra: Partial<ExecutorDeps> = {}) {
  const s = snapshot([host('a'), host('b', { powerState: 'off' })], []);
  const writer = new MemoryWriter();
  const input = executionOf(s, wakeB, writer);
  const b = writer.get<PhysicalHost>(PHYSICAL_HOST, 'b')!;
  const power0 = b.spec.power!;
  writer.put(PHYSICAL_HOST, { ...b, spec: { ...b.spec, power: { ...power0, fallbackOnMethods: ['IPMI'], ipmi: { address: 'bmc-b', port: 623, secretRef: { name: 'bmc' } } } } });
  const executor = new Executor({ clock: testClock, hypervisor: new ModelHypervisor(s), power, writer, log: quietLog(), ...extra });
  const status = () => writer.get<PhysicalHost>(PHYSICAL_HOST, 'b')!.status!;
  return { writer, run: () => executor.execute(input), status };
}

const shown = (attempts: WakeAttempt[] | undefined) => (attempts ?? []).map((a) => `${a.method}:${a.outcome}`);

test('a fence that refuses before the fallback: IPMI is not sent, and the wake is recorded as failed', async () => {
  const power = new MethodPower(() => false);
  let fences = 0;
  // The fence is asked before the first method and again before the fallback.
  const w2 = world(power, { fence: async () => { if (++fences > 1) throw new Error('lease held by replica-b'); } });
  const [result] = await w2.run();
  assert.equal(result!.result, 'failed');
  assert.deepEqual(power.calls, ['b WakeOnLAN'], 'no IPMI command without the lease');
  assert.match(result!.detail, /IPMI not sent: not the leader any more: lease held by replica-b/);
  const s = w2.status();
  assert.deepEqual([s.powerAction!.phase, shown(s.wakeAttempts), s.failedWakesInARow], ['Failed', ['WakeOnLAN:Failed'], 1]);
  assert.equal(w2.writer.events.filter((e) => e.reason === 'WakeFallback').length, 0, 'no fallback announced that was not sent');
});

test('the last 5 attempts are kept; 3 failed wakes make WakeFailing True (one Event), a success clears it', async () => {
  let works = false;
  const power = new MethodPower(() => works);
  const w = world(power);
  for (let i = 0; i < 3; i++) await w.run();
  const failing = w.status();
  assert.equal(failing.failedWakesInARow, 3);
  assert.deepEqual(shown(failing.wakeAttempts), ['IPMI:Failed', 'WakeOnLAN:Failed', 'IPMI:Failed', 'WakeOnLAN:Failed', 'IPMI:Failed'], 'six attempts, the oldest dropped');
  const condition = failing.conditions!.find((c) => c.type === 'WakeFailing')!;
  assert.deepEqual([condition.status, condition.reason], ['True', 'WakeFailed']);
  assert.equal(w.writer.events.filter((e) => e.reason === 'WakeFailing' && e.type === 'Warning').length, 1);
  assert.equal(w.writer.events.filter((e) => e.reason === 'WakeFallback').length, 3, 'one fallback per wake');
  works = true;
  const [result] = await w.run();
  assert.equal(result!.result, 'succeeded');
  const ok = w.status();
  assert.equal(ok.failedWakesInARow, 0);
  assert.deepEqual(shown(ok.wakeAttempts).at(-1), 'WakeOnLAN:Succeeded');
  assert.equal(ok.conditions!.find((c) => c.type === 'WakeFailing')!.status, 'False');
  assert.equal(w.writer.events.filter((e) => e.reason === 'WakeRecovered').length, 1);
});
