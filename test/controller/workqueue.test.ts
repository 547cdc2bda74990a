import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/api/clock.ts';
import { WorkQueue } from '../../src/controller/workqueue.ts';

test('a key is queued once, and a key re-added while processing comes back after done()', async () => {
  const q = new WorkQueue<string>(systemClock);
  q.add('plan');
  q.add('plan');
  q.add('observe');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'plan');
  q.add('plan'); // while processing
  assert.equal(await q.get(), 'observe');
  q.done('plan');
  assert.equal(await q.get(), 'plan');
  q.shutDown();
  assert.equal(await q.get(), undefined);
});

test('failures back off exponentially per key and forget() resets them', async () => {
  const q = new WorkQueue<string>(systemClock, { baseMs: 5, maxMs: 40 });
  assert.deepEqual([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')], [5, 10, 20, 40, 40]);
  assert.equal(q.failureCount('a'), 5);
  q.forget('a');
  assert.equal(q.addRateLimited('a'), 5);
  const started = Date.now();
  assert.equal(await q.get(), 'a');
  assert.ok(Date.now() - started >= 4, 'waited for the backoff');
  q.shutDown();
});
