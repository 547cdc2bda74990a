import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
  assert.ok(doc.oracleKWh <= doc.oracleUpperKWh, 'the lower bound is below the clairvoyant packing');
  assert.equal(doc.mode, 'cloudsim');

  const tooFew = await tide('simulate', '--trace', traces, '--hosts', '3');
  assert.equal(tooFew.code, 2);
  assert.match(tooFew.stderr, /^tide simulate: initial placement: VM \S+ \(\d+ MIPS, \d+ MiB\) fits on none of the 3 hosts\n$/);
});

test('tide simulate --trace DIR --realistic --json: two-column traces, memory following the trace, both references', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tide-memory-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'with-memory');
  const cpuOnly = join(root, 'cpu-only');
  mkdirSync(dir);
  mkdirSync(cpuOnly);
  // 40 VMs at a steady low CPU; their memory use falls from 100 % to 20 % of their size halfway.
  for (let v = 0; v < 40; v++) {
    const cpu = Array.from({ length: 24 }, (_, k) => 5 + ((v + k) % 10));
    writeFileSync(join(dir, `vm-${String(v).padStart(2, '0')}`), cpu.map((c, k) => `${c} ${k < 12 ? 100 : 20}\n`).join(''));
    writeFileSync(join(cpuOnly, `vm-${String(v).padStart(2, '0')}`), cpu.map((c) => `${c}\n`).join(''));
  }
  const { code, stdout, stderr } = await tide('simulate', '--trace', dir, '--hosts', '40', '--duration', '7200', '--realistic', '--json');
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(stdout);
  assert.equal(doc.mode, 'realistic');
  assert.ok(doc.oracleKWh > 0 && doc.oracleKWh <= doc.oracleUpperKWh, `${doc.oracleKWh} ≤ ${doc.oracleUpperKWh}`);
  assert.ok(doc.oracleKWh <= doc.energyKWh);
  // With memory at a fifth, the VMs fit on far fewer hosts than at their full size.
  const full = await tide('simulate', '--trace', cpuOnly, '--hosts', '40', '--duration', '7200', '--realistic', '--json');
  assert.equal(full.code, 0, full.stderr);
  const hostsOn = (d: { hosts: { vms: string[] }[] }) => d.hosts.filter((h) => h.vms.length > 0).length;
  assert.ok(hostsOn(doc) < hostsOn(JSON.parse(full.stdout)), `${hostsOn(doc)} hosts with the memory column, ${hostsOn(JSON.parse(full.stdout))} without`);

  writeFileSync(join(dir, 'vm-99'), '10 100\n10 x\n');
  const bad = await tide('simulate', '--trace', dir, '--realistic');
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), `tide simulate: ${join(dir, 'vm-99')}:2: expected a memory percentage (a number from 0 to 100) in column 2, got "10 x"`);
});

