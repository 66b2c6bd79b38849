// Builds real magic v2 record batches for tests: records encoded with zig-zag varints, CRC-32C over [21, end).
import { crc32c } from '@node-rs/crc32';

export interface RecordSpec {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: { key: string; value: Buffer | string | null }[];
  /** Milliseconds after the batch's baseTimestamp (default: index * timestampStep). */
  timestampDelta?: number;
}

export interface BatchSpec {
  /** Explicit records; default is `count` records with `valueBytes`-byte values. */
  records?: RecordSpec[];
  count?: number;
  valueBytes?: number;
  baseTimestamp?: number;
  timestampStep?: number;
  /** Override the header's maxTimestamp (default: largest record timestamp). */
  maxTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Compression codec bits (0..7). With a non-zero codec the records section is `payload`, opaque. */
  compression?: number;
  payload?: Buffer;
  /** recordsCount/lastOffsetDelta to declare for an opaque payload (default 1). */
  payloadCount?: number;
  transactional?: boolean;
  control?: boolean;
  logAppendTime?: boolean;
  magic?: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}

export const DEFAULT_BASE_TIMESTAMP = 1_700_000_000_000;

function zigzagVarint(value: number): Buffer {
  // zig-zag then base-128, with plain arithmetic so varlongs above 2^31 work
  let n = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

function bytesField(v: Buffer | string | null | undefined): Buffer[] {
  if (v === null || v === undefined) return [zigzagVarint(-1)];
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return [zigzagVarint(b.length), b];
}

export function encodeRecord(r: RecordSpec, offsetDelta: number, timestampDelta: number): Buffer {
  const headers = r.headers ?? [];
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    zigzagVarint(timestampDelta),
    zigzagVarint(offsetDelta),
    ...bytesField(r.key),
    ...bytesField(r.value),
    zigzagVarint(headers.length),
    ...headers.flatMap((h) => [...bytesField(h.key), ...bytesField(h.value)]),
  ]);
  return Buffer.concat([zigzagVarint(body.length), body]);
}

export function buildBatch(spec: BatchSpec = {}): Buffer {
  const baseTimestamp = spec.baseTimestamp ?? DEFAULT_BASE_TIMESTAMP;
  const step = spec.timestampStep ?? 0;
  let recordsSection: Buffer;
  let count: number;
  let maxTs = baseTimestamp;
  if (spec.compression) {
    recordsSection = spec.payload ?? Buffer.from('opaque-compressed-payload');
    count = spec.payloadCount ?? 1;
  } else {
    const records: RecordSpec[] =
      spec.records ??
      Array.from({ length: spec.count ?? 1 }, (_, i) => ({
        key: `k${i}`,
        value: Buffer.alloc(spec.valueBytes ?? 16, 0x61 + (i % 26)),
      }));
    count = records.length;
    recordsSection = Buffer.concat(
      records.map((r, i) => {
        const delta = r.timestampDelta ?? i * step;
        maxTs = Math.max(maxTs, baseTimestamp + delta);
        return encodeRecord(r, i, delta);
      }),
    );
  }
  const buf = Buffer.alloc(61 + recordsSection.length);
  buf.writeBigInt64BE(BigInt(spec.baseOffset ?? 0), 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(spec.partitionLeaderEpoch ?? 0, 12);
  buf.writeInt8(spec.magic ?? 2, 16);
  let attributes = (spec.compression ?? 0) & 0x07;
  if (spec.logAppendTime) attributes |= 0x08;
  if (spec.transactional) attributes |= 0x10;
  if (spec.control) attributes |= 0x20;
  buf.writeInt16BE(attributes, 21);
  buf.writeInt32BE(count - 1, 23);
  buf.writeBigInt64BE(BigInt(baseTimestamp), 27);
  buf.writeBigInt64BE(BigInt(spec.maxTimestamp ?? maxTs), 35);
  buf.writeBigInt64BE(BigInt(spec.producerId ?? -1), 43);
  buf.writeInt16BE(spec.producerEpoch ?? -1, 51);
  buf.writeInt32BE(spec.baseSequence ?? -1, 53);
  buf.writeInt32BE(count, 57);
  recordsSection.copy(buf, 61);
  fixCrc(buf);
  return buf;
}

/** Recomputes the CRC after a test edits covered bytes. */
export function fixCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

/** Copy with baseOffset and partitionLeaderEpoch zeroed, for comparing stored bytes with what was produced. */
export function withoutOffsetAndEpoch(batch: Buffer): Buffer {
  const copy = Buffer.from(batch);
  copy.fill(0, 0, 8);
  copy.fill(0, 12, 16);
  return copy;
}

/** Splits concatenated stored batches. */
export function splitBatches(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p + 12 <= data.length) {
    const total = data.readInt32BE(p + 8) + 12;
    out.push(data.subarray(p, p + total));
    p += total;
  }
  return out;
}

export function batchBaseOffset(batch: Buffer): number {
  return Number(batch.readBigInt64BE(0));
}
