import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEmbeddedStore } from '../../src/store/embedded-store.ts';
import { paperDay } from './paper-day.ts';

const tide = fileURLToPath(new URL('../../bin/tide.js', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tide, 'report', ...args], { env: { ...process.env, MONGODB_URI: '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tide-report-cli-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('tide report --from-json prints the table and writes the page', { timeout: 90_000 }, () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'sim.json'), JSON.stringify(paperDay()));
    const out = join(dir, 'report.html');
    const r = await run(['--from-json', join(dir, 'sim.json'), '--html', out, '--since', '30m', '--until', '8h']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /window: \+0:30:00 → \+8:00:00 \(7 h 30 min\)/);
    assert.match(r.stdout, /^node3\s+\S+ Wh\s+\S+ Wh\s+570 Wh\s+100 W \(fitted\)\s+6 h/m);
    const html = await readFile(out, 'utf8');
    assert.match(html, /<svg id="power-chart"/);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no script, no external asset');
  }));

test('tide report reads the embedded store read-only, beside its writer', { timeout: 90_000 }, () =>
  withDir(async (dir) => {
    const t0 = Date.UTC(2026, 10, 25, 8);
    const store = await openEmbeddedStore(dir, { now: () => t0 });
    store.appendHostSamples([
      { host: 'a', atMs: t0, powerState: 'on', watts: 200, cpuLoadPercent: 50 },
      { host: 'a', atMs: t0 + 3_600_000, powerState: 'on', watts: 100, cpuLoadPercent: 0 },
    ]);
    await store.recordAction({ type: 'power-on', host: 'a', reason: 'Overloaded', message: 'average 85 % ≥ 80 %' }, t0 + 60_000);
    await store.flush();
    try {
      const page = join(dir, 'report.html');
      const r = await run(['--store', dir, '--html', page]);
      assert.equal(r.code, 0, r.stderr);
      const html = await readFile(page, 'utf8');
      assert.match(html, />time \(UTC\)</);
      assert.match(html, /text-anchor="middle">08:30</, 'wall-clock ticks as 24-hour UTC');
      assert.match(r.stdout, /^a\s+200 Wh/m);
      assert.match(r.stdout, /2026-11-25 08:01:00Z\s+power-on a\s+Overloaded\s+pending\s+average 85 %/);
    } finally {
      await store.close();
    }
  }));

test('tide report explains bad input without a stack trace', { timeout: 90_000 }, () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'bad.json'), '{"scenario": "x",\n "hosts": [1,}');
    let r = await run(['--from-json', join(dir, 'bad.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^tide report: .*bad\.json: not valid JSON \(line 2, column \d+/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    r = await run(['--store', join(dir, 'nowhere')]);
    assert.match(r.stderr, /no history store at .*nowhere/);
    r = await run(['--from-json', join(dir, 'bad.json'), '--store', dir]);
    assert.match(r.stderr, /give one of --store, --mongodb, --from-json/);
    r = await run(['--store', dir, '--since', 'yesterday-ish']);
    assert.match(r.stderr, /--since 'yesterday-ish': expected an ISO time/);
  }));
