// Record batches the broker writes itself (the replicated __consumer_offsets topic): magic 2,
// uncompressed, no producer id, values only. Client batches are never built here; they are stored
// exactly as clients send them. Reading handles only batches built by this file.
import { crc32c } from '@node-rs/crc32';
import { KafkaError, ErrorCode } from '../protocol/errors.ts';
import {
  ATTR_COMPRESSION_MASK,
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  OFF_ATTRIBUTES,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_RECORDS_COUNT,
  computeBatchCrc,
  readBatchHeader,
  readVarint,
  writeInt64,
} from './record-batch.ts';

function varint(value: number, out: number[]): void {
  let n = value >= 0 ? value * 2 : -value * 2 - 1; // zig-zag, in plain arithmetic for values past 2^31
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
}


/** One batch holding one record per value (no key, no headers), timestamps all `timestampMs`. */
export function buildValueBatch(values: readonly Buffer[], timestampMs: number): Buffer {
  if (values.length === 0) throw new RangeError('a batch needs at least one record');
  const records: Buffer[] = values.map((value, i) => {
    const body: number[] = [0]; // attributes
    varint(0, body); // timestamp delta
    varint(i, body); // offset delta
    varint(-1, body); // null key
    varint(value.length, body);
    const head = Buffer.from(body);
    const tail: number[] = [];
    varint(0, tail); // no headers
    const len: number[] = [];
    varint(head.length + value.length + tail.length, len);
    return Buffer.concat([Buffer.from(len), head, value, Buffer.from(tail)]);
  });
  const recordBytes = records.reduce((n, r) => n + r.length, 0);
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + recordBytes);
  writeInt64(batch, 0, 0);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, OFF_BATCH_LENGTH);
  batch.writeInt32BE(0, 12); // partition leader epoch: stamped on append
  batch.writeInt8(2, 16);
  batch.writeInt16BE(0, OFF_ATTRIBUTES);
  batch.writeInt32BE(values.length - 1, 23);
  writeInt64(batch, 27, timestampMs);
  writeInt64(batch, 35, timestampMs);
  writeInt64(batch, 43, -1); // no producer id
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(values.length, OFF_RECORDS_COUNT);
  let at = BATCH_HEADER_BYTES;
  for (const r of records) at += r.copy(batch, at);
  batch.writeUInt32BE(computeBatchCrc(batch), OFF_CRC);
  return batch;
}

/** The record values of each whole batch in `chunk` (uncompressed batches, CRC checked). */
export function readBatchValues(chunk: Buffer): Buffer[] {
  const values: Buffer[] = [];
  for (let at = 0; at + BATCH_HEADER_BYTES <= chunk.length; ) {
    const header = readBatchHeader(chunk, at);
    const end = at + LOG_OVERHEAD + header.batchLength;
    if (end > chunk.length) break;
    const batch = chunk.subarray(at, end);
    if ((header.attributes & ATTR_COMPRESSION_MASK) !== 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'internal batches are never compressed');
    if (crc32c(batch.subarray(OFF_ATTRIBUTES)) !== batch.readUInt32BE(OFF_CRC)) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `batch at offset ${header.baseOffset} fails its CRC`);
    const pos = { at: BATCH_HEADER_BYTES };
    for (let i = 0; i < header.recordsCount; i++) {
      const length = readVarint(batch, pos);
      const recordEnd = pos.at + length;
      pos.at += 1; // attributes
      readVarint(batch, pos); // timestamp delta
      readVarint(batch, pos); // offset delta
      const keyLength = readVarint(batch, pos);
      if (keyLength > 0) pos.at += keyLength;
      const valueLength = readVarint(batch, pos);
      if (valueLength >= 0) {
        if (pos.at + valueLength > recordEnd || recordEnd > batch.length) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'record value runs past its record');
        values.push(batch.subarray(pos.at, pos.at + valueLength));
      }
      pos.at = recordEnd;
    }
    at = end;
  }
  return values;
}
