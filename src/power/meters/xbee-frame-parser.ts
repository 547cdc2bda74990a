/**
 * Streaming parser for Digi XBee API frames:
 *
 *   0x7E | length (2 bytes, big-endian, of the frame data) | frame data | checksum
 *
 * where checksum = 0xFF - (sum of the frame data bytes & 0xFF). In API mode 2 ("escaped"),
 * every byte after the start delimiter that is 0x7E, 0x7D, 0x11 or 0x13 is sent as 0x7D
 * followed by the byte XOR 0x20, so a raw 0x7E always starts a frame.
 *
 * A serial line delivers frames in arbitrary pieces and sometimes damaged. The parser keeps
 * the bytes it has not consumed yet; when a frame turns out bad it resumes the search at the
 * byte after that frame's start delimiter, so a good frame hidden behind a damaged one is
 * not lost. (xbee-api, the usual library for this, cannot be installed here; see docs/power.md.)
 */

export const XBEE_START = 0x7e;
const ESCAPE = 0x7d;
const ESCAPE_XOR = 0x20;
/** Longer than any frame an XBee sends; a damaged length field must not stall the stream. */
export const MAX_FRAME_DATA = 1024;

export type XBeeRejectReason = 'corrupt_frame' | 'bad_checksum';

export type XBeeParseEvent =
  | { kind: 'frame'; data: Buffer }
  | { kind: 'rejected'; reason: XBeeRejectReason; detail: string };

type Attempt =
  | { kind: 'incomplete' }
  | { kind: 'frame'; data: Buffer; end: number }
  | { kind: 'rejected'; reason: XBeeRejectReason; detail: string };

export class XBeeFrameParser {
  private pending: Buffer = Buffer.alloc(0);
  private skippingRejected = false;

  constructor(private readonly escaped: boolean) {}

  /** Feeds bytes as they arrive; returns the frames completed and the rejections found. */
  push(chunk: Buffer): XBeeParseEvent[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const events: XBeeParseEvent[] = [];
    let pos = 0;
    while (pos < this.pending.length) {
      const start = this.pending.indexOf(XBEE_START, pos);
      const junkEnd = start < 0 ? this.pending.length : start;
      // Bytes of a frame just rejected are not counted a second time as junk.
      if (junkEnd > pos && !this.skippingRejected) events.push(junk(junkEnd - pos));
      pos = junkEnd;
      if (start < 0) break;
      this.skippingRejected = false;
      const attempt = this.tryFrame(start);
      if (attempt.kind === 'incomplete') break;
      if (attempt.kind === 'frame') {
        events.push({ kind: 'frame', data: attempt.data });
        pos = attempt.end;
      } else {
        events.push(attempt);
        this.skippingRejected = true;
        pos = start + 1;
      }
    }
    this.pending = this.pending.subarray(pos);
    return events;
  }

  /** Tries to read one frame whose start delimiter is at `start`. */
  private tryFrame(start: number): Attempt {
    const buf = this.pending;
    let i = start + 1;
    // Reads one logical byte, undoing API mode 2 escaping; null when more input is needed.
    const next = (): number | null | 'delimiter' => {
      if (i >= buf.length) return null;
      const b = buf[i]!;
      if (!this.escaped) return (i++, b);
      if (b === XBEE_START) return 'delimiter';
      if (b !== ESCAPE) return (i++, b);
      if (i + 1 >= buf.length) return null;
      if (buf[i + 1] === XBEE_START) return 'delimiter';
      const unescaped = buf[i + 1]! ^ ESCAPE_XOR;
      i += 2;
      return unescaped;
    };
    const bytes: number[] = [];
    let length = -1;
    for (;;) {
      const b = next();
      if (b === null) return { kind: 'incomplete' };
      if (b === 'delimiter') {
        return { kind: 'rejected', reason: 'corrupt_frame', detail: `frame cut short after ${bytes.length} bytes by a new start delimiter` };
      }
      bytes.push(b);
      if (bytes.length === 2) {
        length = (bytes[0]! << 8) | bytes[1]!;
        if (length === 0 || length > MAX_FRAME_DATA) {
          return { kind: 'rejected', reason: 'corrupt_frame', detail: `frame length ${length} outside 1..${MAX_FRAME_DATA}` };
        }
      }
      if (length >= 0 && bytes.length === length + 3) break;
    }
    const data = Buffer.from(bytes.slice(2, 2 + length));
    const checksum = bytes[2 + length]!;
    const expected = xbeeChecksum(data);
    if (checksum !== expected) {
      return {
        kind: 'rejected',
        reason: 'bad_checksum',
        detail: `checksum 0x${hex2(checksum)} != 0x${hex2(expected)} for frame type 0x${hex2(data[0]!)}`,
      };
    }
    return { kind: 'frame', data, end: i };
  }
}

export function xbeeChecksum(frameData: Uint8Array): number {
  let sum = 0;
  for (const b of frameData) sum = (sum + b) & 0xff;
  return 0xff - sum;
}

function junk(count: number): XBeeParseEvent {
  return { kind: 'rejected', reason: 'corrupt_frame', detail: `${count} byte(s) outside any frame skipped` };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
