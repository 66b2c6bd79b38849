// The log of one partition: a directory of segments (see segment.ts), recovered on open (recovery.ts), with
// idempotent-producer deduplication (producer-state.ts), a leader epoch cache (leader-epoch-cache.ts) and small
// atomic state files (checkpoint.ts). The storage mechanics are in log-core.ts; this file adds opening and the
// replication API.
//
// Directory layout:
//   00000000000000000000.log        batches back to back, exactly as produced except baseOffset/leaderEpoch
//   00000000000000000000.index      sparse offset index (written when the segment is sealed / at close)
//   00000000000000000000.timeindex  sparse time index (idem)
//   00000000000000001234.snapshot   producer state before offset 1234 (written at roll and close, newest 2 kept)
//   log-meta.json                   logStartOffset, sealed segment sizes, recovery point (while running)
//   leader-epoch-checkpoint         first offset of each leader epoch
//   clean-shutdown.json             only between close() and the next open()
//
// Replication (KIP-101): a leader stamps its epoch on the batches it appends and records where each epoch starts; a
// follower copies the leader's batches byte for byte (appendAsFollower) and, after a leader change, truncates the
// suffix where its log diverges (truncateTo), found by comparing endOffsetForEpoch answers on both sides.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { splitReplicatedBatches } from './record-batch.ts';
import { loadSegments } from './recovery.ts';
import { checkLogConfig, type LogConfig } from './log-config.ts';
import { fsyncDir, removeCleanShutdown } from './checkpoint.ts';
import { floorSegment } from './log-read.ts';
import { deleteSnapshotsAbove, type SequenceBatch } from './producer-state.ts';
import { LeaderEpochCache, type EpochEndOffset, type EpochEntry } from './leader-epoch-cache.ts';
import { LogCore, storageError } from './log-core.ts';

export { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.ts';
export type { AppendResult, ReadResult } from './log-core.ts';
export type { EpochEndOffset, EpochEntry } from './leader-epoch-cache.ts';

export interface FollowerAppendResult {
  /** Whole batches appended (a partial batch at the end of the records is skipped). */
  appendedBatches: number;
  /** Last offset of the last appended batch, -1 when none was appended. */
  lastOffset: number;
}

export class PartitionLog extends LogCore {
  /** Opens (creating if missing) and recovers the partition directory. */
  static async open(dir: string, config: LogConfig, log: (msg: string) => void = () => {}): Promise<PartitionLog> {
    checkLogConfig(config);
    const now = Date.now();
    const created = !fs.existsSync(dir);
    const loaded = loadSegments(dir, config, log, now);
    if (!loaded.cleanShutdown) {
      // After an unclean stop, what lies past the saved recovery point may be in the page cache only (the process
      // died, the machine did not): flush it, so that the recovery point can start at the log end.
      for (let i = floorSegment(loaded.segments, loaded.savedRecoveryPoint); i < loaded.segments.length; i++) loaded.segments[i].flush(true);
    }
    const leo = loaded.segments[loaded.segments.length - 1].nextOffset;
    const epochs = LeaderEpochCache.open(dir, loaded.segments, loaded.logStartOffset, leo, log);
    const plog = new PartitionLog(dir, config, loaded.segments, loaded.logStartOffset, epochs, log);
    plog.rebuildProducerState();
    plog.producers.expire(now, true);
    // Sealed segments whose indexes were rebuilt are listed as trusted in log-meta.json, so their files must match.
    for (const seg of loaded.segments.slice(0, -1)) seg.writeIndexes();
    // From here on the directory is "dirty": a kill before the next close() makes the next open recover.
    removeCleanShutdown(dir);
    plog.persistMeta();
    fsyncDir(dir);
    // A new partition directory is an entry in its parent: without this a power cut can take the whole log with it.
    if (created) fsyncDir(path.dirname(dir));
    return plog;
  }

  /**
   * Follower: appends the leader's batches from the Records of a Fetch response as they are (offsets, leader epochs,
   * timestamps and CRCs kept). Every whole batch is validated first (framing, CRC-32C, contiguous offsets starting at
   * logEndOffset), so a bad response appends nothing; a partial batch at the end is skipped. The epoch cache and the
   * idempotent-producer state follow the copied batches, so a promoted follower deduplicates retries like the old
   * leader. An empty log whose end falls inside the first batch (the leader's log start is mid-batch, after
   * DeleteRecords) restarts at that batch, keeping its logStartOffset. Throws OFFSET_OUT_OF_RANGE when the records do
   * not start at the log end.
   */
  appendAsFollower(records: Buffer): FollowerAppendResult {
    this.ensureOpen();
    const batches = splitReplicatedBatches(records);
    if (batches.length === 0) return { appendedBatches: 0, lastOffset: -1 };
    const first = batches[0].header;
    const leo = this.logEndOffset;
    const keepStart = this.startOffset;
    const restart = leo === this.startOffset && this.sizeBytes === 0 && first.baseOffset < leo && first.lastOffset >= leo;
    if (first.baseOffset !== leo && !restart) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `replicated batches start at offset ${first.baseOffset} but the log of ${this.dir} ends at ${leo}`,
      );
    }
    const now = Date.now();
    try {
      if (restart) this.resetTo(first.baseOffset);
      for (const { header: h } of batches) this.epochs.assignFromLeader(h.partitionLeaderEpoch, h.baseOffset);
      this.epochs.persist();
      let messages = 0;
      for (const { batch, header: h } of batches) {
        this.maybeRoll(batch.length, h.maxTimestamp, h.lastOffsetDelta, now);
        this.active.append(batch, h.baseOffset, h.lastOffset, h.maxTimestamp, this.cfg.indexIntervalBytes, false);
        this.totalBytes += batch.length;
        messages += h.lastOffsetDelta + 1;
        this.producers.replay(h, now);
      }
      this.producers.expire(now);
      // Segments rolled on the way were flushed by the roll; the policy decides about the active one.
      this.afterWrite(messages, now, false);
      if (restart) this.deleteRecordsBefore(keepStart);
    } catch (err) {
      // Whatever was written stays; epochs beyond it go.
      if (this.epochs.truncateFromEnd(this.logEndOffset + 1)) this.epochs.persist();
      throw storageError(`follower append to ${this.dir}`, err);
    }
    return { appendedBatches: batches.length, lastOffset: batches[batches.length - 1].header.lastOffset };
  }

  /**
   * Follower whose fetch offset fell below the leader's log start: deletes everything (segments, producer state and
   * snapshots, leader epochs) and restarts the empty log at `offset`.
   */
  truncateFullyAndStartAt(offset: number): void {
    this.ensureOpen();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot restart the log at ${offset}`);
    try {
      this.resetTo(offset);
      deleteSnapshotsAbove(this.dir, -1);
      this.producers.clear();
      this.epochs.clear();
      this.epochs.persist();
      this.persistMeta();
      fsyncDir(this.dir);
    } catch (err) {
      throw storageError(`truncate of ${this.dir}`, err);
    }
  }

  /** Leader at `epoch` from now on: records that the epoch starts at the log end, if it is newer than every cached one. */
  assignLeaderEpoch(epoch: number): void {
    this.ensureOpen();
    try {
      if (this.epochs.assignNewer(epoch, this.logEndOffset)) this.epochs.persist();
    } catch (err) {
      throw storageError(`leader epoch checkpoint of ${this.dir}`, err);
    }
  }

  /** The newest leader epoch in the epoch cache, -1 when there is none. */
  latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  /** OffsetForLeaderEpoch with Kafka's semantics (see LeaderEpochCache.endOffsetFor); {-1, -1} when undefined. */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    this.ensureOpen();
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  /** The epoch cache entries, oldest first (tests, diagnostics). */
  leaderEpochEntries(): readonly EpochEntry[] {
    return this.epochs.list();
  }

  /** Idempotent-producer state (diagnostics and tests). */
  producerStateSnapshot(producerId: number): { epoch: number; batches: readonly SequenceBatch[] } | undefined {
    return this.producers.get(producerId);
  }
}
