// Storage mechanics of a partition log, the base of PartitionLog (partition-log.ts, which adds opening and the
// replication API). Layered by concern, each layer extending the one below:
//   log-store.ts      LogStore: the segment list, rolling, flushing (the flush policy), log-meta.json, clean close
//   log-retention.ts  LogRetention: DeleteRecords and retention, which move the log start and delete old segments
//   log-core.ts       LogCore: the append path with idempotent-producer deduplication, reads (log-read.ts), truncation
// Every state change that affects the leader epoch cache is applied to it in the same layer.
//
// All I/O is synchronous (fs.*Sync): one append is one positional write at the end of the active segment, so the
// file order is the offset order without any locking, and a read is normally one positional read.
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
import { EMPTY_READ, findOffsetForTimestamp, floorSegment, readSegment, type ReadContext, type ReadResult } from './log-read.ts';
import { LogRetention } from './log-retention.ts';
import { storageError } from './log-store.ts';

export { storageError } from './log-store.ts';
export type { ReadResult } from './log-read.ts';

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker's append time when message.timestamp.type=LogAppendTime, else -1. */
  logAppendTimeMs: number;
  /** True when this was a retry of an already appended idempotent batch: nothing written, original offsets. */
  duplicate: boolean;
}

/** Appends, reads and truncation over LogRetention and LogStore; PartitionLog extends it. */
export class LogCore extends LogRetention {
  private get readContext(): ReadContext {
    return { indexIntervalBytes: this.cfg.indexIntervalBytes, log: this.log };
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
      this.afterWrite(lastOffsetDelta + 1, now, this.cfg.fsyncOnAppend);
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
    try {
      for (let i = floorSegment(this.segments, fetchOffset); i < this.segments.length; i++) {
        const r = readSegment(this.segments[i], fetchOffset, Math.max(0, maxBytes), minOneBatch, limit, this.readContext);
        if (r) return r;
      }
    } catch (err) {
      throw this.failOnCorruption(err);
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
    try {
      return findOffsetForTimestamp(this.segments, timestampMs, this.startOffset, this.readContext);
    } catch (err) {
      throw this.failOnCorruption(err);
    }
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
      // The cut is made durable (a power cut must not bring back a diverged suffix) before the meta that follows it.
      this.flushedTo = Math.min(this.flushedTo, this.logEndOffset);
      this.flush();
      if (this.epochs.truncateFromEnd(this.logEndOffset)) this.epochs.persist();
      this.rebuildProducerState();
      this.persistMeta();
    } catch (err) {
      throw storageError(`truncate of ${this.dir}`, err);
    }
  }
}
