import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SampleBatcher, type TaggedSample } from '../../src/store/sample-batcher.ts';

const sample = (i: number): TaggedSample => ({ kind: 'host', sample: { host: 'h', atMs: i, powerState: 'on', watts: i } });

test('a failed write keeps its batch in order, bounded, and the next flush delivers it', async () => {
  const written: number[] = [];
  let serverUp = false;
  const batcher = new SampleBatcher({ flushIntervalMs: 3_600_000, maxBatchSize: 4, maxBufferedSamples: 10 }, async (batch) => {
    if (!serverUp) throw new Error('connection refused');
    written.push(...batch.map((b) => b.sample.atMs));
  });
  batcher.add([0, 1, 2].map(sample));
  await assert.rejects(batcher.flush(), /connection refused/);
  assert.deepEqual(batcher.stats(), { bufferedSamples: 3, droppedSamples: 0, lastWriteError: 'connection refused' });
  // While the server is away more samples arrive than the bound allows: the oldest go.
  for (let i = 3; i < 14; i++) batcher.add([sample(i)]);
  await assert.rejects(batcher.flush());
  assert.equal(batcher.stats().bufferedSamples, 10);
  assert.equal(batcher.stats().droppedSamples, 4);
  serverUp = true;
  await batcher.flush();
  assert.deepEqual(written, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assert.deepEqual(batcher.stats(), { bufferedSamples: 0, droppedSamples: 4, lastWriteError: undefined });
});

test('the timer flushes on its own', async () => {
  const written: number[] = [];
  const batcher = new SampleBatcher({ flushIntervalMs: 20, maxBatchSize: 100, maxBufferedSamples: 100 }, async (batch) => {
    written.push(...batch.map((b) => b.sample.atMs));
  });
  batcher.start();
  try {
    batcher.add([sample(1), sample(2)]);
    const deadline = Date.now() + 10_000;
    while (written.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(written, [1, 2]);
  } finally {
    batcher.stop();
  }
});
