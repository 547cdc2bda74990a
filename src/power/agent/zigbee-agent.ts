/**
 * The ZigBee meter agent: meter readings in, PhysicalHost status and Prometheus metrics out.
 *
 * Readings are written as they arrive; a tick re-lists hosts (meters move, hosts come and go)
 * and re-checks freshness, so a meter that falls silent turns its host's MeterFresh condition
 * False and removes its watts without any reading to trigger it. Every write is computed from
 * the host's current status (level-triggered), and an unchanged result is not written again.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../api/clock.ts';
import type { MeterReading, MeterSource } from '../../api/drivers.ts';
import type { MeterRejections } from '../meters/meter-rejections.ts';
import type { HostStore, MeteredHost } from './host-store.ts';
import type { MeterDirectory } from './meter-directory.ts';
import type { MeterFreshness, MeterView } from './meter-freshness.ts';
import { meterStatusPatch } from './meter-status.ts';

export interface ZigbeeAgentOptions {
  source: MeterSource;
  store: HostStore;
  directory: MeterDirectory;
  freshness: MeterFreshness;
  clock: Clock;
  registry: Registry;
  rejections: MeterRejections;
  /** How often freshness is re-checked (default 5 s). */
  tickMs?: number;
  /** How often hosts are re-listed (default 30 s). */
  refreshMs?: number;
  log?: (line: string) => void;
}

export class ZigbeeAgent {
  private readonly watts: Gauge<'host'>;
  private readonly energy: Counter<'host'>;
  private readonly fresh: Gauge<'host'>;
  private readonly readings: Counter<'source'>;
  private readonly lastWritten = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private flushing: Promise<void> | null = null;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private lastRefreshMs = -Infinity;

  constructor(private readonly o: ZigbeeAgentOptions) {
    const registers = [o.registry];
    this.watts = new Gauge({ name: 'tide_host_power_watts', help: "Host power from its meter, in watts (absent while the meter's reading is stale).", labelNames: ['host'], registers });
    this.energy = new Counter({ name: 'tide_host_energy_joules_total', help: 'Cumulative energy the host\'s meter reports, in joules.', labelNames: ['host'], registers });
    this.fresh = new Gauge({ name: 'tide_host_meter_fresh', help: '1 while the host\'s meter reading is fresh, else 0.', labelNames: ['host'], registers });
    this.readings = new Counter({ name: 'tide_meter_readings_total', help: 'Meter readings received, by source.', labelNames: ['source'], registers });
  }

  async start(): Promise<void> {
    try {
      await this.refreshHosts();
    } catch (err) {
      throw new Error(`cannot list PhysicalHosts: ${(err as Error).message}`);
    }
    await this.o.source.start((r) => this.onReading(r));
    this.loop = this.tickLoop();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.o.source.stop();
    await this.loop;
    await this.flushing;
  }

  /** Zigbee2MQTT said a meter went offline: its host stops reporting watts now. */
  meterOffline(meterId: string): void {
    this.o.freshness.markOffline(meterId, this.o.clock.now());
    for (const h of this.o.directory.hostsOf(meterId)) this.dirty.add(h.name);
    this.flush();
  }

  private onReading(reading: MeterReading): void {
    this.readings.inc({ source: reading.source });
    this.o.freshness.record(reading);
    const hosts = this.o.directory.hostsOf(reading.meterId);
    if (hosts.length === 0) {
      this.o.rejections.reject(reading.source, 'unknown_device', `meter ${reading.meterId} belongs to no PhysicalHost (spec.meter.ieeeAddress)`);
      return;
    }
    for (const h of hosts) this.dirty.add(h.name);
    this.flush();
  }

  private async tickLoop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        await this.o.clock.sleep(this.o.tickMs ?? 5000, signal);
      } catch {
        return;
      }
      try {
        if (this.o.clock.now() - this.lastRefreshMs >= (this.o.refreshMs ?? 30_000)) await this.refreshHosts();
      } catch (err) {
        this.log(`cannot list PhysicalHosts: ${(err as Error).message}`);
      }
      for (const h of this.o.directory.all()) this.dirty.add(h.name);
      this.flush();
    }
  }

  private async refreshHosts(): Promise<void> {
    const hosts = await this.o.store.listMeteredHosts();
    this.lastRefreshMs = this.o.clock.now();
    const names = new Set(hosts.map((h) => h.name));
    for (const name of this.lastWritten.keys()) {
      if (!names.has(name)) this.forget(name);
    }
    this.o.directory.replace(hosts);
  }

  /** Writes dirty hosts one at a time; a call while a flush runs is picked up by that flush. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      while (this.dirty.size > 0) {
        const [name] = this.dirty;
        this.dirty.delete(name!);
        const host = this.o.directory.all().find((h) => h.name === name);
        if (host) await this.writeHost(host);
      }
    })()
      .catch((err: Error) => this.log(`writing host status: ${err.message}`))
      .finally(() => (this.flushing = null));
  }

  private async writeHost(host: MeteredHost): Promise<void> {
    const now = this.o.clock.now();
    const view = this.o.freshness.view(host.meterId, now);
    this.export(host.name, view);
    const key = JSON.stringify([view.fresh, view.reason, view.watts, view.energyWh, view.readingAtMs]);
    if (this.lastWritten.get(host.name) === key) return;
    try {
      await this.o.store.patchStatus(host.name, (current) => meterStatusPatch(current, view, now));
      this.lastWritten.set(host.name, key);
    } catch (err) {
      if ((err as { code?: number }).code === 404) return this.forget(host.name);
      this.log(`cannot write status of PhysicalHost ${host.name}: ${(err as Error).message}`);
    }
  }

  private export(host: string, view: MeterView): void {
    if (view.fresh && view.watts !== undefined) this.watts.set({ host }, view.watts);
    else this.watts.remove({ host });
    // The meter's own running total: a counter (a meter reset reads as a counter reset), exported as read.
    if (view.energyWh !== undefined) {
      this.energy.remove({ host });
      this.energy.inc({ host }, view.energyWh * 3600);
    }
    this.fresh.set({ host }, view.fresh ? 1 : 0);
  }

  private forget(host: string): void {
    this.lastWritten.delete(host);
    this.watts.remove({ host });
    this.energy.remove({ host });
    this.fresh.remove({ host });
  }

  private log(line: string): void {
    (this.o.log ?? ((l: string) => console.warn(l)))(`zigbee-agent: ${line}`);
  }
}
