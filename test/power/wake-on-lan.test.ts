import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { magicPacket } from '../../src/power/control/wake-on-lan.ts';
import { repoPath } from '../kube/harness.ts';
import { createNamespacePair, type NamespacePair } from './peers/netns.ts';
import { startProcess, type Started } from './peers/processes.ts';
import { waitFor } from './peers/wait.ts';

const MAC = '52:54:00:ab:cd:ef';
const PORT = 9;
let dir: string;
let ns: NamespacePair;
let listener: Started;
const awakeFile = () => join(dir, 'awake');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tide-wol-'));
  ns = createNamespacePair('wol');
  listener = startProcess('ip', ['netns', 'exec', ns.listener, process.execPath, '--import', 'tsx', repoPath('test/power/peers/wol-listener.ts'), String(PORT), MAC, awakeFile()]);
  await waitFor(`the listener in ${ns.listener} (${listener.output()})`, () => listener.output().includes('"listening"'), 20_000);
});
after(async () => {
  await listener?.stop();
  ns?.remove();
  rmSync(dir, { recursive: true, force: true });
});

function powerOnFromSender(mac: string, bootTimeoutSeconds: number): Promise<{ ok: boolean; powerActionError?: boolean; error?: string }> {
  const args = JSON.stringify({ mac, broadcast: ns.broadcast, port: PORT, awakeFile: awakeFile(), bootTimeoutSeconds });
  return new Promise((resolve, reject) =>
    execFile('ip', ['netns', 'exec', ns.sender, process.execPath, '--import', 'tsx', repoPath('test/power/peers/wol-power-on.ts'), args],
      { cwd: repoPath(''), timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').at(-1)!)))));
}

const received = () => listener.output().split('\n').filter((l) => l.includes('"hex"')).map((l) => JSON.parse(l) as { from: string; hex: string });

test('the magic packet is 6 × 0xFF and the MAC 16 times', () => {
  const p = magicPacket('52-54-00-AB-CD-EF');
  assert.equal(p.length, 102);
  assert.equal(p.subarray(0, 6).toString('hex'), 'ffffffffffff');
  assert.equal(p.subarray(6).toString('hex'), '525400abcdef'.repeat(16));
  assert.throws(() => magicPacket('52:54:00:ab:cd'), /not a MAC address/);
});

test('a host that never wakes is reported after its boot timeout', async () => {
  const result = await powerOnFromSender('52:54:00:00:00:01', 1);
  assert.equal(result.ok, false);
  assert.equal(result.powerActionError, true);
  assert.match(result.error!, /not observed on within 1s after Wake-on-LAN to 52:54:00:00:00:01 via 10\.231\.7\.255:9/);
  assert.equal(existsSync(awakeFile()), false);
  await waitFor('the stray packets at the listener', () => received().length >= 1);
});

test('Wake-on-LAN from one namespace wakes the listener in the other, by subnet broadcast', async () => {
  const before = received().length;
  const result = await powerOnFromSender(MAC, 20);
  assert.deepEqual(result, { ok: true });
  const packets = received().slice(before);
  assert.ok(packets.length >= 1);
  for (const p of packets) {
    assert.equal(p.from, '10.231.7.1');
    assert.equal(p.hex, 'ff'.repeat(6) + '525400abcdef'.repeat(16));
  }
});
