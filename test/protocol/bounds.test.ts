// Malformed input must fail with ProtocolError, early and without large allocations.
import { describe, expect, it } from 'vitest';
import {
  decodeFetchRequest,
  decodeMetadataRequest,
  decodeMetadataResponse,
  decodeOffsetFetchRequest,
  decodeProduceRequest,
} from '../../broker/protocol/generated/index.ts';
import { MESSAGE_DESCRIPTIONS } from '../../broker/protocol/generated/schemas.ts';
import { ProtocolError, Reader, Writer } from '../../broker/protocol/wire.ts';
import { codecOf, sampleMessage, versionsOf } from './sample.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function elapsedMs(fn: () => void): number {
  const started = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

describe('huge counts fail fast', () => {
  it('Produce v7: 2^31-1 topics', () => {
    const body = hex('ffff ffff 00007530 7fffffff 0001 74');
    const ms = elapsedMs(() => expect(() => decodeProduceRequest(new Reader(body), 7)).toThrow(/array of 2147483647 elements/));
    expect(ms).toBeLessThan(50);
  });

  it('Fetch v12 (flexible): compact count 2^32-2 topics', () => {
    const body = hex('ffffffff 000001f4 00000001 7fffffff 00 00000000 ffffffff ffffffff0f 00');
    expect(() => decodeFetchRequest(new Reader(body), 12)).toThrow(/array of 4294967294 elements/);
  });

  it('nested: one topic with 2^31-1 partitions of 4-byte int32 indexes', () => {
    // OffsetFetch v1: group "g", topics [ { name "t", partitionIndexes: count 0x7fffffff } ]
    const body = hex('0001 67 00000001 0001 74 7fffffff 00000000');
    expect(() => decodeOffsetFetchRequest(new Reader(body), 1)).toThrow(/array of 2147483647 elements \(>= 4 bytes each\)/);
  });

  it('counts that need more bytes than remain, given the minimum element size', () => {
    // Metadata v0 response: 3 brokers need at least 3 * (4 + 2 + 4) bytes.
    const body = hex('00000003' + '00'.repeat(20));
    expect(() => decodeMetadataResponse(new Reader(body), 0)).toThrow(/>= 10 bytes each/);
  });

  it('null for a non-nullable array, and huge tag buffers', () => {
    expect(() => decodeMetadataRequest(new Reader(hex('ffffffff')), 0)).toThrow(/non-nullable array/);
    expect(() => decodeMetadataRequest(new Reader(hex('00 00 00 00 ffffffff0f')), 9)).toThrow(ProtocolError);
    expect(() => decodeMetadataRequest(new Reader(hex('01 00 00 00 01 00 7f 00')), 9)).toThrow(/tagged field of 127 bytes/);
  });
});

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('garbage input only ever raises ProtocolError', () => {
  it.each(MESSAGE_DESCRIPTIONS.map((m) => [m.name, m] as const))('%s', (name, message) => {
    const { decode, encode } = codecOf(name);
    const next = random(name.length * 7919);
    for (const version of versionsOf(message)) {
      const w = new Writer();
      encode(w, sampleMessage(message, version, 'values').input, version);
      const valid = w.toBuffer();
      for (let attempt = 0; attempt < 60; attempt++) {
        let input: Buffer;
        if (attempt % 2 === 0) {
          input = Buffer.from(valid);
          const flips = 1 + Math.floor(next() * 4);
          for (let f = 0; f < flips; f++) input[Math.floor(next() * input.length)] = Math.floor(next() * 256);
        } else {
          input = Buffer.from(Array.from({ length: Math.floor(next() * 48) }, () => Math.floor(next() * 256)));
        }
        try {
          decode(new Reader(input), version);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw new Error(`${name} v${version} on ${input.toString('hex')}: ${String(err)}`, { cause: err });
        }
      }
    }
  });
});
