/**
 * Turns raw ZCL attribute values into watts and watt-hours.
 *
 * A meter reports its scaling factors (acPowerMultiplier/acPowerDivisor, multiplier/divisor,
 * unitOfMeasure) separately from — and usually less often than — its measurements, so the
 * factors last seen are kept per meter. Real devices misreport their factors, so a per-meter
 * override (PhysicalHost.spec.meter.multiplier/divisor) replaces them when given.
 */
import { Attr, ELECTRICAL_MEASUREMENT_CLUSTER, METERING_CLUSTER, type AttributeValues } from './zcl-attributes.ts';

export interface ScalingOverride {
  multiplier?: number;
  divisor?: number;
}

/** What one message said about power and energy, in watts and watt-hours. */
export interface ScaledValues {
  watts?: number;
  energyWh?: number;
}

interface Factors {
  multiplier: number;
  divisor: number;
}

interface MeterFactors {
  electrical: Factors;
  metering: Factors & { unitOfMeasure: number };
}

/** A meter whose unitOfMeasure this agent does not convert. */
export class UnsupportedUnitError extends Error {}

/** unitOfMeasure 0: kW and kWh, in pure binary format (ZCL 10.4.2.2.4). */
const UNIT_KW_BINARY = 0;

export class MeterScaling {
  private readonly factors = new Map<string, MeterFactors>();

  /**
   * Records the factors in `values` and returns the measurements they carry, scaled.
   * Throws when the meter uses a unit this agent does not convert.
   */
  apply(meterId: string, clusterId: number, values: AttributeValues, override?: ScalingOverride): ScaledValues {
    const f = this.factorsOf(meterId);
    if (clusterId === ELECTRICAL_MEASUREMENT_CLUSTER) {
      setFactor(f.electrical, 'multiplier', values.get(Attr.acPowerMultiplier));
      setFactor(f.electrical, 'divisor', values.get(Attr.acPowerDivisor));
      const raw = values.get(Attr.activePower);
      return raw === undefined ? {} : { watts: scale(raw, f.electrical, override) };
    }
    if (clusterId === METERING_CLUSTER) {
      setFactor(f.metering, 'multiplier', values.get(Attr.multiplier));
      setFactor(f.metering, 'divisor', values.get(Attr.divisor));
      const unit = values.get(Attr.unitOfMeasure);
      if (unit !== undefined) f.metering.unitOfMeasure = unit;
      const demand = values.get(Attr.instantaneousDemand);
      const summation = values.get(Attr.currentSummDelivered);
      if (demand === undefined && summation === undefined) return {};
      if (f.metering.unitOfMeasure !== UNIT_KW_BINARY) {
        throw new UnsupportedUnitError(`metering unitOfMeasure 0x${f.metering.unitOfMeasure.toString(16)} is not kW/kWh (0)`);
      }
      const out: ScaledValues = {};
      if (demand !== undefined) out.watts = scale(demand, f.metering, override) * 1000;
      if (summation !== undefined) out.energyWh = scale(summation, f.metering, override) * 1000;
      return out;
    }
    return {};
  }

  private factorsOf(meterId: string): MeterFactors {
    let f = this.factors.get(meterId);
    if (!f) {
      f = { electrical: { multiplier: 1, divisor: 1 }, metering: { multiplier: 1, divisor: 1, unitOfMeasure: UNIT_KW_BINARY } };
      this.factors.set(meterId, f);
    }
    return f;
  }
}

/** A factor of 0 is what unconfigured devices report; it would zero or break every reading. */
function setFactor(f: Factors, key: keyof Factors, value: number | undefined): void {
  if (value !== undefined && value > 0) f[key] = value;
}

function scale(raw: number, own: Factors, override?: ScalingOverride): number {
  const multiplier = override?.multiplier ?? own.multiplier;
  const divisor = override?.divisor ?? own.divisor;
  return (raw * multiplier) / divisor;
}
