import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedPath } from './shared-data.ts';

const TIDE = fileURLToPath(new URL('../../bin/tide.js', import.meta.url));

function tide(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TIDE, ...args], { timeout: 120_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('tide simulate --trace DIR --json adds energyKWh, migrations and CloudSim SLA metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-planetlab-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const day = sharedPath('planetlab', '20110309');
  const traces = join(dir, 'traces');
  mkdirSync(traces);
  for (const name of readdirSync(day).sort().slice(0, 60)) copyFileSync(join(day, name), join(traces, name));

  const { code, stdout, stderr } = await tide('simulate', '--trace', traces, '--hosts', '50', '--duration', '21600', '--strategy', 'lr-mmt', '--json');
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(stdout);
  for (const field of ['scenario', 'initialWatts', 'finalWatts', 'energyWh', 'hosts', 'vms', 'actions']) assert.ok(field in doc, `core field ${field} kept`);
  assert.equal(doc.hosts.length, 50);
  assert.ok(doc.energyKWh > 0);
  assert.ok(Math.abs(doc.energyWh - doc.energyKWh * 1000) < 0.01);
  assert.equal(doc.migrations, doc.actions.filter((a: { type: string }) => a.type === 'migrate').length);
  assert.ok(doc.migrations > 0, 'lr-mmt consolidates the spread initial placement');
  const { slatah, pdm, slav, esv } = doc.sla;
  assert.ok(slatah > 0 && slatah < 1 && pdm > 0 && pdm < 1);
  assert.ok(Math.abs(slav - slatah * pdm) < 1e-15);
  assert.ok(Math.abs(esv - doc.energyKWh * slav) < 1e-15);
  assert.ok(doc.oracleKWh <= doc.energyKWh);

  const tooFew = await tide('simulate', '--trace', traces, '--hosts', '3');
  assert.equal(tooFew.code, 2);
  assert.match(tooFew.stderr, /^tide simulate: initial placement: VM \S+ \(\d+ MIPS, \d+ MiB\) fits on none of the 3 hosts\n$/);
});
