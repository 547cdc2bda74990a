/**
 * Collects what a trace simulation reports span by span into CloudSim's figures: energy,
 * SLATAH, PDM, SLAV, ESV, migrations and host shutdowns.
 */
import { JOULES_PER_KWH, spanJoules } from './energy.ts';
import { esv, SlaAccumulator, type SlaMetrics } from './sla.ts';
import type { PowerModel } from '../power-model.ts';

export interface SpanHost {
  readonly power: PowerModel;
  readonly capacityMips: number;
}

export interface SpanRecorder {
  /** A span of a host that holds VMs (or receives one). */
  host(host: SpanHost, seconds: number, start: { utilisationMips: number; requestedMips: number }, endUtilisation: number): void;
  /** A span of an empty host that is on (realistic mode): idle watts, not active for SLATAH. */
  idle(host: SpanHost, seconds: number): void;
  vm(seconds: number, allocatedMips: number, requestedMips: number, inMigration: boolean): void;
  shutdown(): void;
  /** A span during which a host held more than it has (CPU its VMs did not get, or memory beyond its RAM). */
  overCapacity(seconds: number): void;
}

export interface RunMetrics {
  energyKWh: number;
  migrations: number;
  sla: SlaMetrics & { esv: number };
  hostShutdowns: number;
  /** Host-seconds over capacity: where the oracle's lower bound does not bind the run. */
  overCapacityHostSeconds: number;
}

export class MetricsRecorder implements SpanRecorder {
  private joules = 0;
  private shutdowns = 0;
  private overCapacitySeconds = 0;
  readonly sla = new SlaAccumulator();
  migrations = 0;

  constructor(private readonly cloudsimCompat: boolean) {}

  host(host: SpanHost, seconds: number, start: { utilisationMips: number; requestedMips: number }, endUtilisation: number): void {
    const startUtilisation = clampUtilisation(start.utilisationMips / host.capacityMips);
    this.joules += spanJoules(host.power, startUtilisation, clampUtilisation(endUtilisation), seconds, { cloudsimCompat: this.cloudsimCompat, powered: true });
    this.sla.host(seconds, start.utilisationMips, start.requestedMips);
  }

  idle(host: SpanHost, seconds: number): void {
    this.joules += spanJoules(host.power, 0, 0, seconds, { cloudsimCompat: this.cloudsimCompat, powered: true });
  }

  vm(seconds: number, allocatedMips: number, requestedMips: number, inMigration: boolean): void {
    this.sla.vm(seconds, allocatedMips, requestedMips, inMigration);
  }

  shutdown(): void {
    this.shutdowns++;
  }

  overCapacity(seconds: number): void {
    this.overCapacitySeconds += seconds;
  }

  result(): RunMetrics {
    const energyKWh = this.joules / JOULES_PER_KWH;
    const sla = this.sla.result();
    return { energyKWh, migrations: this.migrations, sla: { ...sla, esv: esv(energyKWh, sla.slav) }, hostShutdowns: this.shutdowns, overCapacityHostSeconds: this.overCapacitySeconds };
  }
}

/** CloudSim rounds utilisation just over 100 % (up to 101 %) down to 100 %; the power tables end there. */
function clampUtilisation(u: number): number {
  return Math.min(1, Math.max(0, u));
}
