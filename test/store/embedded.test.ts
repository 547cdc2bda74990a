import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, appendFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore, segmentName } from '../../src/store/embedded-store.ts';
import { storeContract } from './contract.ts';

storeContract('embedded (JSON Lines files)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tide-store-'));
  return {
    open: (options) => openEmbeddedStore(dir, options),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

const HOUR = 3_600_000;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tide-store-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('embedded: retention removes expired sample segments and history on open', () =>
  withDir(async (dir) => {
    const now = Date.UTC(2026, 10, 25, 12, 30);
    const old = now - 3 * 24 * HOUR;
    let store = await openEmbeddedStore(dir, { now: () => now });
    store.appendHostSamples([
      { host: 'a', atMs: old, powerState: 'on', watts: 1 },
      { host: 'a', atMs: now - HOUR, powerState: 'on', watts: 2 },
    ]);
    await store.recordAction({ type: 'power-on', reason: 'Overloaded', host: 'a', message: 'old' }, old);
    await store.recordAction({ type: 'power-on', reason: 'Overloaded', host: 'b', message: 'new' }, now - HOUR);
    await store.close();
    const segments = await readdir(join(dir, 'samples', 'host'));
    assert.deepEqual(segments.sort(), [`${segmentName(old)}.jsonl`, `${segmentName(now - HOUR)}.jsonl`].sort());

    store = await openEmbeddedStore(dir, { now: () => now, sampleRetentionSeconds: 24 * 3600, historyRetentionSeconds: 24 * 3600 });
    try {
      assert.deepEqual(await readdir(join(dir, 'samples', 'host')), [`${segmentName(now - HOUR)}.jsonl`]);
      const all = { fromMs: 0, toMs: now };
      assert.deepEqual((await store.hostSamples(all)).map((s) => s.watts), [2]);
      assert.deepEqual((await store.actions(all)).map((a) => a.action.message), ['new']);
      const log = (await readFile(join(dir, 'history', 'actions.jsonl'), 'utf8')).trim().split('\n');
      assert.equal(log.length, 1, 'the compacted log holds only the kept action');
    } finally {
      await store.close();
    }
  }));

test('embedded: retention also runs while the store stays open', () =>
  withDir(async (dir) => {
    let now = Date.UTC(2026, 10, 25, 12, 30);
    const store = await openEmbeddedStore(dir, { now: () => now, sampleRetentionSeconds: 3600, historyRetentionSeconds: 3600, retentionIntervalMs: 20 });
    try {
      store.appendHostSamples([{ host: 'a', atMs: now, powerState: 'on', watts: 1 }]);
      await store.recordAction({ type: 'alert', reason: 'Blocked', message: 'x' }, now);
      await store.flush();
      assert.equal((await readdir(join(dir, 'samples', 'host'))).length, 1);
      now += 3 * HOUR;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await readdir(join(dir, 'samples', 'host'))).length > 0) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await readdir(join(dir, 'samples', 'host')), []);
      assert.deepEqual(await store.actions({ fromMs: 0, toMs: now }), []);
    } finally {
      await store.close();
    }
  }));

test('embedded: a torn last line (crash mid-write) is skipped and later writes stay readable', () =>
  withDir(async (dir) => {
    const at = Math.floor(Date.now() / HOUR) * HOUR;
    let store = await openEmbeddedStore(dir);
    store.appendHostSamples([{ host: 'a', atMs: at, powerState: 'on', watts: 1 }]);
    await store.close();
    const segment = join(dir, 'samples', 'host', `${segmentName(at)}.jsonl`);
    await appendFile(segment, '{"host":"a","atMs":');
    await appendFile(join(dir, 'history', 'actions.jsonl'), '{"k":"action","id":"x","at');
    store = await openEmbeddedStore(dir);
    try {
      store.appendHostSamples([{ host: 'a', atMs: at + 1, powerState: 'on', watts: 2 }]);
      await store.flush();
      assert.deepEqual((await store.hostSamples({ fromMs: at, toMs: at + HOUR })).map((s) => s.watts), [1, 2]);
      assert.deepEqual(await store.actions({ fromMs: 0, toMs: at + HOUR }), []);
    } finally {
      await store.close();
    }
  }));

test('embedded: one writer at a time; readers open read-only beside it', () =>
  withDir(async (dir) => {
    const writer = await openEmbeddedStore(dir);
    try {
      await assert.rejects(openEmbeddedStore(dir), /in use by process \d+/);
      writer.appendHostSamples([{ host: 'a', atMs: Date.now(), powerState: 'off', watts: 3 }]);
      await writer.flush();
      const reader = await openEmbeddedStore(dir, { readOnly: true });
      assert.equal((await reader.hostSamples({ fromMs: 0, toMs: Date.now() + HOUR })).length, 1);
      assert.throws(() => reader.appendHostSamples([]), /read-only/);
      await reader.close();
    } finally {
      await writer.close();
    }
    // A lock left by a process that is gone does not block the next writer.
    await writeFile(join(dir, 'LOCK'), '999999999');
    const next = await openEmbeddedStore(dir);
    await next.close();
  }));
