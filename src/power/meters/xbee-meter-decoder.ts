/**
 * Bytes from an XBee coordinator → power-meter readings:
 * API frames → explicit RX indicators (0x91) → ZCL attribute reports → watts / watt-hours.
 * Pure apart from the clock that stamps readings; the serial port lives in serial-meter-source.ts.
 */
import type { Clock } from '../../api/clock.ts';
import type { MeterReading } from '../../api/drivers.ts';
import { EXPLICIT_RX_INDICATOR, parseExplicitRx } from './explicit-rx.ts';
import { MeterScaling, UnsupportedUnitError, type ScalingOverride } from './meter-scaling.ts';
import type { RejectReason } from './meter-rejections.ts';
import { XBeeFrameParser } from './xbee-frame-parser.ts';
import { decodeAttributeValues, ELECTRICAL_MEASUREMENT_CLUSTER, METERING_CLUSTER } from './zcl-attributes.ts';

export interface XBeeMeterDecoderOptions {
  /** API mode 2 (escaped bytes) rather than API mode 1. */
  escaped: boolean;
  clock: Clock;
  /** Per-meter scaling that replaces what the device reports (PhysicalHost.spec.meter). */
  overrideFor?: (meterId: string) => ScalingOverride | undefined;
}

export interface DecodeResult {
  readings: MeterReading[];
  rejections: Array<{ reason: RejectReason; detail: string }>;
}

export class XBeeMeterDecoder {
  private readonly parser: XBeeFrameParser;
  private readonly scaling = new MeterScaling();

  constructor(private readonly options: XBeeMeterDecoderOptions) {
    this.parser = new XBeeFrameParser(options.escaped);
  }

  push(chunk: Buffer): DecodeResult {
    const result: DecodeResult = { readings: [], rejections: [] };
    for (const event of this.parser.push(chunk)) {
      if (event.kind === 'rejected') result.rejections.push({ reason: event.reason, detail: event.detail });
      else this.decodeFrame(event.data, result);
    }
    return result;
  }

  private decodeFrame(frame: Buffer, result: DecodeResult): void {
    // Modem status, AT responses, transmit status …: a coordinator's normal chatter.
    if (frame[0] !== EXPLICIT_RX_INDICATOR) return;
    let meterId = 'unknown';
    try {
      const rx = parseExplicitRx(frame);
      meterId = rx.source64;
      if (rx.clusterId !== ELECTRICAL_MEASUREMENT_CLUSTER && rx.clusterId !== METERING_CLUSTER) return;
      const values = decodeAttributeValues(rx.clusterId, rx.payload);
      if (!values) return;
      const scaled = this.scaling.apply(rx.source64, rx.clusterId, values, this.options.overrideFor?.(rx.source64));
      if (scaled.watts === undefined && scaled.energyWh === undefined) return;
      result.readings.push({ meterId: rx.source64, ...scaled, atMs: this.options.clock.now(), source: 'serial' });
    } catch (err) {
      const reason: RejectReason = err instanceof UnsupportedUnitError ? 'unsupported_unit' : 'bad_zcl';
      result.rejections.push({ reason, detail: `meter ${meterId}: ${(err as Error).message}` });
    }
  }
}
