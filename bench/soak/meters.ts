/**
 * The simulated meters with faults: garbage readings (NaN, negative, absurd watts, energy that
 * runs backwards) or silence, while the fault lasts. Feeds the real meter agent.
 */
import type { MeterReading, MeterSource } from '../../src/api/drivers.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import { SimMeterSource } from '../../src/sim/drivers.ts';
import type { FaultKind } from './faults.ts';
import type { Rng } from './rng.ts';

export interface MeterFaults {
  rng: Rng;
  mode: 'ok' | 'garbage' | 'silent';
  injected(kind: FaultKind): void;
}

export class SoakMeterSource implements MeterSource {
  private readonly inner: SimMeterSource;

  constructor(clock: SimClock, private readonly faults: MeterFaults, intervalMs: number) {
    this.inner = new SimMeterSource(clock, intervalMs);
  }

  start(onReading: (reading: MeterReading) => void): Promise<void> {
    return this.inner.start((reading) => {
      const { mode, rng } = this.faults;
      if (mode === 'silent') return this.faults.injected('meter-silent');
      if (mode === 'garbage') {
        this.faults.injected('meter-garbage');
        const watts = rng.pick([Number.NaN, -120, 1e12, Number.POSITIVE_INFINITY, undefined]);
        return onReading({ ...reading, watts, energyWh: rng.chance(0.5) ? -1 : (reading.energyWh ?? 0) / 2 });
      }
      onReading(reading);
    });
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}
