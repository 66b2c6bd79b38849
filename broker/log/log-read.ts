// Read paths over a partition's segments: Fetch (whole batches, normally one positional read) and ListOffsets by
// timestamp (time index, then a header scan).
//
// Nothing is served on trust. Every read checks what it walks over: the index entry it starts from must point at a
// batch that starts at the entry's offset (else the index is rebuilt from the log and the read retried), each batch
// header must be plausible and start right after the previous batch's last offset (the first batch of a segment at the
// segment's base offset, which is the previous segment's next offset), and every batch returned is CRC-32C checked
// unless this process already checked those bytes (see VerifiedRanges). A failure throws CorruptLogError, which the
// log turns into taking the partition offline (corruption.ts): the client gets KAFKA_STORAGE_ERROR, never the bytes.
import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { continuityProblem, headerProblem, scanBatches, type ScanResult } from './batch-scanner.ts';
import { CorruptLogError } from './corruption.ts';
import { headerAt, rebuildIndex, type ReadContext } from './index-repair.ts';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_TIMESTAMP_TYPE,
  BATCH_HEADER_BYTES,
  OFF_ATTRIBUTES,
  findRecordAtTimestamp,
  readBatchHeader,
  type BatchHeader,
} from './record-batch.ts';
import type { Segment } from './segment.ts';

export type { ReadContext } from './index-repair.ts';

export interface ReadResult {
  /** Whole batches, in order; views into freshly read buffers (safe to hand to a socket). */
  chunks: Buffer[];
  bytes: number;
}

export const EMPTY_READ: ReadResult = { chunks: [], bytes: 0 };

/**
 * When a returned batch's CRC-32C is checked. 'first-read' (the default): once per byte range per process, as the
 * broker keeps no page cache of its own (bench/fetch-checks.ts measured the cost; docs/broker.md, "Corruption").
 * 'every-read' checks every batch every time. Bytes already checked can still rot on disk later; the scrubber
 * (scrubber.ts) re-reads sealed segments for that.
 */
export type ReadCrcPolicy = 'first-read' | 'every-read';
let crcPolicy: ReadCrcPolicy = 'first-read';

/** Sets the read CRC policy of this process (benchmarks; the broker keeps the default). Returns the previous one. */
export function setReadCrcPolicy(p: ReadCrcPolicy): ReadCrcPolicy {
  const prev = crcPolicy;
  crcPolicy = p;
  return prev;
}

/**
 * Per segment, one byte range [from, to) whose batches this process has CRC-checked. A read contiguous with the range
 * extends it; a read elsewhere replaces it when it lies further on (consumers at the tail are the common case). So a
 * consumer that reads a segment front to back checks each batch once, and another group replaying it checks nothing
 * again. A segment that shrank (truncation) forgets its range. A WeakMap: it goes with the segment.
 */
const verified = new WeakMap<Segment, { from: number; to: number }>();

function isVerified(seg: Segment, from: number, to: number): boolean {
  const r = verified.get(seg);
  return r !== undefined && r.to <= seg.size && from >= r.from && to <= r.to;
}

function markVerified(seg: Segment, from: number, to: number): void {
  const r = verified.get(seg);
  if (r && r.to <= seg.size && from <= r.to && to >= r.from) {
    r.from = Math.min(r.from, from);
    r.to = Math.max(r.to, to);
  } else if (!r || r.to > seg.size || from > r.to) {
    verified.set(seg, { from, to });
  }
}

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

const dirOf = (seg: Segment): string => path.dirname(seg.logPath);

interface IndexStart {
  /** The floor entry's number, -1 when the scan starts at byte 0. */
  entry: number;
  position: number;
  /** The offset the entry says the batch at `position` starts at. */
  baseOffset: number;
}

/** The floor entry of the offset index for `offset` (unverified). */
function indexStart(seg: Segment, offset: number): IndexStart {
  const entry = seg.offsetIndex.floorEntry(offset - seg.baseOffset);
  if (entry < 0) return { entry, position: 0, baseOffset: seg.baseOffset };
  return { entry, position: seg.offsetIndex.positionAt(entry), baseOffset: seg.baseOffset + seg.offsetIndex.relOffsetAt(entry) };
}

/** Why the index entry `s` does not match the header `h` found at its position (null: it matches). */
function entryProblem(seg: Segment, s: IndexStart, h: BatchHeader | null): string | null {
  if (s.entry < 0) return null;
  if (h === null) return `entry ${s.entry} points at byte ${s.position}, past the end`;
  if (h.baseOffset !== s.baseOffset || headerProblem(h, seg.baseOffset, seg.size - s.position) !== null) {
    return `entry ${s.entry} says offset ${s.baseOffset} is at byte ${s.position}, but the batch there starts at ${h.baseOffset}`;
  }
  return null;
}

/**
 * Where to start scanning for `offset`: the floor entry of the offset index, verified against the header of the batch
 * it points at (it must start exactly at the entry's offset). A wrong entry gets the index rebuilt from the log
 * (logged and counted) and the lookup repeated once. Returns the position and the offset the batch there starts at.
 */
function startFor(seg: Segment, offset: number, ctx: ReadContext): IndexStart {
  for (let attempt = 0; ; attempt++) {
    const s = indexStart(seg, offset);
    const wrong = s.entry < 0 ? null : entryProblem(seg, s, headerAt(seg, s.position));
    if (wrong === null) return s;
    if (attempt > 0) throw new CorruptLogError(dirOf(seg), seg.baseOffset, s.position, `offset index still wrong after a rebuild: ${wrong}`);
    rebuildIndex(seg, ctx, 'offset', wrong);
  }
}

/** Throws CorruptLogError unless `h` is a plausible header that starts at `expected` and ends within the segment. */
function checkHeader(seg: Segment, h: BatchHeader, position: number, expected: number): void {
  const problem =
    headerProblem(h, expected, seg.size - position) ??
    continuityProblem(h, expected) ??
    (h.lastOffset >= seg.nextOffset ? `batch ends at offset ${h.lastOffset}, past the segment's end ${seg.nextOffset - 1}` : null);
  if (problem) throw new CorruptLogError(dirOf(seg), seg.baseOffset, position, problem);
}

/**
 * Whole batches from the first one with lastOffset >= offset, within one segment (the next fetch continues in the
 * next segment), up to maxBytes (or the whole first batch when minOneBatch), stopping before a batch whose baseOffset
 * reaches `limit`. Null when the segment has no batch with lastOffset >= offset. Checks what it reads (see the top of
 * this file) and throws CorruptLogError on damage.
 */
export function readSegment(
  seg: Segment,
  offset: number,
  maxBytes: number,
  minOneBatch: boolean,
  limit: number,
  ctx: ReadContext,
  retried = false,
): ReadResult | null {
  if (offset >= seg.nextOffset) return null;
  const start = indexStart(seg, offset);
  let expected = start.baseOffset;
  // The index entry is at most ~indexIntervalBytes before the target batch, so one read normally covers both the
  // skipped batches and the answer.
  let bufPos = start.position;
  let buf = seg.read(bufPos, Math.max(0, Math.min(seg.size - bufPos, ctx.indexIntervalBytes + BATCH_HEADER_BYTES + maxBytes)));
  // The entry is verified against the first header of that same read (no extra I/O); a wrong one is rebuilt once.
  const wrong = entryProblem(seg, start, buf.length >= BATCH_HEADER_BYTES ? readBatchHeader(buf, 0) : null);
  if (wrong !== null) {
    if (retried) throw new CorruptLogError(dirOf(seg), seg.baseOffset, start.position, `offset index still wrong after a rebuild: ${wrong}`);
    rebuildIndex(seg, ctx, 'offset', wrong);
    return readSegment(seg, offset, maxBytes, minOneBatch, limit, ctx, true);
  }
  let p = 0;
  let h: BatchHeader;
  // 1. Skip to the first batch with lastOffset >= offset.
  for (;;) {
    if (bufPos + p >= seg.size) return null;
    if (p + BATCH_HEADER_BYTES > buf.length) {
      bufPos += p; // index sparser than expected: continue from here
      p = 0;
      buf = seg.read(bufPos, Math.min(seg.size - bufPos, Math.max(maxBytes, 1 << 16) + BATCH_HEADER_BYTES));
      if (buf.length < BATCH_HEADER_BYTES) {
        throw new CorruptLogError(dirOf(seg), seg.baseOffset, bufPos, `the file is shorter than the ${seg.size} bytes the log holds`);
      }
      continue;
    }
    h = readBatchHeader(buf, p);
    checkHeader(seg, h, bufPos + p, expected);
    if (h.lastOffset >= offset) break;
    expected = h.lastOffset + 1;
    p += h.totalBytes;
  }
  // 2. Make sure the buffer holds what may be returned: min(maxBytes, rest of segment), or the whole first batch.
  const want = Math.min(seg.size - (bufPos + p), Math.max(maxBytes, minOneBatch ? h.totalBytes : 0));
  if (buf.length - p < want) {
    bufPos += p;
    p = 0;
    buf = seg.read(bufPos, want);
  }
  // 3. Take whole batches.
  const first = p;
  let end = p;
  while (end + BATCH_HEADER_BYTES <= buf.length) {
    const b = readBatchHeader(buf, end);
    if (b.baseOffset >= limit && b.baseOffset === expected) break;
    checkHeader(seg, b, bufPos + end, expected);
    if (end + b.totalBytes > buf.length) break;
    if (end - first + b.totalBytes > maxBytes && !(end === first && minOneBatch)) break;
    end += b.totalBytes;
    expected = b.lastOffset + 1;
  }
  if (end === first) return EMPTY_READ;
  checkCrcs(seg, buf, first, end, bufPos);
  return { chunks: [buf.subarray(first, end)], bytes: end - first };
}

/** CRC-32C of each batch in buf[from, to) (file position bufPos + from), unless already verified by this process. */
function checkCrcs(seg: Segment, buf: Buffer, from: number, to: number, bufPos: number): void {
  if (crcPolicy === 'first-read' && isVerified(seg, bufPos + from, bufPos + to)) return;
  for (let p = from; p < to; ) {
    const h = readBatchHeader(buf, p);
    const crc = crc32c(buf.subarray(p + OFF_ATTRIBUTES, p + h.totalBytes));
    if (crc !== h.crc) {
      throw new CorruptLogError(
        dirOf(seg),
        seg.baseOffset,
        bufPos + p,
        `CRC-32C mismatch in the batch at offset ${h.baseOffset} (stored 0x${h.crc.toString(16)}, computed 0x${crc.toString(16)})`,
      );
    }
    p += h.totalBytes;
  }
  markVerified(seg, bufPos + from, bufPos + to);
}

/**
 * The first batch at or after logStartOffset whose maxTimestamp >= ts, refined to the first record with timestamp
 * >= ts when the batch is uncompressed CreateTime; a compressed batch answers with its first offset and first
 * timestamp (the broker never decompresses), a LogAppendTime batch with its first offset and append time. The time
 * index entry used is verified against its batch (rebuilt on mismatch) and the scanned headers checked like a Fetch.
 */
export function findOffsetForTimestamp(
  segments: readonly Segment[],
  timestampMs: number,
  logStartOffset: number,
  ctx: ReadContext,
): { offset: number; timestampMs: number } | null {
  for (const seg of segments) {
    if (seg.maxTimestamp < timestampMs || seg.nextOffset <= logStartOffset) continue;
    const hit = findInSegment(seg, timestampMs, logStartOffset, ctx);
    if (!hit) continue;
    const { header: h, position } = hit;
    let result = { offset: h.baseOffset, timestampMs: h.baseTimestamp };
    if ((h.attributes & ATTR_TIMESTAMP_TYPE) !== 0) {
      result = { offset: h.baseOffset, timestampMs: h.maxTimestamp };
    } else if ((h.attributes & ATTR_COMPRESSION_MASK) === 0) {
      const batch = seg.read(position, h.totalBytes);
      const crc = crc32c(batch.subarray(OFF_ATTRIBUTES));
      if (crc !== h.crc) throw new CorruptLogError(dirOf(seg), seg.baseOffset, position, `CRC-32C mismatch in the batch at offset ${h.baseOffset}`);
      result = findRecordAtTimestamp(batch, timestampMs);
    }
    return { offset: Math.max(result.offset, logStartOffset), timestampMs: result.timestampMs };
  }
  return null;
}

/** The first batch of one segment, at or after the time index's hint, with maxTimestamp >= ts; null if none. */
function findInSegment(
  seg: Segment,
  timestampMs: number,
  logStartOffset: number,
  ctx: ReadContext,
): { header: BatchHeader; position: number } | null {
  for (let attempt = 0; ; attempt++) {
    const e = seg.timeIndex.entryBefore(timestampMs);
    const rel = e >= 0 ? seg.timeIndex.relOffsetAt(e) : -1;
    const from = Math.max(rel >= 0 ? seg.baseOffset + rel : seg.baseOffset, logStartOffset);
    const start = startFor(seg, from, ctx);
    let found: { header: BatchHeader; position: number } | null = null;
    let entryWrong: string | null = null;
    // Its own descriptor: ListOffsets by timestamp is rare, and Segment keeps its descriptor to itself.
    const fd = fs.openSync(seg.logPath, 'r');
    let r: ScanResult;
    try {
      r = scanBatches(fd, start.position, seg.size, { verifyCrc: false, minBaseOffset: start.baseOffset, exactFirst: true }, (h, position) => {
        if (h.lastOffset < from) return true;
        // An entry (T, O) says the batch at O is the first to reach T: anything else means the entry is wrong.
        if (e >= 0 && h.baseOffset === seg.baseOffset + rel && h.maxTimestamp !== seg.timeIndex.timestampAt(e)) {
          entryWrong = `entry ${e} says the batch at offset ${h.baseOffset} has max timestamp ${seg.timeIndex.timestampAt(e)}, it has ${h.maxTimestamp}`;
          return false;
        }
        if (h.maxTimestamp < timestampMs) return true;
        found = { header: h, position };
        return false;
      });
    } finally {
      fs.closeSync(fd);
    }
    if (r.problem) throw new CorruptLogError(dirOf(seg), seg.baseOffset, r.position, r.problem);
    if (entryWrong === null) return found;
    if (attempt > 0) throw new CorruptLogError(dirOf(seg), seg.baseOffset, r.position, `time index still wrong after a rebuild: ${entryWrong}`);
    rebuildIndex(seg, ctx, 'time', entryWrong);
  }
}
