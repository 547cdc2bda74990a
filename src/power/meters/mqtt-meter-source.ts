/**
 * Meter readings from Zigbee2MQTT over MQTT, for sites that already run it. Meters are named
 * by IEEE address (from the retained `<base>/bridge/devices`), like serial readings.
 * Scaling is Zigbee2MQTT's business there (its `power_calibration` options); per-host
 * multiplier/divisor overrides apply to the serial source only.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Clock } from '../../api/clock.ts';
import type { MeterReading, MeterSource } from '../../api/drivers.ts';
import type { MeterRejections } from './meter-rejections.ts';
import { classifyTopic, parseAvailability, parseBridgeDevices, parseDeviceState } from './zigbee2mqtt.ts';

export interface MqttMeterSourceOptions {
  /** e.g. mqtt://127.0.0.1:1883 */
  url: string;
  baseTopic: string;
  clock: Clock;
  rejections: MeterRejections;
  /** Told when Zigbee2MQTT reports a meter offline or back online. */
  onAvailability?: (meterId: string, online: boolean) => void;
  username?: string;
  password?: string;
  log?: (line: string) => void;
}

export class MqttMeterSource implements MeterSource {
  private client: MqttClient | null = null;
  private ieeeByName = new Map<string, string>();

  constructor(private readonly options: MqttMeterSourceOptions) {}

  async start(onReading: (reading: MeterReading) => void): Promise<void> {
    const { url, baseTopic, username, password } = this.options;
    const log = this.options.log ?? ((l: string) => console.warn(l));
    const where = redactUrl(url);
    let client: MqttClient;
    try {
      client = await mqtt.connectAsync(url, { username, password, reconnectPeriod: 2000, connectTimeout: 10_000 });
    } catch (err) {
      throw new Error(`cannot connect to the MQTT broker ${where}: ${(err as Error).message}`);
    }
    this.client = client;
    client.on('error', (err) => log(`zigbee-agent: MQTT ${where}: ${err.message}`));
    client.on('message', (topic, payload) => this.handle(topic, payload.toString('utf8'), onReading));
    await client.subscribeAsync(`${baseTopic}/#`);
  }

  private handle(topic: string, payload: string, onReading: (reading: MeterReading) => void): void {
    const { baseTopic, rejections, clock } = this.options;
    const where = classifyTopic(baseTopic, topic);
    try {
      if (where.kind === 'devices') {
        this.ieeeByName = parseBridgeDevices(payload);
      } else if (where.kind === 'availability') {
        const online = parseAvailability(payload);
        const meterId = this.ieeeByName.get(where.name);
        if (online !== null && meterId) this.options.onAvailability?.(meterId, online);
      } else if (where.kind === 'state') {
        const values = parseDeviceState(payload, clock.now());
        if (values.watts === undefined && values.energyWh === undefined) return; // not a meter's message
        const meterId = this.ieeeByName.get(where.name);
        if (!meterId) {
          rejections.reject('mqtt', 'unknown_device', `${topic}: no device named '${where.name}' in ${baseTopic}/bridge/devices`);
          return;
        }
        const { atMs, ...measured } = values;
        onReading({ meterId, ...measured, atMs: atMs ?? clock.now(), source: 'mqtt' });
      }
    } catch (err) {
      rejections.reject('mqtt', 'garbage_json', `${topic}: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.endAsync();
  }
}

/** The URL without any user:password in it, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}
