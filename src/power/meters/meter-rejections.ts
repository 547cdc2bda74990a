/**
 * Everything a meter source throws away — damaged frames, bad checksums, undecodable ZCL,
 * readings from devices no host claims, garbage JSON — is counted in Prometheus and logged,
 * and never stops the agent. The log is rate-limited per (source, reason): a meter spewing
 * garbage at 100 frames/s must not flood it.
 */
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../api/clock.ts';
import type { MeterReading } from '../../api/drivers.ts';

export type MeterSourceKind = MeterReading['source'];

export type RejectReason =
  | 'corrupt_frame'
  | 'bad_checksum'
  | 'bad_zcl'
  | 'unsupported_unit'
  | 'unknown_device'
  | 'garbage_json';

export interface MeterRejections {
  reject(source: MeterSourceKind, reason: RejectReason, detail: string): void;
}

export interface RejectionRecorderOptions {
  registry: Registry;
  clock: Clock;
  log?: (line: string) => void;
  /** At most one log line per (source, reason) per this interval. */
  logIntervalMs?: number;
}

export class RejectionRecorder implements MeterRejections {
  private readonly counter: Counter<'source' | 'reason'>;
  private readonly lastLogged = new Map<string, { atMs: number; suppressed: number }>();
  private readonly log: (line: string) => void;
  private readonly intervalMs: number;

  constructor(private readonly options: RejectionRecorderOptions) {
    this.counter = new Counter({
      name: 'tide_meter_frames_rejected_total',
      help: 'Meter frames and messages rejected, by source (serial, mqtt) and reason.',
      labelNames: ['source', 'reason'],
      registers: [options.registry],
    });
    this.log = options.log ?? ((line) => console.warn(line));
    this.intervalMs = options.logIntervalMs ?? 10_000;
  }

  reject(source: MeterSourceKind, reason: RejectReason, detail: string): void {
    this.counter.inc({ source, reason });
    const key = `${source}/${reason}`;
    const now = this.options.clock.now();
    const last = this.lastLogged.get(key);
    if (last && now - last.atMs < this.intervalMs) {
      last.suppressed++;
      return;
    }
    const more = last?.suppressed ? ` (${last.suppressed} more ${reason} since the last report)` : '';
    this.log(`zigbee-agent: ${source} meter data rejected (${reason}): ${detail}${more}`);
    this.lastLogged.set(key, { atMs: now, suppressed: 0 });
  }
}
