import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/api/clock.ts';
import type { MeterReading } from '../../src/api/drivers.ts';
import { RejectionRecorder } from '../../src/power/meters/meter-rejections.ts';
import { MqttMeterSource } from '../../src/power/meters/mqtt-meter-source.ts';
import { metricValue } from './metrics.ts';
import { startMosquitto } from './peers/mosquitto.ts';
import { freePort } from './peers/ports.ts';
import { waitFor } from './peers/wait.ts';

const RACK_METER = '0x00124b0001a2b3c4';

test('MQTT source reads Zigbee2MQTT messages from a real Mosquitto broker', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-mqtt-'));
  const broker = await startMosquitto(dir);
  const registry = new Registry();
  const availability: Array<[string, boolean]> = [];
  const source = new MqttMeterSource({
    url: broker.url, baseTopic: 'z2m', clock: systemClock,
    rejections: new RejectionRecorder({ registry, clock: systemClock, log: () => {} }),
    onAvailability: (id, online) => availability.push([id, online]),
  });
  const zigbee2mqtt = await mqtt.connectAsync(broker.url);
  t.after(async () => {
    await source.stop();
    await zigbee2mqtt.endAsync();
    await broker.process.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Zigbee2MQTT publishes its device list retained, before the agent connects.
  await zigbee2mqtt.publishAsync('z2m/bridge/devices', JSON.stringify([
    { ieee_address: '0x00124B0001A2B3C4', friendly_name: 'rack 1/plug', type: 'Router' },
    { ieee_address: '0x0000000000000abc', friendly_name: 'hall light', type: 'Router' },
  ]), { retain: true, qos: 1 });

  const readings: MeterReading[] = [];
  await source.start((r) => readings.push(r));
  const publish = (topic: string, payload: string) => zigbee2mqtt.publishAsync(topic, payload, { qos: 1 });

  await publish('z2m/rack 1/plug', JSON.stringify({ power: 183.4, energy: 12.5, voltage: 231, linkquality: 120 }));
  await waitFor('a reading', () => readings.length === 1);
  assert.equal(readings[0]!.meterId, RACK_METER);
  assert.equal(readings[0]!.watts, 183.4);
  assert.equal(readings[0]!.energyWh, 12_500);
  assert.equal(readings[0]!.source, 'mqtt');

  await publish('z2m/rack 1/plug', '{"power": 1');
  await publish('z2m/rack 1/plug', '"on"');
  await publish('z2m/rack 1/plug', JSON.stringify({ power: 'lots' }));
  await publish('z2m/stranger', JSON.stringify({ power: 5 }));
  await publish('z2m/hall light', JSON.stringify({ state: 'ON', linkquality: 80 }));
  await publish('z2m/rack 1/plug/availability', JSON.stringify({ state: 'offline' }));
  await publish('z2m/rack 1/plug', JSON.stringify({ power: 90, last_seen: '2026-01-02T03:04:05.000Z' }));

  await waitFor('the reading after the garbage', () => readings.length === 2);
  assert.equal(readings[1]!.watts, 90);
  assert.equal(readings[1]!.atMs, Date.parse('2026-01-02T03:04:05.000Z'));
  assert.equal(await metricValue(registry, 'tide_meter_frames_rejected_total', { source: 'mqtt', reason: 'garbage_json' }), 3);
  assert.equal(await metricValue(registry, 'tide_meter_frames_rejected_total', { source: 'mqtt', reason: 'unknown_device' }), 1);
  assert.deepEqual(availability, [[RACK_METER, false]]);
});

test('a broker that cannot be reached fails start with its address, credentials hidden', async () => {
  const port = await freePort();
  const source = new MqttMeterSource({
    url: `mqtt://agent:hunter2@127.0.0.1:${port}`, baseTopic: 'z2m', clock: systemClock,
    rejections: new RejectionRecorder({ registry: new Registry(), clock: systemClock, log: () => {} }),
  });
  await assert.rejects(source.start(() => {}), (err: Error) =>
    err.message.startsWith(`cannot connect to the MQTT broker mqtt://***@127.0.0.1:${port}:`) && !err.message.includes('hunter2'));
  await source.stop();
});
