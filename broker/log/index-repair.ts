// Rebuilding a segment's offset or time index from the segment itself, when a reader found an entry that does not
// match the batch it points at (log-read.ts). An index is only a cache of the log: a wrong entry is repaired, not a
// reason to take the partition offline. The rebuilt index replaces the one in memory and its file (atomically), so
// the next open loads the good one. If the scan itself finds the log damaged, that is corruption, not an index
// problem: CorruptLogError.
import fs from 'node:fs';
import path from 'node:path';
import { scanBatches } from './batch-scanner.ts';
import { writeFileAtomic } from './storage.ts';
import { CorruptLogError, countCorruption } from './corruption.ts';
import { OffsetIndex } from './offset-index.ts';
import { TimeIndex } from './time-index.ts';
import type { Segment } from './segment.ts';
import { BATCH_HEADER_BYTES, readBatchHeader, type BatchHeader } from './record-batch.ts';

/** What a reader needs besides the segment: the index spacing and where to say what it repaired. */
export interface ReadContext {
  indexIntervalBytes: number;
  log: (msg: string) => void;
}

/**
 * Scans the headers of the whole segment (offset continuity included) and returns the indexes Kafka's rule gives
 * (an entry once more than indexIntervalBytes passed since the last one). Throws CorruptLogError if the segment does
 * not scan cleanly to its known size and next offset.
 */
function scanIndexes(seg: Segment, interval: number): { offsets: OffsetIndex; times: TimeIndex } {
  const offsets = new OffsetIndex();
  const times = new TimeIndex();
  let since = 0;
  let maxTs = -1;
  let relOfMax = -1;
  const fd = fs.openSync(seg.logPath, 'r');
  let r;
  try {
    r = scanBatches(fd, 0, seg.size, { verifyCrc: false, minBaseOffset: seg.baseOffset }, (h, position) => {
      if (h.maxTimestamp > maxTs) {
        maxTs = h.maxTimestamp;
        relOfMax = h.baseOffset - seg.baseOffset;
      }
      if (since >= interval && position > 0) {
        offsets.append(h.baseOffset - seg.baseOffset, position);
        times.maybeAppend(maxTs, relOfMax);
        since = 0;
      }
      since += h.totalBytes;
    });
  } finally {
    fs.closeSync(fd);
  }
  if (r.problem || r.position !== seg.size || r.nextOffset !== seg.nextOffset) {
    const why = r.problem ?? `the scan ends at byte ${r.position} offset ${r.nextOffset}, the segment at ${seg.size} offset ${seg.nextOffset}`;
    throw new CorruptLogError(path.dirname(seg.logPath), seg.baseOffset, r.position, why);
  }
  if (relOfMax >= 0) times.maybeAppend(maxTs, relOfMax);
  return { offsets, times };
}

/** Replaces the segment's offset or time index (memory and file) by one rebuilt from the log, and says so. */
export function rebuildIndex(seg: Segment, ctx: ReadContext, which: 'offset' | 'time', why: string): void {
  const { offsets, times } = scanIndexes(seg, ctx.indexIntervalBytes);
  let entries: number;
  if (which === 'offset') {
    seg.offsetIndex = offsets;
    writeFileAtomic(seg.indexPath, offsets.toBuffer());
    entries = offsets.entries;
  } else {
    seg.timeIndex = times;
    writeFileAtomic(seg.timeIndexPath, times.toBuffer());
    entries = times.entries;
  }
  const dir = path.dirname(seg.logPath);
  countCorruption(dir, which === 'offset' ? 'indexRebuilds' : 'timeIndexRebuilds');
  ctx.log(`error: ${dir}: ${which} index of segment ${seg.baseOffset} is wrong (${why}); rebuilt it from the log (${entries} entries)`);
}

/** The batch header at `position` of the segment, or null when fewer than a header's bytes are there. */
export function headerAt(seg: Segment, position: number): BatchHeader | null {
  if (position < 0 || position + BATCH_HEADER_BYTES > seg.size) return null;
  const buf = seg.read(position, BATCH_HEADER_BYTES);
  return buf.length < BATCH_HEADER_BYTES ? null : readBatchHeader(buf, 0);
}
