// The bottom layer of a partition log (PartitionLog extends LogCore extends LogRetention extends LogStore): the
// segment list and its bookkeeping (log start, size, idempotent-producer state, offline state) and how it is made
// durable: rolling, flushing, log-meta.json, clean close. The layers above change the log through these; log-core.ts
// describes the whole.
//
// Flush policy (Kafka's): a segment is flushed when it rolls, and only then listed as sealed (trusted) in
// log-meta.json; besides, the active segment is flushed after every append (fsyncOnAppend), every flush.messages
// messages, or once flush.ms has passed since the last flush. Each flush advances the recovery point (see
// checkpoint.ts): offsets below it survive a power cut, offsets past it only a process crash.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { Segment } from './segment.ts';
import { floorSegment } from './log-read.ts';
import { CorruptLogError, corruptionFound, offlineError } from './corruption.ts';
import { checkLogConfig, DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.ts';
import { fsyncDir, writeCleanShutdown, writeMeta, type SegmentRecord } from './checkpoint.ts';
import { FlushPolicy } from './flush-policy.ts';
import { ProducerStateManager, rebuildProducerState, writeSnapshot, type ProducerLimits } from './producer-state.ts';
import type { LeaderEpochCache } from './leader-epoch-cache.ts';

const INT32_MAX = 0x7fff_ffff;

function producerLimits(c: LogConfig): ProducerLimits {
  return {
    expirationMs: c.producerIdExpirationMs ?? DEFAULT_LOG_CONFIG.producerIdExpirationMs!,
    maxProducers: c.maxProducerIds ?? DEFAULT_LOG_CONFIG.maxProducerIds!,
  };
}

/** Wraps an I/O failure of a log operation as the KAFKA_STORAGE_ERROR the client gets (a KafkaError passes as is). */
export function storageError(op: string, err: unknown): KafkaError {
  if (err instanceof KafkaError) return err;
  return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${op} failed: ${(err as Error).message}`);
}

/**
 * The segment list of a partition log and its durability. Abstract: only PartitionLog.open builds a log, after
 * recovery (the constructor trusts the segments it is given to be flushed).
 */
export abstract class LogStore {
  protected closed = false;
  protected totalBytes: number;
  protected readonly producers: ProducerStateManager;
  /** Every offset below this is flushed to disk (Kafka's recovery point); only a flush advances it. */
  protected flushedTo: number;
  private readonly flushPolicy = new FlushPolicy(() => this.flushFromTimer());

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
    // Opening flushes what recovery kept (PartitionLog.open), so the whole log is below the recovery point.
    this.flushedTo = this.active.nextOffset;
  }

  /**
   * Kafka's recovery point: every offset below it has been flushed (fsync), so it survives a power cut; offsets from
   * here to the log end are acknowledged but may live only in the page cache. log-meta.json holds the value of its
   * last write (recoveryPoint), and sealed segments always lie below it.
   */
  get recoveryPoint(): number {
    return this.flushedTo;
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
    if (this.failure !== null) throw offlineError(this.dir, this.failure);
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
  }

  /** Why the log is offline: corruption found while serving (see corruption.ts), or null while it serves. */
  private failure: string | null = null;

  get offlineReason(): string | null {
    return this.failure;
  }

  /** Takes the log offline when `err` is corruption a reader or the scrubber found; returns `err` to throw. */
  failOnCorruption(err: unknown): unknown {
    if (err instanceof CorruptLogError && this.failure === null) this.failure = corruptionFound(err, this.log);
    return err;
  }

  /**
   * Every segment's base offset, file modification time, max timestamp and emptiness, oldest first: ListOffsets v0
   * answers from these (Kafka's legacyFetchOffsetsBefore).
   */
  segmentTimes(): { baseOffset: number; lastModifiedMs: number; maxTimestamp: number; empty: boolean }[] {
    this.ensureOpen();
    return this.segments.map((s) => ({ baseOffset: s.baseOffset, lastModifiedMs: s.lastModifiedMs(), maxTimestamp: s.maxTimestamp, empty: s.isEmpty }));
  }

  /** The largest record timestamp in the log (-1 when it holds none), from what the segments keep in memory. */
  maxTimestamp(): number {
    this.ensureOpen();
    return this.segments.reduce((m, s) => Math.max(m, s.maxTimestamp), -1);
  }

  /** The sealed segments, oldest first (for the scrubber); none while offline or closed. */
  sealedSegments(): readonly Segment[] {
    return this.closed || this.failure !== null ? [] : this.segments.slice(0, -1);
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

  /**
   * Applies the flush policy after `messages` were written (already fdatasync'ed when `synced`). Called before the
   * append is acknowledged, so an append that triggers a flush is acknowledged after it.
   */
  protected afterWrite(messages: number, now: number, synced: boolean): void {
    if (synced) this.flushed(now);
    else if (this.flushPolicy.wrote(this.cfg, messages, now)) this.flush(now);
  }

  /** flush.ms: a storage error is logged and retried by the next append or close, never thrown from the timer. */
  private flushFromTimer(): void {
    if (this.closed) return;
    try {
      this.flush();
    } catch (err) {
      this.log(`error: ${this.dir}: flush failed (${(err as Error).message}); data past offset ${this.flushedTo} is not yet on disk`);
    }
  }

  /** fsyncs every segment with unflushed data and advances the recovery point to the log end. */
  flush(now = Date.now()): void {
    this.ensureOpen();
    try {
      for (let i = floorSegment(this.segments, this.flushedTo); i < this.segments.length; i++) this.segments[i].flush();
    } catch (err) {
      throw storageError(`flush of ${this.dir}`, err);
    }
    this.flushed(now);
  }

  private flushed(now: number): void {
    this.flushedTo = this.logEndOffset;
    this.flushPolicy.flushed(now);
  }

  /**
   * Seals the active segment and starts a new one. Order matters for a power cut: the old segment and its indexes are
   * flushed first, then the new files are created and the directory fsynced, and only then is the old segment listed
   * as sealed (trusted) in log-meta.json. The recovery point moves to the old segment's end.
   */
  protected roll(now: number): void {
    const old = this.active;
    old.writeIndexes();
    old.flush();
    old.closeFile(); // reopened lazily if read; keeps open fds per partition low
    if (this.flushedTo < old.nextOffset) this.flushedTo = old.nextOffset;
    this.flushPolicy.flushed(now);
    this.segments.push(Segment.create(this.dir, old.nextOffset, now));
    writeSnapshot(this.dir, this.producers, old.nextOffset);
    fsyncDir(this.dir);
    this.persistMeta();
  }

  /** Deletes every segment and starts one empty segment at `offset`, which becomes logStartOffset too. */
  protected resetTo(offset: number): void {
    for (const seg of this.segments) seg.deleteFiles();
    this.segments = [Segment.create(this.dir, offset, Date.now())];
    this.startOffset = offset;
    this.totalBytes = 0;
    this.flushed(Date.now());
    fsyncDir(this.dir);
  }

  updateConfig(config: LogConfig): void {
    checkLogConfig(config);
    this.cfg = config;
    this.flushPolicy.cancel(); // re-armed by the next append under the new flush.ms
    this.producers.setLimits(producerLimits(config));
  }

  /** Clean shutdown: seal the active segment's indexes, snapshot producers, fsync, then write the checkpoint. */
  async close(): Promise<void> {
    if (this.closed) return;
    const leo = this.logEndOffset;
    for (const seg of this.segments) seg.writeIndexes();
    writeSnapshot(this.dir, this.producers, leo);
    for (const seg of this.segments) seg.flush();
    this.flushed(Date.now());
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
    this.flushPolicy.cancel();
    await fs.promises.rm(this.dir, { recursive: true, force: true });
    fsyncDir(path.dirname(this.dir));
  }

  protected persistMeta(): void {
    writeMeta(this.dir, {
      version: 1,
      logStartOffset: this.startOffset,
      sealed: this.segments.slice(0, -1).map(toRecord),
      recoveryPoint: this.flushedTo,
    });
  }

  protected rebuildProducerState(): void {
    const line = rebuildProducerState(this.dir, this.producers, this.segments);
    if (line) this.log(`${this.dir}: ${line}`);
  }
}

function toRecord(s: Segment): SegmentRecord {
  return { baseOffset: s.baseOffset, bytes: s.size, nextOffset: s.nextOffset, maxTimestamp: s.maxTimestamp };
}
