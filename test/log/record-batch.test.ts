import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../broker/protocol/errors.ts';
import {
  BATCH_HEADER_BYTES,
  findRecordAtTimestamp,
  incrementSequence,
  readBatchHeader,
  readInt64,
  validateProducedBatch,
  writeInt64,
} from '../../broker/log/record-batch.ts';
import { buildBatch, DEFAULT_BASE_TIMESTAMP, fixCrc } from './batch-builder.ts';

const MAX = 1048588;

function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KafkaError);
    return (err as KafkaError).code;
  }
  throw new Error('expected a KafkaError');
}

describe('readBatchHeader', () => {
  it('parses every header field', () => {
    const b = buildBatch({ count: 3, producerId: 1234567890123, producerEpoch: 7, baseSequence: 42, timestampStep: 5, baseOffset: 99 });
    const h = readBatchHeader(b, 0);
    expect(BATCH_HEADER_BYTES).toBe(61);
    expect(h).toMatchObject({
      baseOffset: 99,
      batchLength: b.length - 12,
      totalBytes: b.length,
      magic: 2,
      attributes: 0,
      lastOffsetDelta: 2,
      lastOffset: 101,
      baseTimestamp: DEFAULT_BASE_TIMESTAMP,
      maxTimestamp: DEFAULT_BASE_TIMESTAMP + 10,
      producerId: 1234567890123,
      producerEpoch: 7,
      baseSequence: 42,
      recordsCount: 3,
    });
  });

  it('handles -1 producer ids and int64 round trips', () => {
    expect(readBatchHeader(buildBatch(), 0).producerId).toBe(-1);
    const buf = Buffer.alloc(8);
    for (const v of [0, 1, -1, 2 ** 32, 2 ** 40 + 5, -(2 ** 33) - 7, Number.MAX_SAFE_INTEGER]) {
      writeInt64(buf, 0, v);
      expect(readInt64(buf, 0)).toBe(v);
      expect(buf.readBigInt64BE(0)).toBe(BigInt(v));
    }
  });

  it('wraps sequences like Kafka', () => {
    expect(incrementSequence(5, 3)).toBe(8);
    expect(incrementSequence(0x7fffffff, 1)).toBe(0);
    expect(incrementSequence(0x7ffffffe, 3)).toBe(1);
  });
});

describe('validateProducedBatch', () => {
  it('accepts good batches, including kafkajs and librdkafka non-idempotent markers and opaque compression', () => {
    expect(validateProducedBatch(buildBatch({ count: 10 }), MAX).recordsCount).toBe(10);
    expect(() => validateProducedBatch(buildBatch({ producerId: -1, producerEpoch: 0, baseSequence: 0 }), MAX)).not.toThrow();
    for (const compression of [1, 2, 3, 4]) {
      expect(() => validateProducedBatch(buildBatch({ compression, payloadCount: 5 }), MAX)).not.toThrow();
    }
  });

  it('rejects a bad CRC with CORRUPT_MESSAGE', () => {
    const b = buildBatch({ count: 2 });
    b[b.length - 1] ^= 0xff;
    expect(codeOf(() => validateProducedBatch(b, MAX))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('rejects two batches, trailing bytes and truncation with INVALID_RECORD', () => {
    const a = buildBatch();
    expect(codeOf(() => validateProducedBatch(Buffer.concat([a, buildBatch()]), MAX))).toBe(ErrorCode.INVALID_RECORD);
    expect(codeOf(() => validateProducedBatch(Buffer.concat([a, Buffer.from([1, 2, 3])]), MAX))).toBe(ErrorCode.INVALID_RECORD);
    expect(codeOf(() => validateProducedBatch(a.subarray(0, a.length - 1), MAX))).toBe(ErrorCode.INVALID_RECORD);
    expect(codeOf(() => validateProducedBatch(a.subarray(0, 40), MAX))).toBe(ErrorCode.INVALID_RECORD);
    expect(codeOf(() => validateProducedBatch(Buffer.alloc(0), MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects magic 0/1 message sets', () => {
    const b = buildBatch({ magic: 1 });
    expect(codeOf(() => validateProducedBatch(b, MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects oversize batches with MESSAGE_TOO_LARGE', () => {
    const b = buildBatch({ count: 1, valueBytes: 2000 });
    expect(codeOf(() => validateProducedBatch(b, 1000))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(() => validateProducedBatch(b, b.length)).not.toThrow();
  });

  it('rejects unknown codecs, control batches and inconsistent counts', () => {
    expect(codeOf(() => validateProducedBatch(buildBatch({ compression: 5 }), MAX))).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    expect(codeOf(() => validateProducedBatch(buildBatch({ control: true }), MAX))).toBe(ErrorCode.INVALID_RECORD);
    const b = buildBatch({ count: 3 });
    b.writeInt32BE(5, 57);
    expect(codeOf(() => validateProducedBatch(fixCrc(b), MAX))).toBe(ErrorCode.INVALID_RECORD);
    const neg = buildBatch();
    neg.writeInt32BE(-1, 23);
    neg.writeInt32BE(0, 57);
    expect(codeOf(() => validateProducedBatch(fixCrc(neg), MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects idempotent batches without a sequence and transactional ones without a producer id', () => {
    expect(codeOf(() => validateProducedBatch(buildBatch({ producerId: 5, producerEpoch: 0, baseSequence: -1 }), MAX))).toBe(
      ErrorCode.INVALID_RECORD,
    );
    expect(codeOf(() => validateProducedBatch(buildBatch({ transactional: true }), MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('gives clear messages', () => {
    const b = buildBatch();
    b[70] ^= 1;
    expect(() => validateProducedBatch(b, MAX)).toThrow(/CRC-32C mismatch/);
    expect(() => validateProducedBatch(Buffer.concat([buildBatch(), buildBatch()]), MAX)).toThrow(/exactly one batch/);
  });
});

describe('findRecordAtTimestamp', () => {
  it('finds the first record at or after a timestamp in an uncompressed batch', () => {
    const b = buildBatch({ records: [{ timestampDelta: 0 }, { timestampDelta: 50 }, { timestampDelta: 20 }, { timestampDelta: 100 }] });
    b.writeBigInt64BE(1000n, 0);
    expect(findRecordAtTimestamp(b, DEFAULT_BASE_TIMESTAMP + 10)).toEqual({ offset: 1001, timestampMs: DEFAULT_BASE_TIMESTAMP + 50 });
    expect(findRecordAtTimestamp(b, DEFAULT_BASE_TIMESTAMP + 60)).toEqual({ offset: 1003, timestampMs: DEFAULT_BASE_TIMESTAMP + 100 });
    expect(findRecordAtTimestamp(b, 0)).toEqual({ offset: 1000, timestampMs: DEFAULT_BASE_TIMESTAMP });
  });

  it('falls back to the batch start for compressed batches', () => {
    const b = buildBatch({ compression: 1, payloadCount: 4, maxTimestamp: DEFAULT_BASE_TIMESTAMP + 100 });
    expect(findRecordAtTimestamp(b, DEFAULT_BASE_TIMESTAMP + 60)).toEqual({ offset: 0, timestampMs: DEFAULT_BASE_TIMESTAMP });
  });
});
