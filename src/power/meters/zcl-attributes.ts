/**
 * Decodes the ZCL messages a power meter sends — Report Attributes (0x0A) and Read
 * Attributes Response (0x01) — with zigbee-herdsman's ZCL codec, which knows every
 * attribute's data type (int16 activePower, int24 instantaneousDemand, uint48
 * currentSummDelivered …) so this file does not have to.
 */
import { Zcl } from 'zigbee-herdsman';

export const ELECTRICAL_MEASUREMENT_CLUSTER = 0x0b04;
export const METERING_CLUSTER = 0x0702;

/** Attribute ids (ZCL spec 4.9 Electrical Measurement, 10.4 Metering). */
export const Attr = {
  activePower: 0x050b,
  acPowerMultiplier: 0x0604,
  acPowerDivisor: 0x0605,
  currentSummDelivered: 0x0000,
  unitOfMeasure: 0x0300,
  multiplier: 0x0301,
  divisor: 0x0302,
  instantaneousDemand: 0x0400,
} as const;

const REPORT_ATTRIBUTES = 0x0a;
const READ_ATTRIBUTES_RESPONSE = 0x01;
const SUCCESS = 0;
/** Frame control bit: a 2-byte manufacturer code follows, making the header 5 bytes long. */
const MANUFACTURER_SPECIFIC = 0x04;

/** Attribute id → numeric value, for the attributes a message carried. */
export type AttributeValues = Map<number, number>;

interface ReportRecord { attrId: number; attrData: unknown }
interface ReadRecord { attrId: number; status: number; attrData?: unknown }

/**
 * Returns the numeric attribute values of a report or read response, or null when the
 * message is some other (valid) ZCL command. Throws when the bytes are not valid ZCL.
 */
export function decodeAttributeValues(clusterId: number, payload: Buffer): AttributeValues | null {
  // Checked here rather than left to the codec, which says so on the console for every such frame
  // (zigbee-herdsman's logger): a meter sending garbage must not flood the agent's log.
  const headerLength = payload.length > 0 && (payload[0]! & MANUFACTURER_SPECIFIC) !== 0 ? 5 : 3;
  if (payload.length < headerLength) throw new Error(`ZCL frame of ${payload.length} bytes is shorter than its ${headerLength}-byte header`);
  const header = Zcl.Header.fromBuffer(payload);
  if (!header) throw new Error('ZCL header is truncated');
  if (header.frameControl.frameType !== Zcl.FrameType.GLOBAL) return null;
  const command = header.commandIdentifier;
  if (command !== REPORT_ATTRIBUTES && command !== READ_ATTRIBUTES_RESPONSE) return null;
  const frame = Zcl.Frame.fromBuffer(clusterId, header, payload, {});
  const values: AttributeValues = new Map();
  for (const record of frame.payload as Array<ReportRecord | ReadRecord>) {
    if ('status' in record && record.status !== SUCCESS) continue;
    const value = record.attrData;
    if (typeof value === 'number') values.set(record.attrId, value);
    else if (typeof value === 'bigint') values.set(record.attrId, Number(value));
  }
  return values;
}
