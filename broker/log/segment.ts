// One segment: `<20-digit baseOffset>.log` holding whole batches back to back, plus its sparse `.index` and
// `.timeindex`. The indexes live in memory (typed arrays) and are written to disk only when the segment is sealed
// (rolled) or the log is closed; an unclean stop rebuilds them from the log during recovery.
import fs from 'node:fs';
import path from 'node:path';
import { OffsetIndex } from './offset-index.ts';
import { TimeIndex } from './time-index.ts';
import { readFully, scanBatches, type ScanResult } from './batch-scanner.ts';
import { BATCH_HEADER_BYTES, OFF_MAX_TIMESTAMP, readInt64, type BatchHeader } from './record-batch.ts';
import { storage, writeAll, writeWholeFile, type Storage } from './storage.ts';
import { openFiles, type LazyFile } from './storage-open-files.ts';

export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`;
}

export interface BatchLocation {
  header: BatchHeader;
  position: number;
}

/**
 * Its file is opened lazily and may be closed at any time by the open-files bound (storage-open-files.ts); every use
 * goes through handle(), which reopens it.
 */
export class Segment implements LazyFile {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Bytes in the .log file. */
  size = 0;
  /** lastOffset + 1 of the last batch, or baseOffset when empty. */
  nextOffset: number;
  /** Largest batch maxTimestamp in the segment, -1 if none. */
  maxTimestamp = -1;
  offsetIndex = new OffsetIndex();
  timeIndex = new TimeIndex();
  private relOffsetOfMaxTimestamp = -1;
  private bytesSinceIndexEntry = 0;
  private firstBatchTimestamp: number | undefined;
  private fd: number | null = null;
  private fdStorage: Storage | null = null;
  /** In-memory indexes differ from the files on disk (written by writeIndexes at roll/close). */
  private indexesDirty = false;
  /** Appended since the last fsync. */
  private dataDirty = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    readonly createdMs: number,
  ) {
    this.logPath = path.join(dir, segmentFileName(baseOffset, '.log'));
    this.indexPath = path.join(dir, segmentFileName(baseOffset, '.index'));
    this.timeIndexPath = path.join(dir, segmentFileName(baseOffset, '.timeindex'));
    this.nextOffset = baseOffset;
  }

  /** A new, empty segment (any stale files with the same name are replaced). */
  static create(dir: string, baseOffset: number, nowMs: number): Segment {
    const seg = new Segment(dir, baseOffset, nowMs);
    const s = storage();
    seg.fd = s.open(seg.logPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    seg.fdStorage = s;
    openFiles.opened(seg);
    s.unlink(seg.indexPath);
    s.unlink(seg.timeIndexPath);
    seg.firstBatchTimestamp = -1;
    return seg;
  }

  /** An existing segment; the caller then loads or rebuilds its indexes. */
  static open(dir: string, baseOffset: number, nowMs: number): Segment {
    const seg = new Segment(dir, baseOffset, nowMs);
    seg.size = fs.statSync(seg.logPath).size;
    return seg;
  }

  private handle(): number {
    if (this.fd === null) {
      this.fdStorage = storage();
      this.fd = this.fdStorage.open(this.logPath, fs.constants.O_RDWR);
      openFiles.opened(this);
    } else {
      openFiles.used(this);
    }
    return this.fd;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Timestamp that drives segment.ms rolling: the first batch's maxTimestamp (-1 if none or empty). */
  rollingTimestamp(): number {
    if (this.firstBatchTimestamp === undefined) {
      if (this.size < BATCH_HEADER_BYTES) {
        this.firstBatchTimestamp = -1;
      } else {
        const buf = Buffer.allocUnsafe(8);
        readFully(this.handle(), buf, 0, 8, OFF_MAX_TIMESTAMP);
        this.firstBatchTimestamp = readInt64(buf, 0);
      }
    }
    return this.firstBatchTimestamp;
  }

  /**
   * Writes one whole batch (offsets already assigned) at the end of the file. Synchronous, so concurrent appends
   * are impossible and the file order is the offset order. On a write error, the partial bytes are cut off again.
   */
  append(batch: Buffer, baseOffset: number, lastOffset: number, maxTimestamp: number, indexInterval: number, fsync: boolean): void {
    const fd = this.handle();
    const position = this.size;
    try {
      writeAll(fd, batch, position);
      if (fsync) storage().fdatasync(fd);
    } catch (err) {
      try {
        storage().ftruncate(fd, position);
      } catch {
        // the next recovery will cut the torn batch
      }
      throw err;
    }
    if (this.size === 0) this.firstBatchTimestamp = maxTimestamp;
    this.dataDirty = !fsync;
    this.track(baseOffset, lastOffset, maxTimestamp, position, batch.length, indexInterval);
  }

  /** Index bookkeeping shared by append and rebuild (Kafka's rule: index a batch once > interval bytes passed). */
  private track(baseOffset: number, lastOffset: number, maxTs: number, position: number, bytes: number, interval: number): void {
    if (maxTs > this.maxTimestamp) {
      this.maxTimestamp = maxTs;
      this.relOffsetOfMaxTimestamp = baseOffset - this.baseOffset;
    }
    if (this.bytesSinceIndexEntry >= interval && position > 0) {
      this.offsetIndex.append(baseOffset - this.baseOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.relOffsetOfMaxTimestamp);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += bytes;
    this.indexesDirty = true;
    this.size = position + bytes;
    this.nextOffset = lastOffset + 1;
  }

  /**
   * Rebuilds indexes, size, nextOffset and maxTimestamp by scanning the log file (CRC-checked in recovery).
   * Stops at the first torn or corrupt batch and reports it; the caller decides whether to truncate there.
   */
  rebuild(verifyCrc: boolean, indexInterval: number): ScanResult {
    const fileSize = fs.statSync(this.logPath).size;
    this.resetIndexState();
    const result = scanBatches(
      this.handle(),
      0,
      fileSize,
      { verifyCrc, minBaseOffset: this.baseOffset },
      (h, position) => {
        if (position === 0) this.firstBatchTimestamp = h.maxTimestamp;
        this.track(h.baseOffset, h.lastOffset, h.maxTimestamp, position, h.totalBytes, indexInterval);
      },
    );
    this.size = result.position;
    this.indexesDirty = true;
    return result;
  }

  private resetIndexState(): void {
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.size = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.relOffsetOfMaxTimestamp = -1;
    this.bytesSinceIndexEntry = 0;
    this.firstBatchTimestamp = undefined;
    this.indexesDirty = true;
  }

  /**
   * Loads `.index`/`.timeindex` for a trusted segment whose size and nextOffset are known (from a checkpoint).
   * Returns false if the files are missing or implausible, in which case the caller rebuilds from the log.
   */
  loadIndexes(nextOffset: number, maxTimestamp: number): boolean {
    let off: OffsetIndex | null;
    let time: TimeIndex | null;
    try {
      off = OffsetIndex.fromBuffer(fs.readFileSync(this.indexPath), this.size);
      time = TimeIndex.fromBuffer(fs.readFileSync(this.timeIndexPath), nextOffset - this.baseOffset);
    } catch {
      return false;
    }
    // A sealed time index ends with the segment's max timestamp (writeIndexes adds it).
    if (!off || !time || time.lastTimestamp !== Math.max(-1, maxTimestamp)) return false;
    this.offsetIndex = off;
    this.timeIndex = time;
    this.nextOffset = nextOffset;
    this.maxTimestamp = maxTimestamp;
    this.relOffsetOfMaxTimestamp = time.lastRelOffset;
    // Not exact after a reload (Kafka resets it too); only spaces the next index entry.
    this.bytesSinceIndexEntry = this.size - off.lastPosition;
    return true;
  }

  /**
   * Seals the segment (roll or close): final time index entry, then both index files (if they changed), fsynced so
   * that a segment recorded as trusted has its indexes on disk too (their directory entries need a directory fsync).
   */
  writeIndexes(): void {
    if (!this.indexesDirty) return;
    if (this.relOffsetOfMaxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.relOffsetOfMaxTimestamp);
    writeWholeFile(this.indexPath, this.offsetIndex.toBuffer(), true);
    writeWholeFile(this.timeIndexPath, this.timeIndex.toBuffer(), true);
    this.indexesDirty = false;
  }

  /** Reads `length` bytes at `position` into a fresh buffer (may be shorter at EOF). */
  read(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = readFully(this.handle(), buf, 0, length, position);
    return n === length ? buf : buf.subarray(0, n);
  }

  /**
   * The first batch with lastOffset >= offset (the one containing it, or the next one after a gap), found by an
   * index lookup and a header scan of at most ~indexIntervalBytes. Null if the segment has no such batch.
   */
  locate(offset: number): BatchLocation | null {
    let found: BatchLocation | null = null;
    this.forEachBatch(offset, (header, position) => {
      found = { header, position };
      return false;
    });
    return found;
  }

  /** Visits batches (headers only) from the batch containing `fromOffset` to the end; return false to stop. */
  forEachBatch(fromOffset: number, fn: (h: BatchHeader, position: number) => boolean | void): void {
    if (fromOffset >= this.nextOffset) return;
    const start = this.offsetIndex.lookup(Math.max(0, fromOffset - this.baseOffset));
    scanBatches(this.handle(), start, this.size, { verifyCrc: false, minBaseOffset: this.baseOffset }, (h, p) =>
      h.lastOffset < fromOffset ? true : fn(h, p),
    );
  }

  /**
   * Cuts the log file at `position` (a batch boundary) so that the segment ends just before `nextOffset`, and
   * repairs the indexes and maxTimestamp: entries at or after the cut go, and maxTimestamp is recomputed from the
   * last surviving time index entry plus a header scan from that entry's batch to the cut (an entry (T, O) says every
   * batch before O is below T, so nothing earlier can hold a larger timestamp).
   */
  truncateToPosition(position: number, nextOffset: number): void {
    storage().ftruncate(this.handle(), position);
    this.dataDirty = true;
    if (position === 0) {
      this.resetIndexState();
      this.firstBatchTimestamp = -1;
      return;
    }
    this.size = position;
    this.nextOffset = nextOffset;
    this.offsetIndex.truncateToPosition(position);
    this.timeIndex.truncateToRelOffset(nextOffset - this.baseOffset);
    let maxTs = this.timeIndex.lastTimestamp;
    let rel = this.timeIndex.lastRelOffset;
    const scanFrom = rel >= 0 ? this.offsetIndex.lookup(rel) : 0;
    scanBatches(this.handle(), scanFrom, position, { verifyCrc: false, minBaseOffset: this.baseOffset }, (h) => {
      if (h.maxTimestamp > maxTs) {
        maxTs = h.maxTimestamp;
        rel = h.baseOffset - this.baseOffset;
      }
    });
    this.maxTimestamp = maxTs;
    this.relOffsetOfMaxTimestamp = rel;
    this.bytesSinceIndexEntry = position - this.offsetIndex.lastPosition;
    this.indexesDirty = true;
  }

  /**
   * fsync the log file if anything changed since the last one (roll, flush policy, clean shutdown), or always when
   * `force` (after an unclean stop, what recovery kept may still be only in the page cache).
   */
  flush(force = false): void {
    // fsync through any descriptor flushes the file's dirty pages, so a segment whose file was closed is reopened.
    if (this.dataDirty || force) storage().fsync(this.handle());
    this.dataDirty = false;
  }

  closeFile(): void {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    openFiles.closed(this);
    // Closed by the storage that opened it (a test may have substituted another one since).
    (this.fdStorage ?? storage()).close(fd);
    this.fdStorage = null;
  }

  /** Deletes the three files (missing ones are fine); tries each even if one fails, then throws the first error. */
  deleteFiles(): void {
    this.closeFile();
    let first: unknown = null;
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath]) {
      try {
        storage().unlink(p);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== null) throw first;
  }

  /** Last-modified time of the log file, used for retention when the segment holds no timestamps. */
  lastModifiedMs(): number {
    return fs.statSync(this.logPath).mtimeMs;
  }
}
