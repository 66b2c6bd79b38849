// Read paths over a partition's segments: Fetch (whole batches, normally one positional read) and ListOffsets by
// timestamp (time index, then a header scan).
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_TIMESTAMP_TYPE,
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  OFF_BATCH_LENGTH,
  OFF_LAST_OFFSET_DELTA,
  findRecordAtTimestamp,
  readInt64,
} from './record-batch.ts';
import type { Segment } from './segment.ts';

export interface ReadResult {
  /** Whole batches, in order; views into freshly read buffers (safe to hand to a socket). */
  chunks: Buffer[];
  bytes: number;
}

export const EMPTY_READ: ReadResult = { chunks: [], bytes: 0 };

/** Index of the last segment with baseOffset <= offset (0 if none). */
export function floorSegment(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid].baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Whole batches from the first one with lastOffset >= offset, within one segment (the next fetch continues in the
 * next segment), up to maxBytes (or the whole first batch when minOneBatch), stopping before a batch whose baseOffset
 * reaches `limit`. Null when the segment has no batch with lastOffset >= offset.
 */
export function readSegment(
  seg: Segment,
  offset: number,
  maxBytes: number,
  minOneBatch: boolean,
  limit: number,
  indexIntervalBytes: number,
): ReadResult | null {
  if (offset >= seg.nextOffset) return null;
  // The index entry is at most ~indexIntervalBytes before the target batch, so one read normally covers both the
  // skipped batches and the answer.
  let bufPos = seg.offsetIndex.lookup(offset - seg.baseOffset);
  let buf = seg.read(bufPos, Math.min(seg.size - bufPos, indexIntervalBytes + BATCH_HEADER_BYTES + maxBytes));
  let p = 0;
  const totalAt = (at: number): number => {
    const total = buf.readInt32BE(at + OFF_BATCH_LENGTH) + LOG_OVERHEAD;
    if (total < BATCH_HEADER_BYTES) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `corrupt batch at byte ${bufPos + at} of ${seg.logPath}`);
    }
    return total;
  };
  // 1. Skip to the first batch with lastOffset >= offset.
  for (;;) {
    if (bufPos + p >= seg.size) return null;
    if (p + BATCH_HEADER_BYTES > buf.length) {
      bufPos += p; // index sparser than expected: continue from here
      p = 0;
      buf = seg.read(bufPos, Math.min(seg.size - bufPos, Math.max(maxBytes, 1 << 16) + BATCH_HEADER_BYTES));
      if (buf.length < BATCH_HEADER_BYTES) {
        // the file is shorter than we think: changed behind our back
        throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${seg.logPath} is shorter than expected at byte ${bufPos}`);
      }
      continue;
    }
    if (readInt64(buf, p) + buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA) >= offset) break;
    p += totalAt(p);
  }
  // 2. Make sure the buffer holds what may be returned: min(maxBytes, rest of segment), or the whole first batch.
  const firstTotal = totalAt(p);
  const want = Math.min(seg.size - (bufPos + p), Math.max(maxBytes, minOneBatch ? firstTotal : 0));
  if (buf.length - p < want) {
    bufPos += p;
    p = 0;
    buf = seg.read(bufPos, want);
  }
  // 3. Take whole batches.
  const start = p;
  let end = p;
  while (end + BATCH_HEADER_BYTES <= buf.length) {
    if (readInt64(buf, end) >= limit) break;
    const total = totalAt(end);
    if (end + total > buf.length) break;
    if (end - start + total > maxBytes && !(end === start && minOneBatch)) break;
    end += total;
  }
  if (end === start) return EMPTY_READ;
  return { chunks: [buf.subarray(start, end)], bytes: end - start };
}

/**
 * The first batch at or after logStartOffset whose maxTimestamp >= ts, refined to the first record with timestamp
 * >= ts when the batch is uncompressed CreateTime; a compressed batch answers with its first offset and first
 * timestamp (the broker never decompresses), a LogAppendTime batch with its first offset and append time.
 */
export function findOffsetForTimestamp(
  segments: readonly Segment[],
  timestampMs: number,
  logStartOffset: number,
): { offset: number; timestampMs: number } | null {
  for (const seg of segments) {
    if (seg.maxTimestamp < timestampMs || seg.nextOffset <= logStartOffset) continue;
    const rel = seg.timeIndex.lookupBefore(timestampMs);
    const from = Math.max(rel >= 0 ? seg.baseOffset + rel : seg.baseOffset, logStartOffset);
    const hit = seg.findBatch(from, (h) => h.maxTimestamp >= timestampMs);
    if (!hit) continue;
    const { header: h, position } = hit;
    let result = { offset: h.baseOffset, timestampMs: h.baseTimestamp };
    if ((h.attributes & ATTR_TIMESTAMP_TYPE) !== 0) {
      result = { offset: h.baseOffset, timestampMs: h.maxTimestamp };
    } else if ((h.attributes & ATTR_COMPRESSION_MASK) === 0) {
      result = findRecordAtTimestamp(seg.read(position, h.totalBytes), timestampMs);
    }
    return { offset: Math.max(result.offset, logStartOffset), timestampMs: result.timestampMs };
  }
  return null;
}
