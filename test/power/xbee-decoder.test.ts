import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { XBeeMeterDecoder, type DecodeResult } from '../../src/power/meters/xbee-meter-decoder.ts';
import { apiFrame, explicitRx, modemStatus, zclReport } from './xbee-bytes.ts';

const clock = { now: () => 1_700_000_000_000, sleep: async () => {} };
// Address and values chosen so that escaped mode has to escape 0x7E, 0x7D, 0x11 and 0x13.
const METER = '0x00137d11227e3344';

function electricalFrame(watts10: number, escaped: boolean): Buffer {
  return apiFrame(explicitRx(METER, 0x0b04, zclReport(0x7e, [
    { id: 0x0604, type: 'uint16', value: 1 },
    { id: 0x0605, type: 'uint16', value: 10 },
    { id: 0x050b, type: 'int16', value: watts10 },
  ])), escaped);
}

function meteringFrame(escaped: boolean, unit = 0): Buffer {
  return apiFrame(explicitRx(METER, 0x0702, zclReport(0x13, [
    { id: 0x0300, type: 'enum8', value: unit },
    { id: 0x0301, type: 'uint24', value: 1 },
    { id: 0x0302, type: 'uint24', value: 1000 },
    { id: 0x0400, type: 'int24', value: 250 },
    { id: 0x0000, type: 'uint48', value: 123_456_789 },
  ]), 0x0109), escaped);
}

function feed(decoder: XBeeMeterDecoder, bytes: Buffer, pieceSizes: number[] = [bytes.length]): DecodeResult {
  const all: DecodeResult = { readings: [], rejections: [] };
  let pos = 0;
  for (let i = 0; pos < bytes.length; i++) {
    const size = Math.max(1, pieceSizes[i % pieceSizes.length]!);
    const r = decoder.push(bytes.subarray(pos, pos + size));
    pos += size;
    all.readings.push(...r.readings);
    all.rejections.push(...r.rejections);
  }
  return all;
}

for (const escaped of [true, false]) {
  test(`decodes Electrical Measurement and Metering reports byte by byte (escaped=${escaped})`, () => {
    const bytes = Buffer.concat([apiFrame(modemStatus(), escaped), electricalFrame(0x7e11, escaped), meteringFrame(escaped)]);
    if (escaped) assert.ok(bytes.includes(0x7d), 'the fixture exercises escaping');
    const out = feed(new XBeeMeterDecoder({ escaped, clock }), bytes, [1]);
    assert.deepEqual(out.rejections, []);
    assert.deepEqual(out.readings, [
      { meterId: METER, watts: 0x7e11 / 10, atMs: clock.now(), source: 'serial' },
      { meterId: METER, watts: 250, energyWh: 123_456_789, atMs: clock.now(), source: 'serial' },
    ]);
  });
}

test('negative active power (int16) and a per-meter override of the factors', () => {
  const decoder = new XBeeMeterDecoder({ escaped: true, clock, overrideFor: (id) => (id === METER ? { multiplier: 3, divisor: 2 } : undefined) });
  const out = feed(decoder, electricalFrame(-100, true));
  assert.equal(out.readings[0]!.watts, -150);
});

test('factors reported once apply to later reports of the same meter only', () => {
  const decoder = new XBeeMeterDecoder({ escaped: false, clock });
  feed(decoder, electricalFrame(1000, false)); // carries divisor 10
  const later = apiFrame(explicitRx(METER, 0x0b04, zclReport(1, [{ id: 0x050b, type: 'int16', value: 500 }])), false);
  const other = apiFrame(explicitRx('0x0000000000000001', 0x0b04, zclReport(1, [{ id: 0x050b, type: 'int16', value: 500 }])), false);
  const out = feed(decoder, Buffer.concat([later, other]));
  assert.deepEqual(out.readings.map((r) => [r.meterId, r.watts]), [[METER, 50], ['0x0000000000000001', 500]]);
});

test('garbage, truncated frames and bad checksums are rejected and the stream resynchronises', () => {
  for (const escaped of [true, false]) {
    const good = electricalFrame(2000, escaped);
    const stream = Buffer.concat([
      Buffer.from([0x00, 0xff, 0x42]), // line noise before any frame
      good.subarray(0, 9), // a frame cut short …
      good, // … then a good one
      apiFrame(explicitRx(METER, 0x0b04, zclReport(2, [{ id: 0x050b, type: 'int16', value: 1 }])), escaped, true), // bad checksum
      apiFrame(explicitRx(METER, 0x0b04, Buffer.from([0x18])), escaped), // ZCL cut short
      apiFrame(explicitRx(METER, 0x0702, zclReport(3, [{ id: 0x0300, type: 'enum8', value: 1 }, { id: 0x0400, type: 'int24', value: 5 }])), escaped), // m³, not kW
      good,
    ]);
    const out = feed(new XBeeMeterDecoder({ escaped, clock }), stream, [7, 3, 11]);
    assert.deepEqual(out.readings.map((r) => r.watts), [200, 200], `escaped=${escaped}`);
    const reasons = new Set(out.rejections.map((r) => r.reason));
    assert.ok(reasons.has('corrupt_frame'), `corrupt_frame (escaped=${escaped}): ${JSON.stringify(out.rejections)}`);
    assert.ok(reasons.has('bad_checksum'), `bad_checksum (escaped=${escaped})`);
    assert.ok(reasons.has('bad_zcl'), `bad_zcl (escaped=${escaped})`);
    assert.ok(reasons.has('unsupported_unit'), `unsupported_unit (escaped=${escaped})`);
  }
});

test('property: however the bytes are split, the same readings come out', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
      (escaped, values, pieces) => {
        const bytes = Buffer.concat(values.map((v) => electricalFrame(v, escaped)));
        const out = feed(new XBeeMeterDecoder({ escaped, clock }), bytes, pieces);
        assert.deepEqual(out.rejections, []);
        assert.deepEqual(out.readings.map((r) => r.watts), values.map((v) => v / 10));
      },
    ),
  );
});

test('an escape byte cut off by a new start delimiter does not swallow the next frame', () => {
  const good = electricalFrame(4000, true);
  const cut = good.subarray(0, good.indexOf(0x7d, 1) + 1); // ends right after an escape byte
  assert.equal(cut.at(-1), 0x7d);
  const out = feed(new XBeeMeterDecoder({ escaped: true, clock }), Buffer.concat([cut, good]));
  assert.deepEqual(out.readings.map((r) => r.watts), [400]);
  assert.deepEqual(out.rejections.map((r) => r.reason), ['corrupt_frame']);
});
