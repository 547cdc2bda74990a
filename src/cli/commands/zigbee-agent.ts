/** `tide zigbee-agent`: reads ZigBee power meters and writes watts into PhysicalHost status. */
import { parseArgs } from 'node:util';
import { systemClock } from '../../api/clock.ts';
import { parseDuration } from '../../api/schema-helpers.ts';
import { startZigbeeAgent, type MeterSourceConfig } from '../../power/agent/start-agent.ts';
import { redactUrl } from '../../power/meters/mqtt-meter-source.ts';
import type { CliCommand } from '../command.ts';
import { UserError } from '../command.ts';
import { loadKubeConfig } from '../kubeconfig.ts';

const HELP = `usage: tide zigbee-agent [--kubeconfig FILE] (--serial DEVICE [--baud N] [--escaped] | --mqtt URL [--base-topic T])
                          [--stale-after DURATION] [--metrics-port N] [--metrics-address A]

Reads ZigBee power meters and writes each PhysicalHost's status.watts, status.energyWh,
status.meterReadingTime and its MeterFresh condition; meters are matched to hosts by
spec.meter.ieeeAddress. Serves Prometheus metrics on /metrics. Stops on SIGINT/SIGTERM.

  --kubeconfig FILE      kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)
  --serial DEVICE        serial port of a Digi XBee coordinator in API mode, e.g. /dev/ttyUSB0
  --baud N               serial speed (default 9600)
  --escaped              the coordinator runs API mode 2 (AP=2, escaped bytes)
  --mqtt URL             Zigbee2MQTT's broker, e.g. mqtt://127.0.0.1:1883
                         (credentials from the environment: MQTT_USERNAME, MQTT_PASSWORD)
  --base-topic T         Zigbee2MQTT base topic (default zigbee2mqtt)
  --stale-after DURATION a meter silent this long no longer reports watts (default 60s)
  --metrics-port N       port of /metrics (default 9464; 0 picks a free one)
  --metrics-address A    address /metrics listens on (default 0.0.0.0)`;

export const command: CliCommand = {
  name: 'zigbee-agent',
  summary: 'read ZigBee power meters (XBee serial or Zigbee2MQTT) into PhysicalHost status and /metrics',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          kubeconfig: { type: 'string' },
          serial: { type: 'string' },
          baud: { type: 'string', default: '9600' },
          escaped: { type: 'boolean', default: false },
          mqtt: { type: 'string' },
          'base-topic': { type: 'string', default: 'zigbee2mqtt' },
          'stale-after': { type: 'string', default: '60s' },
          'metrics-port': { type: 'string', default: '9464' },
          'metrics-address': { type: 'string', default: '0.0.0.0' },
          help: { type: 'boolean', short: 'h' },
        },
      }));
    } catch (err) {
      throw new UserError(`${(err as Error).message}\n\n${HELP}`);
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const source = sourceConfig(values);
    let staleAfterMs: number;
    try {
      staleAfterMs = parseDuration(values['stale-after']!);
    } catch (err) {
      throw new UserError(`--stale-after: ${(err as Error).message}`);
    }
    if (staleAfterMs < 1000) throw new UserError(`--stale-after: at least 1s, got '${values['stale-after']}'`);
    const metricsPort = integer('--metrics-port', values['metrics-port']!, 0, 65535);
    const kubeConfig = loadKubeConfig(values.kubeconfig);
    let agent;
    try {
      agent = await startZigbeeAgent({ source, kubeConfig, staleAfterMs, metricsPort, metricsHost: values['metrics-address'], clock: systemClock, log: (l) => console.error(l) });
    } catch (err) {
      throw new UserError((err as Error).message);
    }
    const from = source.kind === 'serial' ? `serial ${source.path}` : `MQTT ${redactUrl(source.url)}`;
    console.error(`tide zigbee-agent: reading meters from ${from}; metrics on :${agent.metricsPort}/metrics`);
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    await agent.stop();
    return 0;
  },
};

function sourceConfig(values: Record<string, string | boolean | undefined>): MeterSourceConfig {
  const serial = values.serial as string | undefined;
  const url = values.mqtt as string | undefined;
  if (!!serial === !!url) throw new UserError(`exactly one of --serial and --mqtt is required\n\n${HELP}`);
  if (serial) return { kind: 'serial', path: serial, baudRate: integer('--baud', values.baud as string, 50, 4_000_000), escaped: values.escaped === true };
  if (!/^mqtts?:\/\/[^\s]+$/.test(url!)) throw new UserError(`--mqtt: expected mqtt://HOST:PORT or mqtts://…, got '${redactUrl(url!)}'`);
  return { kind: 'mqtt', url: url!, baseTopic: values['base-topic'] as string, username: process.env.MQTT_USERNAME, password: process.env.MQTT_PASSWORD };
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UserError(`${flag}: expected an integer ${min}…${max}, got '${text}'`);
  return n;
}
