// Decodes the records of stored batches for the inspection API (testing/inspect.ts): what a test reads back from a
// topic without a Kafka client. The broker itself never decodes client records (it stores batches as sent), so this
// is the one full record decoder in the broker, kept out of the serving path.
//
// Record batches v2 (Kafka's DefaultRecordBatch): a 61-byte header, then `recordsCount` records, each
//   length:varint attributes:int8 timestampDelta:varlong offsetDelta:varint key:bytes value:bytes headers:[key value]
// with varint-prefixed bytes (-1 = null). The records section is compressed as a whole when the batch's codec is set.
// gzip and zstd are decompressed with node:zlib (zstd needs a Node with zlib.zstdDecompressSync, 22.15 or newer);
// snappy and lz4 batches are refused with a clear error: no Node built-in decodes them, and the inspection API is not
// worth a native dependency (a test that sends them can read them back with its client).
import { gunzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_TIMESTAMP_TYPE, BATCH_HEADER_BYTES, LOG_OVERHEAD, readBatchHeader, readVarint } from '../log/record-batch.ts';

/** One record as a test sees it. */
export interface InspectedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** CreateTime, or the broker's append time for a LogAppendTime batch. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

class Cursor {
  at = 0;
  constructor(private readonly buf: Buffer) {}

  varint(): number {
    return readVarint(this.buf, this);
  }

  bytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    if (this.at + length > this.buf.length) throw new Error('record bytes run past their batch');
    const out = Buffer.from(this.buf.subarray(this.at, this.at + length));
    this.at += length;
    return out;
  }

  skip(n: number): void {
    this.at += n;
  }
}

function decompress(codec: number, body: Buffer, where: string): Buffer {
  if (codec === 0) return body;
  if (codec === 1) return gunzipSync(body);
  const zstd = (zlib as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;
  if (codec === 4 && zstd) return zstd(body);
  throw new Error(`${where}: cannot decode a ${CODEC_NAMES[codec] ?? `codec ${codec}`} batch here (gzip, zstd on Node 22.15+ and uncompressed only); read it with a Kafka client`);
}

/** The records of every whole batch in `chunk` (batches as stored), control batches (transaction markers) left out. */
export function decodeBatches(chunk: Buffer, topic: string, partition: number): InspectedRecord[] {
  const out: InspectedRecord[] = [];
  for (let at = 0; at + BATCH_HEADER_BYTES <= chunk.length; ) {
    const h = readBatchHeader(chunk, at);
    const end = at + LOG_OVERHEAD + h.batchLength;
    if (end > chunk.length) break;
    if ((h.attributes & ATTR_CONTROL) === 0) {
      const body = decompress(h.attributes & ATTR_COMPRESSION_MASK, chunk.subarray(at + BATCH_HEADER_BYTES, end), `${topic}-${partition} at offset ${h.baseOffset}`);
      const appendTime = (h.attributes & ATTR_TIMESTAMP_TYPE) !== 0;
      const c = new Cursor(body);
      for (let i = 0; i < h.recordsCount; i++) {
        const length = c.varint();
        const recordEnd = c.at + length;
        c.skip(1); // attributes
        const timestampDelta = c.varint();
        const offsetDelta = c.varint();
        const key = c.bytes();
        const value = c.bytes();
        const headers: InspectedRecord['headers'] = [];
        for (let n = c.varint(); n > 0; n--) {
          const hk = c.bytes();
          headers.push({ key: hk === null ? '' : hk.toString('utf8'), value: c.bytes() });
        }
        c.at = recordEnd;
        out.push({ topic, partition, offset: h.baseOffset + offsetDelta, timestamp: appendTime ? h.maxTimestamp : h.baseTimestamp + timestampDelta, key, value, headers });
      }
    }
    at = end;
  }
  return out;
}
