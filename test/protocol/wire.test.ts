import { describe, expect, it } from 'vitest';
import { ProtocolError, Reader, Writer } from '../../broker/protocol/wire.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function written(fill: (w: Writer) => void): Buffer {
  const w = new Writer();
  fill(w);
  return w.toBuffer();
}

describe('Reader/Writer primitives', () => {
  it('encodes fixed-width integers big-endian and reads them back', () => {
    const bytes = written((w) => {
      w.writeInt8(-2);
      w.writeInt16(-300);
      w.writeUInt16(65000);
      w.writeInt32(-70000);
      w.writeUInt32(4000000000);
      w.writeBool(true);
      w.writeFloat64(-1.5);
    });
    expect(bytes.subarray(0, 14)).toEqual(hex('fe fed4 fde8 fffeee90 ee6b2800 01'));
    const r = new Reader(bytes);
    expect([r.readInt8(), r.readInt16(), r.readUInt16(), r.readInt32(), r.readUInt32(), r.readBool(), r.readFloat64()]).toEqual([
      -2, -300, 65000, -70000, 4000000000, true, -1.5,
    ]);
    expect(r.remaining).toBe(0);
  });

  it('writes int64 from numbers exactly within 2^53, clamps beyond int64, truncates fractions', () => {
    const cases: [number, string][] = [
      [0, '0000000000000000'],
      [-1, 'ffffffffffffffff'],
      [2 ** 32, '0000000100000000'],
      [-(2 ** 32) - 1, 'fffffffeffffffff'],
      [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
      [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
      [2 ** 70, '7fffffffffffffff'],
      [-(2 ** 70), '8000000000000000'],
      [-(2 ** 63), '8000000000000000'],
      [12.9, '000000000000000c'],
      [-12.9, 'fffffffffffffff4'],
    ];
    for (const [value, expected] of cases) {
      const bytes = written((w) => w.writeInt64(value));
      expect(bytes.toString('hex'), String(value)).toBe(expected);
      if (Number.isSafeInteger(Math.trunc(value))) expect(new Reader(bytes).readInt64()).toBe(Math.trunc(value));
    }
    expect(new Reader(hex('7fffffffffffffff')).readInt64()).toBe(2 ** 63); // rounded, accepted
  });

  it('encodes unsigned and zigzag varints like Kafka', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [1, '01'],
      [127, '7f'],
      [128, '8001'],
      [300, 'ac02'],
      [0xffffffff, 'ffffffff0f'],
    ];
    for (const [value, expected] of cases) {
      expect(written((w) => w.writeUnsignedVarint(value)).toString('hex')).toBe(expected);
      expect(new Reader(hex(expected)).readUnsignedVarint()).toBe(value);
    }
    for (const [value, expected] of [[0, '00'], [-1, '01'], [1, '02'], [-64, '7f'], [64, '8001']] as const) {
      expect(written((w) => w.writeVarint(value)).toString('hex')).toBe(expected);
      expect(new Reader(hex(expected)).readVarint()).toBe(value);
    }
    expect(() => new Reader(hex('8080808080')).readUnsignedVarint()).toThrow(ProtocolError);
    expect(() => new Reader(hex('ffffffff1f')).readUnsignedVarint()).toThrow(ProtocolError);
  });

  it('length-prefixes strings by UTF-8 bytes, classic and compact, with null', () => {
    const bytes = written((w) => {
      w.writeString('é');
      w.writeNullableString(null);
      w.writeCompactString('ab');
      w.writeCompactNullableString(null);
      w.writeCompactNullableString('');
    });
    expect(bytes).toEqual(hex('0002 c3a9 ffff 03 6162 00 01'));
    const r = new Reader(bytes);
    expect([r.readString(), r.readNullableString(), r.readCompactString(), r.readCompactNullableString(), r.readCompactNullableString()]).toEqual([
      'é', null, 'ab', null, '',
    ]);
    expect(() => new Reader(hex('ffff')).readString()).toThrow(ProtocolError);
    expect(() => new Reader(hex('00')).readCompactString()).toThrow(ProtocolError);
  });

  it('returns bytes and uuids as views of the input', () => {
    const input = hex('00000003 aabbcc 04 010203 ' + '11'.repeat(16));
    const r = new Reader(input);
    const bytes = r.readBytes();
    const compact = r.readCompactBytes();
    const uuid = r.readUuid();
    expect(bytes).toEqual(hex('aabbcc'));
    expect(compact).toEqual(hex('010203'));
    expect(uuid.length).toBe(16);
    expect(bytes.buffer).toBe(input.buffer);
    expect(uuid.buffer).toBe(input.buffer);
    expect(new Reader(hex('ffffffff')).readNullableBytes()).toBeNull();
    expect(() => new Reader(hex('ffffffff')).readBytes()).toThrow(ProtocolError);
  });
});

describe('Reader bounds', () => {
  it('throws ProtocolError with the byte offset on every truncated read', () => {
    const r = new Reader(hex('0001 02'));
    r.readInt16();
    expect(() => r.readInt32()).toThrow(/truncated int32: need 4 bytes, 1 left \(at byte offset 2\)/);
    for (const read of [
      (x: Reader) => x.readInt8(),
      (x: Reader) => x.readInt64(),
      (x: Reader) => x.readFloat64(),
      (x: Reader) => x.readUuid(),
      (x: Reader) => x.readUnsignedVarint(),
      (x: Reader) => x.readBool(),
    ]) {
      expect(() => read(new Reader(Buffer.alloc(0)))).toThrow(ProtocolError);
    }
  });

  it('rejects string and bytes lengths beyond the remaining bytes before reading', () => {
    expect(() => new Reader(hex('7fff 61')).readString()).toThrow(/need 32767 bytes, 1 left/);
    expect(() => new Reader(hex('7fffffff 61')).readBytes()).toThrow(ProtocolError);
    expect(() => new Reader(hex('ffffffff0f')).readCompactBytes()).toThrow(ProtocolError);
  });

  it('rejects huge array counts before allocating', () => {
    const started = process.hrtime.bigint();
    expect(() => new Reader(hex('7fffffff 00000000')).readArrayLength(1)).toThrow(/array of 2147483647 elements/);
    expect(() => new Reader(hex('ffffffff0f 00')).readCompactArrayLength(1)).toThrow(/array of 4294967294 elements/);
    expect(() => new Reader(hex('80000000')).readNullableArrayLength(1)).toThrow(/invalid length -2147483648/);
    expect(() => new Reader(hex('00')).readCompactArrayLength(1)).toThrow(/null/);
    // A count that fits the bytes only if elements were smaller than their minimum size.
    expect(() => new Reader(hex('00000003 000000000000')).readArrayLength(4)).toThrow(ProtocolError);
    expect(new Reader(hex('00000003 000000000000')).readArrayLength(2)).toBe(3);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(50);
  });

  it('bounds tag buffers: counts, sizes, and exact consumption of known tags', () => {
    expect(() => new Reader(hex('ffffff7f')).readTaggedFieldCount()).toThrow(ProtocolError);
    expect(() => new Reader(hex('01 00 05 00')).skipTaggedFields()).toThrow(/tagged field of 5 bytes/);
    const r = new Reader(hex('02 0000 0302aabb 01'));
    r.skipTaggedFields(); // tag 0 empty, tag 3 two bytes
    expect(r.readInt8()).toBe(1);
    const known = new Reader(hex('03 00000001 ff'));
    const outerEnd = known.beginTaggedField();
    known.readInt16();
    expect(() => known.endTaggedField(outerEnd, 7)).toThrow(/tagged field 7 has 1 unread bytes/);
    const confined = new Reader(hex('02 0000 ffff'));
    confined.beginTaggedField();
    expect(() => confined.readInt32()).toThrow(ProtocolError); // cannot read past the field
  });
});

describe('Writer', () => {
  it('grows from a small slab and keeps earlier content', () => {
    const w = new Writer(4);
    for (let i = 0; i < 1000; i++) w.writeInt32(i);
    const bytes = w.toBuffer();
    expect(bytes.length).toBe(4000);
    const r = new Reader(bytes);
    for (let i = 0; i < 1000; i++) expect(r.readInt32()).toBe(i);
  });

  it('never overwrites bytes it has handed out when reused', () => {
    const w = new Writer(64);
    w.writeString('first message');
    const first = w.toBuffer();
    const copy = Buffer.from(first);
    for (let i = 0; i < 100; i++) {
      w.writeString(`later message ${i}`);
      w.toChunks();
    }
    expect(first.equals(copy)).toBe(true);
  });

  it('writes tagged field sizes as uvarints, moving values of 128+ bytes', () => {
    const w = new Writer(8);
    w.writeUnsignedVarint(2);
    let mark = w.beginTaggedField(1);
    w.writeInt32(7);
    w.endTaggedField(mark);
    mark = w.beginTaggedField(300);
    const value = Buffer.alloc(200, 0x5a);
    w.writeRaw(value);
    w.endTaggedField(mark);
    const bytes = w.toBuffer();
    expect(bytes.subarray(0, 11)).toEqual(hex('02 01 04 00000007 ac02 c801'));
    expect(bytes.subarray(11)).toEqual(value);
  });

  it('appends records by reference, with the right length prefix', () => {
    const big = Buffer.alloc(1024 * 1024, 7);
    const w = new Writer();
    w.writeInt16(1);
    w.writeRecordsRef(big, false);
    w.writeInt16(2);
    w.writeRecordsRef([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('c')], true);
    w.writeRecordsRef(null, true);
    w.writeRecordsRef(null, false);
    expect(w.length).toBe(2 + 4 + big.length + 2 + 1 + 3 + 1 + 4);
    const chunks = w.toChunks();
    expect(chunks[1]).toBe(big);
    expect(chunks.map((c) => c.length)).toEqual([6, big.length, 3, 2, 1, 5]);
    expect(chunks[0]).toEqual(hex('0001 00100000'));
    expect(chunks[2]).toEqual(hex('0002 04'));
    expect(chunks[5]).toEqual(hex('00 ffffffff'));
  });

  it('refuses records inside a tagged field and unterminated tagged fields', () => {
    const w = new Writer();
    w.beginTaggedField(0);
    expect(() => w.writeRecordsRef(Buffer.from('x'), true)).toThrow(/tagged field/);
    expect(() => w.toChunks()).toThrow(/unterminated/);
    w.reset();
    w.writeInt8(1);
    expect(w.toBuffer()).toEqual(hex('01'));
  });

  it('checks value ranges instead of silently wrapping', () => {
    const w = new Writer();
    expect(() => w.writeInt16(40000)).toThrow(RangeError);
    expect(() => w.writeInt8(128)).toThrow(RangeError);
    expect(() => w.writeUInt32(-1)).toThrow(RangeError);
    // A field missing from a hand-built message must not be written as 0.
    expect(() => w.writeInt32(undefined as unknown as number)).toThrow(/int32 value out of range: undefined/);
    expect(() => w.writeInt64(Number.NaN)).toThrow(RangeError);
    expect(() => w.writeUnsignedVarint(-1)).toThrow(RangeError);
    expect(() => w.writeUuid(Buffer.alloc(15))).toThrow(/16 bytes/);
    expect(() => w.writeString('x'.repeat(0x8000))).toThrow(RangeError);
  });
});
