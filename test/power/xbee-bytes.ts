/**
 * Builds XBee API frames and ZCL attribute reports byte by byte from the specifications
 * (Digi XBee/XBee-PRO ZigBee user guide "API operation"; ZCL rev. 6 §2.5.11 Report
 * Attributes), independently of the code under test.
 */

/** ZCL data type ids (ZCL §2.6.2) with their width in bytes. */
export const ZclType = {
  uint8: [0x20, 1], uint16: [0x21, 2], uint24: [0x22, 3], uint32: [0x23, 4], uint48: [0x25, 6],
  int16: [0x29, 2], int24: [0x2a, 3], enum8: [0x30, 1],
} as const satisfies Record<string, readonly [number, number]>;

export interface AttributeRecord {
  id: number;
  type: keyof typeof ZclType;
  value: number;
}

/** Little-endian two's complement of `value` in `width` bytes. */
function le(value: number, width: number): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 1n << BigInt(8 * width);
  const out: number[] = [];
  for (let i = 0; i < width; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** A ZCL Report Attributes command (global, server→client, default response disabled). */
export function zclReport(seq: number, records: AttributeRecord[]): Buffer {
  const bytes = [0x18, seq & 0xff, 0x0a];
  for (const r of records) {
    const [typeId, width] = ZclType[r.type];
    bytes.push(...le(r.id, 2), typeId, ...le(r.value, width));
  }
  return Buffer.from(bytes);
}

/** Frame data of an XBee Explicit Rx Indicator (0x91). */
export function explicitRx(source64: string, clusterId: number, payload: Buffer, profileId = 0x0104): Buffer {
  const addr = Buffer.from(source64.replace(/^0x/, ''), 'hex');
  if (addr.length !== 8) throw new Error(`bad 64-bit address ${source64}`);
  return Buffer.concat([
    Buffer.from([0x91]), addr, Buffer.from([0x12, 0x34, 0x01, 0xe8]),
    Buffer.from([clusterId >> 8, clusterId & 0xff, profileId >> 8, profileId & 0xff, 0x01]),
    payload,
  ]);
}

const MUST_ESCAPE = new Set([0x7e, 0x7d, 0x11, 0x13]);

/** A whole API frame: 0x7E, length, data, checksum; escaped as in API mode 2 when asked. */
export function apiFrame(data: Buffer, escaped: boolean, corruptChecksum = false): Buffer {
  let sum = 0;
  for (const b of data) sum = (sum + b) & 0xff;
  const checksum = (0xff - sum + (corruptChecksum ? 1 : 0)) & 0xff;
  const body = [data.length >> 8, data.length & 0xff, ...data, checksum];
  const out = [0x7e];
  for (const b of body) {
    if (escaped && MUST_ESCAPE.has(b)) out.push(0x7d, b ^ 0x20);
    else out.push(b);
  }
  return Buffer.from(out);
}

/** An XBee Modem Status frame (0x8A, "coordinator started"): chatter a decoder must ignore. */
export function modemStatus(): Buffer {
  return Buffer.from([0x8a, 0x06]);
}
