/**
 * `tide zigbee-agent` end to end: the real CLI in its own process reads XBee frames from a
 * socat pty and writes PhysicalHost status into the embedded API server, read back with real
 * kubectl; /metrics is scraped over HTTP. Then one meter falls silent and turns stale.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, type FileHandle } from 'node:fs/promises';
import { repoPath, startHarness, type KubeHarness } from '../kube/harness.ts';
import { freePort } from './peers/ports.ts';
import { startProcess, type Started } from './peers/processes.ts';
import { startPtyPair, type PtyPair } from './peers/socat.ts';
import { waitFor } from './peers/wait.ts';
import { apiFrame, explicitRx, zclReport } from './xbee-bytes.ts';

const METER_A = '0x00124b0001a2b3c4';
const METER_B = '0x00124b0001a2b3c5';
let h: KubeHarness;
let pty: PtyPair;
let agent: Started;
let coordinator: FileHandle;
let metricsPort: number;

const hostManifest = (name: string, meter: Record<string, unknown>) => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name },
  spec: { address: `${name}.lab`, capacity: { cpuCores: 4, memoryMiB: 4096 }, meter },
});

before(async () => {
  h = await startHarness();
  await h.kubectlOk(['apply', '-f', repoPath('manifests/crds/')]);
  // node-b's meter misreports its divisor; the host spec corrects it.
  const hosts = [hostManifest('node-a', { ieeeAddress: METER_A.toUpperCase().replace('0X', '0x') }), hostManifest('node-b', { ieeeAddress: METER_B, divisor: 10000 })];
  for (const host of hosts) await h.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(host) });
  // A condition written by someone else (the controller) must survive the agent's writes.
  await h.kubectlOk(['patch', 'physicalhost', 'node-a', '--subresource=status', '--type=merge', '-p', JSON.stringify({
    status: { conditions: [{ type: 'Reachable', status: 'True', reason: 'SSHOk', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  })]);
  pty = await startPtyPair(h.dir);
  coordinator = await open(pty.coordinatorEnd, 'r+');
  metricsPort = await freePort();
  agent = startProcess(process.execPath, [repoPath('bin/tide.js'), 'zigbee-agent', '--kubeconfig', h.kubeconfigPath,
    '--serial', pty.agentEnd, '--escaped', '--stale-after', '3s', '--metrics-port', String(metricsPort), '--metrics-address', '127.0.0.1']);
  await waitFor(`the agent to start (${agent.output()})`, () => agent.output().includes('reading meters from serial'), 60_000);
});

after(async () => {
  await agent?.stop();
  await coordinator?.close();
  await pty?.socat.stop();
  await h?.close();
});

const electrical = (meter: string, deciwatts: number) =>
  apiFrame(explicitRx(meter, 0x0b04, zclReport(1, [{ id: 0x0605, type: 'uint16', value: 10 }, { id: 0x050b, type: 'int16', value: deciwatts }])), true);
const metering = (meter: string) =>
  apiFrame(explicitRx(meter, 0x0702, zclReport(2, [
    { id: 0x0301, type: 'uint24', value: 1 }, { id: 0x0302, type: 'uint24', value: 1000 }, // misreported: really 1/10000
    { id: 0x0400, type: 'int24', value: 1500 }, { id: 0x0000, type: 'uint48', value: 2_500_000 },
  ]), 0x0109), true);

async function host(name: string) {
  return JSON.parse(await h.kubectlOk(['get', 'physicalhost', name, '-o', 'json']));
}
async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  return res.text();
}
const meterFresh = (obj: { status?: { conditions?: Array<{ type: string }> } }) => obj.status?.conditions?.find((c) => c.type === 'MeterFresh') as Record<string, string> | undefined;

test('watts from a serial meter appear in the host status, in kubectl get and in /metrics', async () => {
  await coordinator.write(Buffer.concat([electrical(METER_A, 2345), metering(METER_B), electrical('0x0000000000000bad', 10)]));
  const a = await waitFor('node-a watts', async () => { const o = await host('node-a'); return o.status?.watts === 234.5 && o; });
  assert.equal(meterFresh(a)?.status, 'True');
  assert.equal(meterFresh(a)?.reason, 'MeterReading');
  assert.match(a.status.meterReadingTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(Math.abs(Date.parse(a.status.meterReadingTime) - Date.now()) < 60_000);
  assert.ok(a.status.conditions.some((c: { type: string }) => c.type === 'Reachable'), 'the other writer\'s condition is kept');

  const b = await waitFor('node-b watts', async () => { const o = await host('node-b'); return o.status?.watts !== undefined && o; });
  assert.equal(b.status.watts, 150, '1500 × 1/10000 kW, the spec\'s divisor replacing the meter\'s');
  assert.equal(b.status.energyWh, 250_000);

  const row = (await h.kubectlOk(['get', 'physicalhost', 'node-a', '--no-headers'])).trim();
  assert.match(row, /^node-a\s+\S*\s+\S*\s+234\.5\s/);
  const metrics = await waitFor('/metrics', async () => { const m = await scrape(); return m.includes('tide_host_power_watts{host="node-b"}') && m; });
  assert.match(metrics, /^tide_host_power_watts\{host="node-a"\} 234\.5$/m);
  assert.match(metrics, /^tide_host_energy_joules_total\{host="node-b"\} 900000000$/m); // 250 kWh
  assert.match(metrics, /^tide_meter_frames_rejected_total\{source="serial",reason="unknown_device"\} 1$/m);
});

test('a meter that falls silent marks its host MeterFresh=False and drops its watts', async () => {
  // node-b keeps reporting; node-a says nothing more.
  const keepB = setInterval(() => void coordinator.write(metering(METER_B)), 500);
  try {
    const a = await waitFor('node-a to turn stale', async () => { const o = await host('node-a'); return meterFresh(o)?.status === 'False' && o; }, 20_000);
    assert.equal(meterFresh(a)?.reason, 'MeterStale');
    assert.equal(a.status.watts, undefined, 'no old number');
    assert.ok(a.status.meterReadingTime, 'the time of the last reading stays');
    const b = await host('node-b');
    assert.equal(meterFresh(b)?.status, 'True');
    assert.equal(b.status.watts, 150);
    const metrics = await scrape();
    assert.doesNotMatch(metrics, /tide_host_power_watts\{host="node-a"\}/);
    assert.match(metrics, /^tide_host_meter_fresh\{host="node-a"\} 0$/m);
  } finally {
    clearInterval(keepB);
  }
  // And it comes back with the next reading.
  await coordinator.write(electrical(METER_A, 1000));
  const a = await waitFor('node-a fresh again', async () => { const o = await host('node-a'); return meterFresh(o)?.status === 'True' && o; });
  assert.equal(a.status.watts, 100);
});
