/**
 * The agent with its MQTT source: Zigbee2MQTT messages through a real Mosquitto into
 * PhysicalHost status on the embedded API server; an availability "offline" drops the watts
 * at once, without waiting for stale-after.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { systemClock } from '../../src/api/clock.ts';
import { startZigbeeAgent, type RunningAgent } from '../../src/power/agent/start-agent.ts';
import { repoPath, startHarness, type KubeHarness } from '../kube/harness.ts';
import { startMosquitto, type Broker } from './peers/mosquitto.ts';
import { waitFor } from './peers/wait.ts';

let h: KubeHarness;
let broker: Broker;
let agent: RunningAgent;
let z2m: MqttClient;
const logged: string[] = [];

before(async () => {
  h = await startHarness();
  await h.kubectlOk(['apply', '-f', repoPath('manifests/crds/')]);
  await h.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name: 'node-m' },
    spec: { address: 'node-m.lab', capacity: { cpuCores: 2, memoryMiB: 2048 }, meter: { ieeeAddress: '0x00158d0001abcdef' } },
  }) });
  broker = await startMosquitto(h.dir);
  z2m = await mqtt.connectAsync(broker.url);
  await z2m.publishAsync('zigbee2mqtt/bridge/devices', JSON.stringify([{ ieee_address: '0x00158d0001abcdef', friendly_name: 'plug-m' }]), { retain: true, qos: 1 });
  agent = await startZigbeeAgent({
    source: { kind: 'mqtt', url: broker.url, baseTopic: 'zigbee2mqtt' },
    kubeConfig: h.server.kubeConfig(), staleAfterMs: 60_000, metricsPort: 0, metricsHost: '127.0.0.1',
    clock: systemClock, log: (l) => logged.push(l),
  });
});
after(async () => {
  await agent?.stop();
  await z2m?.endAsync();
  await broker?.process.stop();
  await h?.close();
});

async function status() {
  return JSON.parse(await h.kubectlOk(['get', 'physicalhost', 'node-m', '-o', 'json'])).status ?? {};
}
const fresh = (s: { conditions?: Array<{ type: string; status: string; reason: string }> }) => s.conditions?.find((c) => c.type === 'MeterFresh');

test('Zigbee2MQTT power and energy reach the host status; offline drops the watts at once', async () => {
  await z2m.publishAsync('zigbee2mqtt/plug-m', JSON.stringify({ power: 61.2, energy: 3.25 }), { qos: 1 });
  const s = await waitFor('watts in status', async () => { const st = await status(); return st.watts === 61.2 && st; });
  assert.equal(s.energyWh, 3250);
  assert.equal(fresh(s)?.status, 'True');
  const metrics = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
  assert.match(metrics, /^tide_host_power_watts\{host="node-m"\} 61\.2$/m);
  assert.match(metrics, /^tide_meter_readings_total\{source="mqtt"\} 1$/m);

  await z2m.publishAsync('zigbee2mqtt/plug-m/availability', 'offline', { qos: 1 });
  const off = await waitFor('MeterFresh False', async () => { const st = await status(); return fresh(st)?.status === 'False' && st; });
  assert.equal(fresh(off)?.reason, 'MeterOffline');
  assert.equal(off.watts, undefined);
  assert.equal(off.energyWh, 3250);
  assert.deepEqual(logged, []);
});
