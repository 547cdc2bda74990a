/**
 * XBee frame type 0x91, "Explicit Rx Indicator": how a coordinator in API mode hands over a
 * ZigBee application message with its addressing intact.
 *
 *   0x91 | source 64-bit address (8) | source 16-bit address (2) | source endpoint |
 *   destination endpoint | cluster id (2) | profile id (2) | receive options | payload …
 */
export const EXPLICIT_RX_INDICATOR = 0x91;
const HEADER_LENGTH = 18;

export interface ExplicitRx {
  /** `0x` + 16 lowercase hex digits, the form PhysicalHost.spec.meter.ieeeAddress uses. */
  source64: string;
  source16: number;
  sourceEndpoint: number;
  destinationEndpoint: number;
  clusterId: number;
  profileId: number;
  options: number;
  payload: Buffer;
}

/** Parses the frame data of a 0x91 frame; throws saying what is wrong otherwise. */
export function parseExplicitRx(frame: Buffer): ExplicitRx {
  if (frame[0] !== EXPLICIT_RX_INDICATOR) {
    throw new Error(`frame type 0x${(frame[0] ?? 0).toString(16)} is not an explicit RX indicator (0x91)`);
  }
  if (frame.length < HEADER_LENGTH) {
    throw new Error(`explicit RX frame of ${frame.length} bytes is shorter than its ${HEADER_LENGTH}-byte header`);
  }
  return {
    source64: `0x${frame.subarray(1, 9).toString('hex')}`,
    source16: frame.readUInt16BE(9),
    sourceEndpoint: frame[11]!,
    destinationEndpoint: frame[12]!,
    clusterId: frame.readUInt16BE(13),
    profileId: frame.readUInt16BE(15),
    options: frame[17]!,
    payload: frame.subarray(HEADER_LENGTH),
  };
}
