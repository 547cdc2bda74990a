/**
 * The behaviour every HistoryStore must have, run against each implementation
 * (embedded.test.ts always; mongodb.test.ts on MONGODB_URI or, by default, on FerretDB).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryStore, HostSample, StoredAction, StoreOptions } from '../../src/store/types.ts';

/** One place a store lives (a directory, a database); open() again after close() re-opens it. */
export interface StoreLocation {
  open(options?: Partial<StoreOptions>): Promise<HistoryStore>;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;
// Recent enough that no retention default removes it, and spanning several hours (segments).
const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

function hostSample(host: string, atMs: number, watts: number): HostSample {
  return { host, atMs, powerState: 'on', watts, cpuLoadPercent: watts / 4 };
}

const migrate: StoredAction = {
  type: 'migrate', reason: 'Balance', vm: 'vm-40', from: 'node100', to: 'node200',
  message: 'migrate vm-40 node100→node200: d = 40 ≥ 10',
};
const powerOff: StoredAction = { type: 'power-off', reason: 'EmptyHost', host: 'node300', message: 'node300 is empty' };

export function storeContract(name: string, newLocation: () => Promise<StoreLocation>): void {
  describe(`HistoryStore contract: ${name}`, () => {
    async function withStore(
      fn: (store: HistoryStore, location: StoreLocation) => Promise<void>,
      options?: Partial<StoreOptions>,
    ): Promise<void> {
      const location = await newLocation();
      const store = await location.open(options);
      try {
        await fn(store, location);
      } finally {
        await store.close().catch(() => {});
        await location.cleanup();
      }
    }

    test('returns host samples oldest first, whatever order they were appended in', () =>
      withStore(async (store) => {
        store.appendHostSamples([hostSample('a', base + 2000, 120), hostSample('b', base + 1000, 90)]);
        store.appendHostSamples([hostSample('a', base, 100), hostSample('a', base + 1000, 110)]);
        await store.flush();
        const all = await store.hostSamples({ fromMs: base, toMs: base + HOUR });
        assert.deepEqual(all.map((s) => s.atMs), [base, base + 1000, base + 1000, base + 2000]);
        const a = await store.hostSamples({ fromMs: base, toMs: base + HOUR }, 'a');
        assert.deepEqual(a.map((s) => [s.host, s.atMs, s.watts]), [['a', base, 100], ['a', base + 1000, 110], ['a', base + 2000, 120]]);
        assert.deepEqual(a[0], hostSample('a', base, 100), 'every field comes back as written');
      }));

    test('range queries are half-open [from, to) and cross hour boundaries', () =>
      withStore(async (store) => {
        // One sample every 20 minutes over three hours: 9 samples.
        const times = Array.from({ length: 9 }, (_, i) => base + i * 20 * 60_000);
        store.appendHostSamples(times.map((t, i) => hostSample('h', t, 100 + i)));
        await store.flush();
        const from = times[2];
        const to = times[7];
        const got = await store.hostSamples({ fromMs: from, toMs: to });
        assert.deepEqual(got.map((s) => s.atMs), times.slice(2, 7));
        assert.equal((await store.hostSamples({ fromMs: base - HOUR, toMs: base })).length, 0);
        assert.equal((await store.hostSamples({ fromMs: base, toMs: base + 10 * HOUR })).length, 9);
      }));

    test('VM samples are queried by VM', () =>
      withStore(async (store) => {
        store.appendVmSamples([
          { vm: 'vm-1', host: 'a', atMs: base + 10, cpuLoadPercent: 30, memoryMiB: 512 },
          { vm: 'vm-2', host: 'a', atMs: base + 5, cpuLoadPercent: 70 },
          { vm: 'vm-1', host: 'b', atMs: base + 20, cpuLoadPercent: 35 },
        ]);
        await store.flush();
        const vm1 = await store.vmSamples({ fromMs: base, toMs: base + HOUR }, 'vm-1');
        assert.deepEqual(vm1.map((s) => [s.host, s.atMs, s.cpuLoadPercent]), [['a', base + 10, 30], ['b', base + 20, 35]]);
        assert.equal(vm1[0].memoryMiB, 512);
        assert.deepEqual((await store.vmSamples({ fromMs: base, toMs: base + HOUR })).map((s) => s.vm), ['vm-2', 'vm-1', 'vm-1']);
      }));

    test('records actions before they run, then their outcome; decisions keep their plan', () =>
      withStore(async (store) => {
        const decisionId = await store.recordDecision({
          atMs: base + 500, strategy: 'paper', summary: 'consolidate: 2 hosts fit in 1', actions: [migrate, powerOff],
        });
        const second = await store.recordAction(powerOff, base + 900, decisionId);
        const first = await store.recordAction(migrate, base + 600, decisionId);
        let actions = await store.actions({ fromMs: base, toMs: base + HOUR });
        assert.deepEqual(actions.map((a) => [a.id, a.result]), [[first, 'pending'], [second, 'pending']]);
        await store.recordActionOutcome(first, { result: 'succeeded', finishedAtMs: base + 7000, runningOn: 'node200' });
        await store.recordActionOutcome(second, { result: 'failed', finishedAtMs: base + 9000, error: 'node300 still has vm-9' });
        actions = await store.actions({ fromMs: base, toMs: base + HOUR });
        assert.deepEqual(actions[0].action, migrate);
        assert.equal(actions[0].decisionId, decisionId);
        assert.deepEqual([actions[0].result, actions[0].finishedAtMs, actions[0].runningOn], ['succeeded', base + 7000, 'node200']);
        assert.deepEqual([actions[1].result, actions[1].error], ['failed', 'node300 still has vm-9']);
        assert.equal((await store.actions({ fromMs: base + 700, toMs: base + HOUR })).length, 1);
        const decisions = await store.decisions({ fromMs: base, toMs: base + HOUR });
        assert.equal(decisions.length, 1);
        assert.deepEqual([decisions[0].id, decisions[0].summary, decisions[0].actions], [decisionId, 'consolidate: 2 hosts fit in 1', [migrate, powerOff]]);
        await assert.rejects(store.recordActionOutcome('no-such-id', { result: 'skipped', finishedAtMs: base }), /no-such-id/);
      }));

    test('everything written survives closing and re-opening the store', () =>
      withStore(async (store, location) => {
        store.appendHostSamples([hostSample('a', base, 100), hostSample('a', base + HOUR + 1, 101)]);
        store.appendVmSamples([{ vm: 'vm-1', host: 'a', atMs: base, cpuLoadPercent: 12 }]);
        const id = await store.recordAction(migrate, base + 1);
        await store.recordActionOutcome(id, { result: 'succeeded', finishedAtMs: base + 2 });
        await store.recordDecision({ atMs: base, strategy: 'paper', summary: 'balanced', actions: [] });
        await store.close(); // no explicit flush: close writes what is buffered
        const reopened = await location.open();
        try {
          const range = { fromMs: base, toMs: base + 2 * HOUR };
          assert.deepEqual((await reopened.hostSamples(range)).map((s) => s.watts), [100, 101]);
          assert.equal((await reopened.vmSamples(range)).length, 1);
          const actions = await reopened.actions(range);
          assert.deepEqual(actions.map((a) => [a.id, a.result]), [[id, 'succeeded']]);
          assert.equal((await reopened.decisions(range))[0].summary, 'balanced');
          // Writing after a restart goes on where it was.
          reopened.appendHostSamples([hostSample('a', base + 2, 102)]);
          await reopened.recordActionOutcome(id, { result: 'failed', finishedAtMs: base + 3, error: 'rolled back' });
          await reopened.flush();
          assert.equal((await reopened.hostSamples(range)).length, 3);
          assert.equal((await reopened.actions(range))[0].error, 'rolled back');
        } finally {
          await reopened.close();
        }
      }));

    test('a power-off keeps its predicted saving, gains its measured one, and both survive re-opening', () =>
      withStore(async (store, location) => {
        const predictedSaving = { watts: 69, windowMs: HOUR, energyWh: 69 };
        const measured = { fromMs: base + 5, toMs: base + 5 + HOUR, offMs: HOUR - 60_000, idleWatts: 68.5, idleWattsSource: 'fitted' as const, offWatts: 4, energyWh: 63.4, ended: 'window-end' as const };
        const decisionId = await store.recordDecision({ atMs: base, strategy: 'paper', summary: 'consolidate', actions: [{ ...powerOff, predictedSaving }], predictedSaving });
        const id = await store.recordAction({ ...powerOff, predictedSaving }, base + 1, decisionId);
        await store.recordActionOutcome(id, { result: 'succeeded', finishedAtMs: base + 5 });
        await store.recordMeasuredSaving(id, measured);
        await assert.rejects(store.recordMeasuredSaving('no-such-id', measured), /no-such-id/);
        const range = { fromMs: base, toMs: base + HOUR };
        const check = async (s: HistoryStore) => {
          const [action] = await s.actions(range);
          assert.deepEqual([action.action.predictedSaving, action.measuredSaving, action.result], [predictedSaving, measured, 'succeeded']);
          assert.deepEqual((await s.decisions(range))[0].predictedSaving, predictedSaving);
        };
        await check(store);
        await store.close();
        const reopened = await location.open();
        try {
          await check(reopened);
        } finally {
          await reopened.close();
        }
      }));

    test('a full buffer drops the oldest samples, counts them, and never drops actions', () =>
      withStore(
        async (store) => {
          const samples = Array.from({ length: 150 }, (_, i) => hostSample('h', base + i * 1000, i));
          store.appendHostSamples(samples.slice(0, 75));
          const id = await store.recordAction(migrate, base + 1);
          store.appendHostSamples(samples.slice(75));
          assert.deepEqual(store.stats(), { bufferedSamples: 100, droppedSamples: 50, lastWriteError: undefined });
          await store.flush();
          assert.equal(store.stats().bufferedSamples, 0);
          assert.equal(store.stats().droppedSamples, 50);
          const kept = await store.hostSamples({ fromMs: base, toMs: base + HOUR });
          assert.deepEqual(kept.map((s) => s.watts), samples.slice(50).map((s) => s.watts));
          assert.deepEqual((await store.actions({ fromMs: base, toMs: base + HOUR })).map((a) => a.id), [id]);
        },
        // No timed or size-triggered write before the explicit flush, so the bound is what acts.
        { maxBufferedSamples: 100, maxBatchSize: 1000, flushIntervalMs: 3_600_000 },
      ));

    test('a full batch is written without waiting for the timer', () =>
      withStore(
        async (store) => {
          store.appendHostSamples(Array.from({ length: 10 }, (_, i) => hostSample('h', base + i, i)));
          const deadline = Date.now() + 20_000;
          let got = 0;
          while (Date.now() < deadline && (got = (await store.hostSamples({ fromMs: base, toMs: base + HOUR })).length) < 10) {
            await new Promise((r) => setTimeout(r, 50));
          }
          assert.equal(got, 10);
          assert.equal(store.stats().bufferedSamples, 0);
        },
        { maxBatchSize: 10, flushIntervalMs: 3_600_000 },
      ));
  });
}
