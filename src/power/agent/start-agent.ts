/** Wires a meter source, the Kubernetes host store and the /metrics endpoint into a running agent. */
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type { Clock } from '../../api/clock.ts';
import type { MeterSource } from '../../api/drivers.ts';
import { startMetricsServer } from '../../metrics/server.ts';
import { RejectionRecorder } from '../meters/meter-rejections.ts';
import { MqttMeterSource } from '../meters/mqtt-meter-source.ts';
import { SerialMeterSource } from '../meters/serial-meter-source.ts';
import type { HostStore } from './host-store.ts';
import { KubeHostStore } from './kube-host-store.ts';
import { MeterDirectory } from './meter-directory.ts';
import { MeterFreshness } from './meter-freshness.ts';
import { ZigbeeAgent } from './zigbee-agent.ts';

export type MeterSourceConfig =
  | { kind: 'serial'; path: string; baudRate: number; escaped: boolean }
  | { kind: 'mqtt'; url: string; baseTopic: string; username?: string; password?: string };

export interface AgentConfig {
  source: MeterSourceConfig;
  kubeConfig?: KubeConfig;
  /** Overrides kubeConfig (tests of the agent's logic without a server). */
  store?: HostStore;
  staleAfterMs: number;
  metricsPort: number;
  metricsHost?: string;
  clock: Clock;
  log?: (line: string) => void;
}

export interface RunningAgent {
  metricsPort: number;
  stop(): Promise<void>;
}

export async function startZigbeeAgent(config: AgentConfig): Promise<RunningAgent> {
  const { clock, log } = config;
  const registry = new Registry();
  const rejections = new RejectionRecorder({ registry, clock, log });
  const directory = new MeterDirectory();
  let agent: ZigbeeAgent | undefined;
  const s = config.source;
  const source: MeterSource =
    s.kind === 'serial'
      ? new SerialMeterSource({ ...s, clock, rejections, log, overrideFor: directory.overrideFor })
      : new MqttMeterSource({ ...s, clock, rejections, log, onAvailability: (id, online) => !online && agent?.meterOffline(id) });
  const store = config.store ?? new KubeHostStore(config.kubeConfig!);
  agent = new ZigbeeAgent({
    source, store, directory, clock, registry, rejections, log,
    freshness: new MeterFreshness(config.staleAfterMs),
    // Staleness must show within a fraction of the stale-after time, without busy-looping.
    tickMs: Math.min(5000, Math.max(250, config.staleAfterMs / 4)),
  });
  const metrics = await startMetricsServer({ port: config.metricsPort, host: config.metricsHost, registry, isReady: () => true });
  try {
    await agent.start();
  } catch (err) {
    await metrics.stop();
    throw err;
  }
  return {
    metricsPort: metrics.port,
    async stop() {
      await agent.stop();
      await metrics.stop();
    },
  };
}
