// Storage mechanics of a partition log, the base of PartitionLog (partition-log.ts, which adds opening and the
// replication API): the append path with idempotent-producer deduplication, rolling, reads, retention and
// DeleteRecords, truncation and clean close. Every state change that affects the leader epoch cache is applied to it
// here too.
//
// All I/O is synchronous (fs.*Sync): one append is one positional write at the end of the active segment, so the
// file order is the offset order without any locking, and a read is normally one positional read.
import fs from 'node:fs';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import {
  ATTR_CONTROL,
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  OFF_ATTRIBUTES,
  OFF_BASE_SEQUENCE,
  OFF_BATCH_LENGTH,
  OFF_LAST_OFFSET_DELTA,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  assignOffsetAndEpoch,
  readInt64,
  setLogAppendTime,
} from './record-batch.ts';
import { Segment } from './segment.ts';
import { EMPTY_READ, findOffsetForTimestamp, floorSegment, readSegment, type ReadResult } from './log-read.ts';
import { checkLogConfig, DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.ts';
import { fsyncDir, writeCleanShutdown, writeMeta, type SegmentRecord } from './checkpoint.ts';
import { ProducerStateManager, rebuildProducerState, writeSnapshot, type ProducerLimits } from './producer-state.ts';
import type { LeaderEpochCache } from './leader-epoch-cache.ts';

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker's append time when message.timestamp.type=LogAppendTime, else -1. */
  logAppendTimeMs: number;
  /** True when this was a retry of an already appended idempotent batch: nothing written, original offsets. */
  duplicate: boolean;
}

export type { ReadResult } from './log-read.ts';
const INT32_MAX = 0x7fff_ffff;

function producerLimits(c: LogConfig): ProducerLimits {
  return {
    expirationMs: c.producerIdExpirationMs ?? DEFAULT_LOG_CONFIG.producerIdExpirationMs!,
    maxProducers: c.maxProducerIds ?? DEFAULT_LOG_CONFIG.maxProducerIds!,
  };
}

export function storageError(op: string, err: unknown): KafkaError {
  if (err instanceof KafkaError) return err;
  return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${op} failed: ${(err as Error).message}`);
}

export class LogCore {
  protected closed = false;
  protected totalBytes: number;
  /**
   * Segments already dropped from the log (wholly below logStartOffset) whose files could not be deleted, e.g. on an
   * I/O error. Nothing reads them any more; retention retries deleting them, and the next open deletes them too.
   */
  private undeleted: Segment[] = [];
  /** Why the last of them could not be deleted. */
  private undeletedError = '';
  protected readonly producers: ProducerStateManager;

  protected constructor(
    readonly dir: string,
    protected cfg: LogConfig,
    protected segments: Segment[],
    protected startOffset: number,
    protected readonly epochs: LeaderEpochCache,
    protected readonly log: (msg: string) => void,
  ) {
    this.totalBytes = segments.reduce((n, s) => n + s.size, 0);
    this.producers = new ProducerStateManager(producerLimits(cfg));
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  get sizeBytes(): number {
    return this.totalBytes;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The current configuration (read-only view). */
  get config(): Readonly<LogConfig> {
    return this.cfg;
  }

  /** message.max.bytes for validateProducedBatch. */
  get maxBatchBytes(): number {
    return this.cfg.maxBatchBytes;
  }

  protected get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  protected ensureOpen(): void {
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
  }

  /**
   * Appends one batch that validateProducedBatch accepted. The buffer is modified IN PLACE (baseOffset,
   * partitionLeaderEpoch, and for LogAppendTime the attributes, maxTimestamp and CRC): it is a view into a request
   * frame the caller no longer needs, and copying 1 MiB per batch would be pure overhead.
   */
  append(batch: Buffer, leaderEpoch: number): AppendResult {
    this.ensureOpen();
    // Framing is what keeps the log readable, so it is re-checked even though the batch was validated.
    if (batch.length < BATCH_HEADER_BYTES || batch.readInt32BE(OFF_BATCH_LENGTH) + LOG_OVERHEAD !== batch.length || batch[OFF_MAGIC] !== 2) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, 'append needs exactly one whole magic v2 batch');
    }
    const now = Date.now();
    const attributes = batch.readInt16BE(OFF_ATTRIBUTES);
    const lastOffsetDelta = batch.readInt32BE(OFF_LAST_OFFSET_DELTA);
    const producerId = readInt64(batch, OFF_PRODUCER_ID);
    const idempotent = producerId >= 0 && (attributes & ATTR_CONTROL) === 0;
    const epoch = idempotent ? batch.readInt16BE(OFF_PRODUCER_EPOCH) : -1;
    const firstSeq = idempotent ? batch.readInt32BE(OFF_BASE_SEQUENCE) : -1;
    if (idempotent) {
      const dup = this.producers.check(producerId, epoch, firstSeq, lastOffsetDelta);
      if (dup) return { baseOffset: dup.baseOffset, lastOffset: dup.lastOffset, logAppendTimeMs: -1, duplicate: true };
    }

    let logAppendTimeMs = -1;
    if (this.cfg.messageTimestampType === 'LogAppendTime') {
      setLogAppendTime(batch, now);
      logAppendTimeMs = now;
    }
    const maxTimestamp = readInt64(batch, OFF_MAX_TIMESTAMP);
    try {
      this.maybeRoll(batch.length, maxTimestamp, lastOffsetDelta, now);
      const baseOffset = this.active.nextOffset;
      // The epoch entry is durable before its first batch (Kafka's order): a crash in between leaves an epoch that
      // starts at the log end, which is harmless, while the reverse would lose the epoch.
      if (this.epochs.assignNewer(leaderEpoch, baseOffset)) this.epochs.persist();
      assignOffsetAndEpoch(batch, baseOffset, leaderEpoch);
      this.active.append(batch, baseOffset, baseOffset + lastOffsetDelta, maxTimestamp, this.cfg.indexIntervalBytes, this.cfg.fsyncOnAppend);
      this.totalBytes += batch.length;
      if (idempotent) {
        this.producers.record(producerId, epoch, firstSeq, lastOffsetDelta, baseOffset, now);
        this.producers.expire(now);
      }
      return { baseOffset, lastOffset: baseOffset + lastOffsetDelta, logAppendTimeMs, duplicate: false };
    } catch (err) {
      throw storageError(`append to ${this.dir}`, err);
    }
  }

  /**
   * Kafka's roll rules: size (segment.bytes), age (segment.ms, measured like Kafka from the first batch's timestamp
   * to the new batch's timestamp, or by wall clock since creation when the segment has no timestamp), and relative
   * offsets that would overflow int32.
   */
  protected maybeRoll(bytes: number, maxTimestamp: number, lastOffsetDelta: number, now: number): void {
    const a = this.active;
    if (a.isEmpty) return;
    const first = a.rollingTimestamp();
    const aged = first >= 0 ? maxTimestamp - first > this.cfg.segmentMs : now - a.createdMs > this.cfg.segmentMs;
    if (a.size + bytes > this.cfg.segmentBytes || aged || a.nextOffset + lastOffsetDelta - a.baseOffset > INT32_MAX) {
      this.roll(now);
    }
  }

  private roll(now: number): void {
    const old = this.active;
    old.writeIndexes();
    old.closeFile(); // reopened lazily if read; keeps open fds per partition low
    this.segments.push(Segment.create(this.dir, old.nextOffset, now));
    writeSnapshot(this.dir, this.producers, old.nextOffset);
    this.persistMeta();
  }

  /**
   * Whole batches starting with the one containing fetchOffset, at most maxBytes in total, except that the first
   * batch is returned whole even if larger when minOneBatch (KIP-74). Reads stop at the end of a segment (the next
   * fetch continues in the next one) and, if given, before batches reaching maxOffset (exclusive, e.g. the high
   * watermark). fetchOffset == logEndOffset gives an empty result; outside [logStartOffset, logEndOffset] throws
   * OFFSET_OUT_OF_RANGE.
   */
  read(fetchOffset: number, maxBytes: number, minOneBatch: boolean, maxOffset?: number): ReadResult {
    this.ensureOpen();
    const leo = this.logEndOffset;
    if (fetchOffset < this.startOffset || fetchOffset > leo) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `fetch offset ${fetchOffset} is outside [${this.startOffset}, ${leo}] of ${this.dir}`,
      );
    }
    const limit = Math.min(maxOffset ?? leo, leo);
    if (fetchOffset >= limit) return EMPTY_READ;
    for (let i = floorSegment(this.segments, fetchOffset); i < this.segments.length; i++) {
      const r = readSegment(this.segments[i], fetchOffset, Math.max(0, maxBytes), minOneBatch, limit, this.cfg.indexIntervalBytes);
      if (r) return r;
    }
    return EMPTY_READ;
  }

  /**
   * ListOffsets by timestamp: the first batch whose maxTimestamp >= ts (found through the time index), refined to
   * the first record with timestamp >= ts when the batch is uncompressed. For a compressed batch the answer is its
   * first offset and first timestamp, which may precede ts (the broker never decompresses). Null if no batch
   * qualifies. The special timestamps -1 (latest) and -2 (earliest) are for the caller.
   */
  offsetForTimestamp(timestampMs: number): { offset: number; timestampMs: number } | null {
    this.ensureOpen();
    return findOffsetForTimestamp(this.segments, timestampMs, this.startOffset);
  }

  /**
   * DeleteRecords: moves logStartOffset up to `offset` (capped at the log end) and deletes the segments that lie
   * entirely below it; when everything is deleted, a new empty segment is rolled at the log end first. The new
   * logStartOffset is made durable before any file is deleted. Returns the new low watermark.
   */
  deleteRecordsBefore(offset: number): number {
    this.ensureOpen();
    const target = Math.min(offset, this.logEndOffset);
    if (target <= this.startOffset) return this.startOffset;
    this.startOffset = target;
    try {
      this.persistMeta();
      this.startMoved();
      if (target === this.logEndOffset && !this.active.isEmpty) this.roll(Date.now());
      let n = 0;
      while (n < this.segments.length - 1 && this.segments[n].nextOffset <= target) n++;
      this.deleteOldest(n);
    } catch (err) {
      throw storageError(`deleteRecords on ${this.dir}`, err);
    }
    return this.startOffset;
  }

  /**
   * Deletes the oldest non-active segments that breach retention.ms (newest timestamp in the segment, or the file's
   * mtime when it has none, older than nowMs - retentionMs) and then retention.bytes (Kafka's rule: delete a segment
   * only if the log stays >= retentionBytes without it). Returns the number of segments deleted.
   *
   * Throws KAFKA_STORAGE_ERROR when the storage fails: the log stays consistent and keeps serving reads and appends
   * (logStartOffset moves only in memory if it could not be persisted, and segments whose files could not be deleted
   * are out of the log and retried by the next call). The caller is a timer, which must contain the error.
   */
  enforceRetention(nowMs: number): number {
    this.ensureOpen();
    let n: number;
    try {
      this.retryUndeleted();
      n = this.segmentsBeyondRetention(nowMs);
      if (n > 0) {
        this.startOffset = Math.max(this.startOffset, this.segments[n].baseOffset);
        this.persistMeta();
        this.startMoved();
        this.deleteOldest(n);
      }
    } catch (err) {
      throw storageError(`retention on ${this.dir}`, err);
    }
    if (this.undeleted.length > 0) {
      throw storageError(
        `retention on ${this.dir}`,
        new Error(`${this.undeleted.length} segment(s) below the log start could not be deleted (${this.undeletedError}); retrying`),
      );
    }
    return n;
  }

  /** How many of the oldest segments retention.ms and retention.bytes remove (never the active one). */
  private segmentsBeyondRetention(nowMs: number): number {
    const { retentionMs, retentionBytes } = this.cfg;
    let n = 0;
    const last = this.segments.length - 1;
    if (retentionMs >= 0) {
      while (n < last) {
        const seg = this.segments[n];
        const newest = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs();
        if (nowMs - newest <= retentionMs) break;
        n++;
      }
    }
    if (retentionBytes >= 0) {
      let excess = this.totalBytes - retentionBytes;
      for (let i = 0; i < n; i++) excess -= this.segments[i].size;
      while (n < last && excess - this.segments[n].size >= 0) {
        excess -= this.segments[n].size;
        n++;
      }
    }
    return n;
  }

  /** Segments out of the log whose files are still on disk (see `undeleted`). */
  get undeletedSegments(): number {
    return this.undeleted.length;
  }

  private retryUndeleted(): void {
    const again = this.undeleted;
    this.undeleted = [];
    for (const seg of again) this.deleteBelowStart(seg);
  }

  /** Deletes the files of a segment that is already out of the log; on failure keeps it for a retry. */
  private deleteBelowStart(seg: Segment): void {
    try {
      seg.deleteFiles();
    } catch (err) {
      this.undeleted.push(seg);
      this.undeletedError = (err as Error).message;
    }
  }

  /** Epochs wholly below the new log start go; the one covering it now starts there. */
  private startMoved(): void {
    if (this.epochs.truncateFromStart(this.startOffset)) this.epochs.persist();
  }

  /**
   * Drops the n oldest segments, which lie wholly below logStartOffset (already persisted), and deletes their files.
   * A file that cannot be deleted does not fail the operation: nothing reads it any more, it is retried by retention
   * and deleted by the next open (it lies below the persisted logStartOffset).
   */
  private deleteOldest(n: number): void {
    if (n <= 0) return;
    for (const seg of this.segments.splice(0, n)) {
      this.totalBytes -= seg.size;
      this.deleteBelowStart(seg);
    }
    this.persistMeta();
  }

  /**
   * Drops every batch at and after `offset` (follower truncation). The cut is at a batch boundary, so when `offset`
   * falls inside a batch the whole batch goes (as in Kafka) and logEndOffset becomes that batch's baseOffset.
   * Truncating to or below the first segment empties the log and restarts it at `offset`; otherwise
   * logStartOffset is lowered to the new log end if it was beyond it.
   */
  truncateTo(offset: number): void {
    this.ensureOpen();
    if (offset < 0) throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot truncate to ${offset}`);
    if (offset >= this.logEndOffset) {
      // As in Kafka: an epoch assigned at the log end that never appended may conflict with the new leader's.
      if (this.epochs.truncateFromEnd(this.logEndOffset)) this.epochs.persist();
      return;
    }
    try {
      if (offset <= this.segments[0].baseOffset) {
        this.resetTo(offset);
      } else {
        while (this.active.baseOffset > offset) {
          const seg = this.segments.pop()!;
          seg.deleteFiles();
        }
        const loc = this.active.locate(offset);
        if (loc) this.active.truncateToPosition(loc.position, Math.min(loc.header.baseOffset, offset));
        this.startOffset = Math.min(this.startOffset, this.logEndOffset);
      }
      this.totalBytes = this.segments.reduce((n, s) => n + s.size, 0);
      if (this.epochs.truncateFromEnd(this.logEndOffset)) this.epochs.persist();
      this.rebuildProducerState();
      this.persistMeta();
    } catch (err) {
      throw storageError(`truncate of ${this.dir}`, err);
    }
  }

  /** Deletes every segment and starts one empty segment at `offset`, which becomes logStartOffset too. */
  protected resetTo(offset: number): void {
    for (const seg of this.segments) seg.deleteFiles();
    this.segments = [Segment.create(this.dir, offset, Date.now())];
    this.startOffset = offset;
    this.totalBytes = 0;
  }

  updateConfig(config: LogConfig): void {
    checkLogConfig(config);
    this.cfg = config;
    this.producers.setLimits(producerLimits(config));
  }

  /** Clean shutdown: seal the active segment's indexes, snapshot producers, fsync, then write the checkpoint. */
  async close(): Promise<void> {
    if (this.closed) return;
    const leo = this.logEndOffset;
    for (const seg of this.segments) seg.writeIndexes();
    writeSnapshot(this.dir, this.producers, leo);
    for (const seg of this.segments) seg.flush();
    this.persistMeta();
    writeCleanShutdown(this.dir, {
      version: 1,
      logStartOffset: this.startOffset,
      logEndOffset: leo,
      segments: this.segments.map(toRecord),
    });
    fsyncDir(this.dir);
    for (const seg of this.segments) seg.closeFile();
    this.closed = true;
  }

  /** DeleteTopics: closes and removes the whole directory. */
  async deleteAll(): Promise<void> {
    for (const seg of this.segments) seg.closeFile();
    this.closed = true;
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }

  protected persistMeta(): void {
    writeMeta(this.dir, { version: 1, logStartOffset: this.startOffset, sealed: this.segments.slice(0, -1).map(toRecord) });
  }

  protected rebuildProducerState(): void {
    const line = rebuildProducerState(this.dir, this.producers, this.segments);
    if (line) this.log(`${this.dir}: ${line}`);
  }
}

function toRecord(s: Segment): SegmentRecord {
  return { baseOffset: s.baseOffset, bytes: s.size, nextOffset: s.nextOffset, maxTimestamp: s.maxTimestamp };
}
