// The stand-in for a partition log whose directory could not be opened at start: the partition stays known (so
// Metadata still lists it and other partitions keep serving) but every operation on its data answers
// KAFKA_STORAGE_ERROR, as Kafka does for a replica on a failed log directory. Restarting the broker after fixing the
// directory brings it back.
import fs from 'node:fs';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { checkLogConfig, type LogConfig } from './log-config.ts';
import type { AppendResult, EpochEndOffset, EpochEntry, FollowerAppendResult, PartitionLog, ReadResult } from './partition-log.ts';
import type { Segment } from './segment.ts';

/** The public surface of PartitionLog: what a Partition holds, a real log or an offline one. */
export type PartitionLogApi = { [K in keyof PartitionLog]: PartitionLog[K] };

export class OfflineLog implements PartitionLogApi {
  constructor(
    readonly dir: string,
    private cfg: LogConfig,
    /** `<topic>-<partition>`, for messages. */
    private readonly name: string,
    /** Why it could not be opened. */
    readonly reason: string,
  ) {}

  private offline(): KafkaError {
    return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `partition ${this.name} is offline: its log ${this.dir} could not be opened (${this.reason})`);
  }

  // Read-only figures that handlers and metrics read before touching data: an empty log, so nothing is claimed.
  get logStartOffset(): number {
    return 0;
  }

  get logEndOffset(): number {
    return 0;
  }

  get sizeBytes(): number {
    return 0;
  }

  get segmentCount(): number {
    return 0;
  }

  get config(): Readonly<LogConfig> {
    return this.cfg;
  }

  get maxBatchBytes(): number {
    return this.cfg.maxBatchBytes;
  }

  get undeletedSegments(): number {
    return 0;
  }

  /** Why the partition serves nothing (Partition.offline reads it). */
  get offlineReason(): string {
    return this.reason;
  }

  /** Already offline: nothing to take down. */
  failOnCorruption(err: unknown): unknown {
    return err;
  }

  /** Nothing to scrub. */
  sealedSegments(): readonly Segment[] {
    return [];
  }

  segmentTimes(): { baseOffset: number; lastModifiedMs: number; maxTimestamp: number; empty: boolean }[] {
    throw this.offline();
  }

  maxTimestamp(): number {
    throw this.offline();
  }

  get recoveryPoint(): number {
    return 0;
  }

  flush(_now?: number): void {
    throw this.offline();
  }

  append(_batch: Buffer, _leaderEpoch: number): AppendResult {
    throw this.offline();
  }

  read(_fetchOffset: number, _maxBytes: number, _minOneBatch: boolean, _maxOffset?: number): ReadResult {
    throw this.offline();
  }

  offsetForTimestamp(_timestampMs: number): { offset: number; timestampMs: number } | null {
    throw this.offline();
  }

  deleteRecordsBefore(_offset: number): number {
    throw this.offline();
  }

  /** Nothing to retain: the data is not open. */
  enforceRetention(_nowMs: number): number {
    return 0;
  }

  truncateTo(_offset: number): void {
    throw this.offline();
  }

  updateConfig(config: LogConfig): void {
    checkLogConfig(config);
    this.cfg = config;
  }

  async close(): Promise<void> {}

  /** DeleteTopics: removes whatever is at the directory's path. */
  async deleteAll(): Promise<void> {
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }

  appendAsFollower(_records: Buffer): FollowerAppendResult {
    throw this.offline();
  }

  truncateFullyAndStartAt(_offset: number): void {
    throw this.offline();
  }

  assignLeaderEpoch(_epoch: number): void {
    throw this.offline();
  }

  latestEpoch(): number {
    return -1;
  }

  endOffsetForEpoch(_epoch: number): EpochEndOffset {
    throw this.offline();
  }

  leaderEpochEntries(): readonly EpochEntry[] {
    return [];
  }

  producerStateSnapshot(_producerId: number): undefined {
    return undefined;
  }
}
