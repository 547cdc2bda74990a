/**
 * Fuzzing the Zigbee2MQTT side: topics and payloads as random strings and as valid messages
 * with random values in their fields. The parsers either answer or throw an Error saying what
 * is wrong; what they return is usable downstream (finite numbers, a time a Date can hold and
 * not in the future). Then the same garbage through a real Mosquitto broker into the MQTT
 * meter source: every message is counted, and a valid reading afterwards still arrives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/api/clock.ts';
import type { MeterReading } from '../../src/api/drivers.ts';
import { RejectionRecorder } from '../../src/power/meters/meter-rejections.ts';
import { MqttMeterSource } from '../../src/power/meters/mqtt-meter-source.ts';
import { classifyTopic, parseAvailability, parseBridgeDevices, parseDeviceState } from '../../src/power/meters/zigbee2mqtt.ts';
import { MeterFreshness } from '../../src/power/agent/meter-freshness.ts';
import { metricValue } from '../power/metrics.ts';
import { startMosquitto } from '../power/peers/mosquitto.ts';
import { waitFor } from '../power/peers/wait.ts';
import { fuzzParams } from './runs.ts';

const NOW = Date.parse('2026-11-29T12:00:00Z');

/** Values a field of a device message might hold, sane and not. */
const fieldValue = fc.oneof(
  fc.double(), fc.integer(), fc.constantFrom(1e300, -1e300, 8.64e15 + 1, 1e16, -1, 0, 4102444800000),
  fc.string(), fc.constantFrom('NaN', 'Infinity', '1e999', '', ' 12 ', '2100-01-01T00:00:00Z', '275760-09-13T00:00:01Z', 'yesterday'),
  fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

const deviceMessage = fc.record(
  { power: fieldValue, energy: fieldValue, last_seen: fieldValue, state: fc.constantFrom('ON', 'OFF'), linkquality: fc.integer({ min: 0, max: 255 }) },
  { requiredKeys: [] },
);

/** A payload as it may arrive: random text, JSON of random shape, or a device message. */
const payload = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.json({ maxDepth: 3 }),
  deviceMessage.map((m) => JSON.stringify(m)),
  deviceMessage.map((m) => JSON.stringify(m).slice(0, -1)), // cut short
);

/** What a parser may do: return, or throw an Error whose message says something. */
function returnsOrSaysWhy<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    assert.ok(err instanceof Error && err.message.length > 0, `threw ${String(err)}`);
    return undefined;
  }
}

test('Zigbee2MQTT parsers: any payload is parsed into usable values or refused with a reason', () => {
  fc.assert(
    fc.property(payload, fc.string({ maxLength: 30 }), (text, topicTail) => {
      classifyTopic('z2m', `z2m/${topicTail}`);
      parseAvailability(text);
      const devices = returnsOrSaysWhy(() => parseBridgeDevices(text));
      if (devices) for (const [name, ieee] of devices) assert.ok(typeof name === 'string' && ieee === ieee.toLowerCase());
      const state = returnsOrSaysWhy(() => parseDeviceState(text, NOW));
      if (!state) return;
      for (const v of [state.watts, state.energyWh]) assert.ok(v === undefined || Number.isFinite(v), `non-finite value in ${JSON.stringify(state)}`);
      if (state.atMs !== undefined) {
        assert.ok(state.atMs <= NOW, `reading stamped in the future: ${state.atMs} from ${text}`);
        assert.doesNotThrow(() => new Date(state.atMs!).toISOString(), `time ${state.atMs} from ${text}`);
      }
    }),
    fuzzParams(2000),
  );
});

test('a last_seen in the future or beyond what a Date holds does not freeze the meter (regression)', () => {
  // Counterexamples the property found: {"power":1,"last_seen":4102444800000} (year 2100) was a
  // reading fresh until 2100 that hid every later one; last_seen 1e16 made every status write throw.
  for (const lastSeen of [4102444800000, 1e16, '2100-01-01T00:00:00Z']) {
    const state = parseDeviceState(JSON.stringify({ power: 1, last_seen: lastSeen }), NOW);
    assert.ok(state.atMs === undefined || state.atMs === NOW, `${lastSeen} → ${state.atMs}`);
    const freshness = new MeterFreshness(60_000);
    freshness.record({ meterId: 'm', watts: 1, atMs: state.atMs ?? NOW, source: 'mqtt' });
    freshness.record({ meterId: 'm', watts: 2, atMs: NOW + 1000, source: 'mqtt' });
    const view = freshness.view('m', NOW + 1000);
    assert.equal(view.watts, 2, `the later reading was hidden by last_seen ${lastSeen}`);
    assert.equal(freshness.view('m', NOW + 120_000).fresh, false);
  }
});

test('garbage through a real broker: every message is handled, the source keeps reading', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-fuzz-mqtt-'));
  const broker = await startMosquitto(dir);
  const registry = new Registry();
  const logged: string[] = [];
  const source = new MqttMeterSource({
    url: broker.url, baseTopic: 'z2m', clock: systemClock,
    rejections: new RejectionRecorder({ registry, clock: systemClock, log: (l) => logged.push(l), logIntervalMs: 0 }),
    onAvailability: () => {},
  });
  const bridge = await mqtt.connectAsync(broker.url);
  t.after(async () => {
    await source.stop();
    await bridge.endAsync();
    await broker.process.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const readings: MeterReading[] = [];
  await source.start((r) => readings.push(r));
  const messages = fc.sample(
    fc.tuple(fc.constantFrom('z2m/plug', 'z2m/bridge/devices', 'z2m/plug/availability', 'z2m/other thing', 'z2m/bridge/state', 'z2m/plug/set'), payload),
    { numRuns: Math.min(fuzzParams(150).numRuns!, 2000) },
  );
  // The device list first, so that most device messages are about a known meter.
  await bridge.publishAsync('z2m/bridge/devices', JSON.stringify([{ ieee_address: '0x00124B0001A2B3C4', friendly_name: 'plug' }]), { qos: 1 });
  for (const [topic, text] of messages) await bridge.publishAsync(topic, text, { qos: 1 });
  await bridge.publishAsync('z2m/bridge/devices', JSON.stringify([{ ieee_address: '0x00124B0001A2B3C4', friendly_name: 'plug' }]), { qos: 1 });
  await bridge.publishAsync('z2m/plug', JSON.stringify({ power: 77.5 }), { qos: 1 });
  await waitFor('the reading after the garbage', () => readings.some((r) => r.watts === 77.5), 20_000);
  for (const r of readings) {
    assert.equal(r.meterId, '0x00124b0001a2b3c4');
    assert.ok(r.watts === undefined || Number.isFinite(r.watts));
    assert.doesNotThrow(() => new Date(r.atMs).toISOString());
  }
  // Each rejection is counted and its log line names the topic it came from.
  const rejected = (await metricValue(registry, 'tide_meter_frames_rejected_total', { source: 'mqtt', reason: 'garbage_json' })) ?? 0;
  assert.equal(logged.filter((l) => /garbage_json/.test(l)).length, rejected);
  for (const line of logged) assert.match(line, /^zigbee-agent: mqtt meter data rejected \((garbage_json|unknown_device)\): z2m\//);
});

test('an energy in kWh too large for Wh is refused, not turned into Infinity (regression)', () => {
  // Counterexample the property found: {"energy":-1.797693134862316e+305} gave energyWh -Infinity.
  assert.throws(() => parseDeviceState('{"energy":-1.797693134862316e+305}', NOW), /^Error: energy -1\.797693134862316e\+305 is out of range$/);
  assert.equal(parseDeviceState('{"energy":"12.5"}', NOW).energyWh, 12_500);
});
