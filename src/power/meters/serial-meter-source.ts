/**
 * Meter readings from a ZigBee coordinator (Digi XBee in API mode) on a serial port.
 * A coordinator that goes away (USB unplugged, pty closed) is reopened every few seconds
 * rather than ending the agent.
 */
import { SerialPort } from 'serialport';
import type { Clock } from '../../api/clock.ts';
import type { MeterReading, MeterSource } from '../../api/drivers.ts';
import type { ScalingOverride } from './meter-scaling.ts';
import type { MeterRejections } from './meter-rejections.ts';
import { XBeeMeterDecoder } from './xbee-meter-decoder.ts';

export interface SerialMeterSourceOptions {
  path: string;
  baudRate: number;
  /** API mode 2 (AP=2): escaped bytes. */
  escaped: boolean;
  clock: Clock;
  rejections: MeterRejections;
  overrideFor?: (meterId: string) => ScalingOverride | undefined;
  log?: (line: string) => void;
  reopenAfterMs?: number;
}

export class SerialMeterSource implements MeterSource {
  private port: SerialPort | null = null;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly options: SerialMeterSourceOptions) {}

  /** Resolves once the port is open; rejects if it cannot be opened the first time. */
  async start(onReading: (reading: MeterReading) => void): Promise<void> {
    await this.open(onReading);
  }

  private async open(onReading: (reading: MeterReading) => void): Promise<void> {
    const { path, baudRate } = this.options;
    // A fresh decoder per connection: bytes of a frame cut by a reconnect must not join the next one.
    const decoder = new XBeeMeterDecoder(this.options);
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new Error(`cannot open serial port ${path}: ${err.message}`)) : resolve())),
    );
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      const { readings, rejections } = decoder.push(chunk);
      for (const r of rejections) this.options.rejections.reject('serial', r.reason, r.detail);
      for (const reading of readings) onReading(reading);
    });
    port.on('error', (err) => this.log(`serial port ${path}: ${err.message}`));
    port.on('close', () => {
      if (this.stopped) return;
      this.log(`serial port ${path} closed; reopening`);
      void this.reopen(onReading);
    });
  }

  private async reopen(onReading: (reading: MeterReading) => void): Promise<void> {
    while (!this.stopped) {
      try {
        await this.options.clock.sleep(this.options.reopenAfterMs ?? 5000, this.stopping.signal);
        await this.open(onReading);
        this.log(`serial port ${this.options.path} reopened`);
        return;
      } catch (err) {
        if (this.stopped) return;
        this.log((err as Error).message);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => console.warn(l)))(`zigbee-agent: ${line}`);
  }
}
