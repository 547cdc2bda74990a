import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/api/clock.ts';
import type { MeterReading } from '../../src/api/drivers.ts';
import { RejectionRecorder } from '../../src/power/meters/meter-rejections.ts';
import { SerialMeterSource } from '../../src/power/meters/serial-meter-source.ts';
import { metricValue } from './metrics.ts';
import { startPtyPair } from './peers/socat.ts';
import { waitFor } from './peers/wait.ts';
import { apiFrame, explicitRx, zclReport } from './xbee-bytes.ts';

const METER = '0x00124b00017e7d13';

test('serial source reads escaped XBee frames from a real pty, split and damaged, and never stops', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-serial-'));
  const pty = await startPtyPair(dir);
  const registry = new Registry();
  const logged: string[] = [];
  const source = new SerialMeterSource({
    path: pty.agentEnd, baudRate: 9600, escaped: true, clock: systemClock,
    rejections: new RejectionRecorder({ registry, clock: systemClock, log: (l) => logged.push(l) }),
  });
  const coordinator = await open(pty.coordinatorEnd, 'r+');
  t.after(async () => {
    await source.stop();
    await coordinator.close();
    await pty.socat.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const readings: MeterReading[] = [];
  const before = Date.now();
  await source.start((r) => readings.push(r));

  const report = (watts: number) => apiFrame(explicitRx(METER, 0x0b04, zclReport(1, [{ id: 0x050b, type: 'int16', value: watts }])), true);
  const first = report(0x7e13); // needs escaping
  // One frame in three writes with pauses between, so the agent sees split reads.
  for (const piece of [first.subarray(0, 3), first.subarray(3, 12), first.subarray(12)]) {
    await coordinator.write(piece);
    await new Promise((r) => setTimeout(r, 30));
  }
  await waitFor('the first reading', () => readings.length === 1);
  assert.equal(readings[0]!.watts, 0x7e13);
  assert.equal(readings[0]!.meterId, METER);
  assert.ok(readings[0]!.atMs >= before && readings[0]!.atMs <= Date.now());

  await coordinator.write(Buffer.concat([
    Buffer.from('AT noise\r\n'),
    report(100).subarray(0, 10),
    apiFrame(explicitRx(METER, 0x0b04, zclReport(2, [{ id: 0x050b, type: 'int16', value: 1 }])), true, true),
    report(321),
  ]));
  await waitFor('the reading after the damage', () => readings.length === 2);
  assert.equal(readings[1]!.watts, 321);
  assert.ok((await metricValue(registry, 'tide_meter_frames_rejected_total', { source: 'serial', reason: 'corrupt_frame' })) >= 1);
  assert.equal(await metricValue(registry, 'tide_meter_frames_rejected_total', { source: 'serial', reason: 'bad_checksum' }), 1);
  assert.ok(logged.some((l) => l.includes('bad_checksum')), logged.join('\n'));
});

test('a coordinator that goes away is reopened, and readings resume', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-serial-'));
  let pty = await startPtyPair(dir);
  const logged: string[] = [];
  const source = new SerialMeterSource({
    path: pty.agentEnd, baudRate: 9600, escaped: false, clock: systemClock, reopenAfterMs: 200,
    rejections: new RejectionRecorder({ registry: new Registry(), clock: systemClock, log: () => {} }),
    log: (l) => logged.push(l),
  });
  t.after(async () => {
    await source.stop();
    await pty.socat.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const readings: MeterReading[] = [];
  await source.start((r) => readings.push(r));
  const report = (watts: number) => apiFrame(explicitRx(METER, 0x0b04, zclReport(1, [{ id: 0x050b, type: 'int16', value: watts }])), false);
  const send = async (watts: number) => {
    const coordinator = await open(pty.coordinatorEnd, 'r+');
    await coordinator.write(report(watts));
    await coordinator.close();
  };
  await send(11);
  await waitFor('a reading', () => readings.length === 1);
  await pty.socat.stop(); // the USB coordinator is unplugged …
  await waitFor(`the agent to notice (${logged.join('; ')})`, () => logged.some((l) => l.includes('closed; reopening')));
  pty = await startPtyPair(dir); // … and plugged back in
  await waitFor(`the port to be reopened (${logged.join('; ')})`, () => logged.some((l) => l.includes('reopened')));
  await send(22);
  await waitFor('a reading after the reopen', () => readings.length === 2);
  assert.equal(readings[1]!.watts, 22);
});
