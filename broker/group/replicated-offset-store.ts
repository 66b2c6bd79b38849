// Committed offsets in a cluster: stored as records of the replicated internal topic
// __consumer_offsets, as Kafka does. A group belongs to partition abs(hash(groupId)) % N of that
// topic, and its coordinator is that partition's leader. A commit is appended on the leader and
// acknowledged once the in-sync replicas hold it (the high watermark passed it), so it survives the
// coordinator's broker dying: the partition's new leader replays the partition and coordinates the
// group from there.
//
// Record values use the same CRC-framed encoding as the single-node offsets log (offset-records.ts).
//
// Bounded like the single-node store: once a partition holds `compactBytes` (and twice its last
// snapshot), its leader appends a snapshot of the partition's current offsets and, once the
// in-sync replicas hold it, moves the log start offset to the snapshot (DeleteRecords), which
// deletes the older segments; followers follow the leader's log start offset. Replaying a
// partition from its log start then rebuilds the same state. This stands in for Kafka's log
// compaction of this topic (which keeps the latest record per key): the result is the same state
// with one snapshot's worth of bytes, and no per-key cleaner is needed for a topic whose only
// reader is this store. Retention is off for the topic (retention.ms=-1), since deleting old
// segments by age would drop the offsets of groups that have not committed lately.
import { encodeRecord, decodeRecords, type OffsetRecord } from './offset-records.ts';
import { OffsetState, StateBackedOffsetStore, type OffsetEntry, type OffsetStore, type TopicPartitionRef } from './offset-store.ts';
import { buildValueBatch, readBatchValues } from '../log/internal-batch.ts';
import { BATCH_HEADER_BYTES, readBatchHeader } from '../log/record-batch.ts';
import type { Partition } from '../topics.ts';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** Default for `compactBytes`. */
export const DEFAULT_OFFSETS_COMPACT_BYTES = 16 * 1024 * 1024;
/** A snapshot is appended in batches of at most this many bytes of record values. */
const SNAPSHOT_BATCH_BYTES = 256 * 1024;

/**
 * Topic configs __consumer_offsets is created with: no retention (snapshots bound it), and segments
 * a quarter of the snapshot threshold, so a trim frees all but one small segment on every replica.
 */
export function offsetsTopicConfigs(compactBytes: number): Record<string, string> {
  return { 'retention.ms': '-1', 'segment.bytes': String(Math.max(16 * 1024, Math.min(100 * 1024 * 1024, Math.floor(compactBytes / 4)))) };
}

/** Java's String.hashCode, so groups land on the partitions Kafka would put them on. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

export function offsetsPartitionFor(groupId: string, partitions: number): number {
  const h = javaStringHash(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

export interface ReplicatedOffsetStoreOptions {
  /** The local __consumer_offsets partition, or undefined when this broker does not host it. */
  partition(index: number): Partition | undefined;
  /** Partition count of __consumer_offsets (0 while the topic does not exist yet). */
  partitionCount(): number;
  /** How long a commit waits for the in-sync replicas. */
  commitTimeoutMs: number;
  /** Snapshot and trim a partition once it holds this many bytes and twice its last snapshot. */
  compactBytes: number;
  log(line: string): void;
}

export class ReplicatedOffsetStore extends StateBackedOffsetStore implements OffsetStore {
  /** Offsets partitions this broker leads and has loaded. */
  private readonly loaded = new Set<number>();
  /** Per loaded partition: records appended but not yet applied (waiting for the replicas), by offset. */
  private readonly inFlight = new Map<number, Map<number, OffsetRecord>>();
  /** Per loaded partition: bytes of its last snapshot (0 before the first). */
  private readonly snapshotBytes = new Map<number, number>();
  private readonly compacting = new Set<number>();

  constructor(private readonly opts: ReplicatedOffsetStoreOptions) {
    super();
  }

  async load(): Promise<void> {}

  /** Whether this broker coordinates the group: it leads the group's offsets partition. */
  owns(groupId: string): boolean {
    const n = this.opts.partitionCount();
    return n > 0 && this.loaded.has(offsetsPartitionFor(groupId, n));
  }

  /** This broker became leader of offsets partition `index`: replay it into memory. */
  loadPartition(index: number): void {
    const partition = this.opts.partition(index);
    if (!partition) return;
    this.unloadPartition(index);
    const log = partition.log;
    let offset = log.logStartOffset;
    let records = 0;
    while (offset < log.logEndOffset) {
      const read = log.read(offset, 4 * 1024 * 1024, true);
      if (read.bytes === 0) break;
      for (const chunk of read.chunks) {
        for (const value of readBatchValues(chunk)) {
          for (const r of decodeRecords(value, 0).records) {
            this.state.applyRecord(r);
            records++;
          }
        }
        offset = lastOffsetAfter(chunk, offset);
      }
    }
    this.loaded.add(index);
    this.inFlight.set(index, new Map());
    this.opts.log(`${OFFSETS_TOPIC}-${index}: loaded ${records} offset record(s) up to ${log.logEndOffset}`);
  }

  /** This broker no longer leads offsets partition `index`: forget its groups. */
  unloadPartition(index: number): void {
    this.loaded.delete(index);
    this.inFlight.delete(index);
    this.snapshotBytes.delete(index);
    const n = this.opts.partitionCount();
    for (const groupId of [...this.state.groups()]) {
      if (n > 0 && offsetsPartitionFor(groupId, n) === index) this.state.deleteGroup(groupId);
    }
  }

  async commit(groupId: string, entries: OffsetEntry[]): Promise<void> {
    await this.append(groupId, { type: 'commit', groupId, entries });
    this.state.apply(groupId, entries);
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.append(groupId, { type: 'deleteGroup', groupId });
    this.state.deleteGroup(groupId);
  }

  async deleteOffsets(groupId: string, partitions: TopicPartitionRef[]): Promise<void> {
    await this.append(groupId, { type: 'deleteOffsets', groupId, partitions });
    this.state.deleteOffsets(groupId, partitions);
  }

  async deleteTopic(topic: string): Promise<void> {
    for (const index of [...this.loaded]) await this.appendTo(index, { type: 'deleteTopic', topic });
    this.state.deleteTopic(topic);
  }

  private append(groupId: string, record: OffsetRecord): Promise<void> {
    const n = this.opts.partitionCount();
    if (n === 0) return Promise.reject(new Error(`${OFFSETS_TOPIC} does not exist yet`));
    return this.appendTo(offsetsPartitionFor(groupId, n), record);
  }

  private async appendTo(index: number, record: OffsetRecord): Promise<void> {
    const { partition, replica } = this.leading(index);
    const appended = partition.log.append(buildValueBatch([encodeRecord(record)], Date.now()), replica.leaderEpoch);
    replica.onLeaderAppend();
    partition.onAppend();
    const pending = this.inFlight.get(index)!;
    pending.set(appended.baseOffset, record);
    try {
      const outcome = await replica.waitForReplication(appended.lastOffset + 1, this.opts.commitTimeoutMs);
      if (outcome !== 'replicated') throw new Error(`${OFFSETS_TOPIC}-${index}: commit not replicated (${outcome})`);
    } finally {
      pending.delete(appended.baseOffset);
    }
    if (partition.log.sizeBytes > Math.max(this.opts.compactBytes, 2 * (this.snapshotBytes.get(index) ?? 0)) && !this.compacting.has(index)) {
      this.compacting.add(index);
      this.compact(index)
        .catch((err: unknown) => this.opts.log(`${OFFSETS_TOPIC}-${index}: snapshot failed, the log keeps growing until the next try: ${(err as Error).message}`))
        .finally(() => this.compacting.delete(index));
    }
  }

  private leading(index: number): { partition: Partition; replica: NonNullable<Partition['replica']> } {
    const partition = this.opts.partition(index);
    const replica = partition?.replica;
    if (!partition || !replica || !replica.isLeader || !this.loaded.has(index)) {
      throw new Error(`this broker is not the leader of ${OFFSETS_TOPIC}-${index}`);
    }
    return { partition, replica };
  }

  /**
   * Appends the partition's current offsets as a snapshot and, once the in-sync replicas hold it,
   * deletes everything before it. The snapshot is the applied state plus the records still waiting
   * for the replicas (in log order), so a commit appended before the snapshot but acknowledged after
   * it is not undone by a replay; one that then fails is in the snapshot as it would be in the log.
   */
  private async compact(index: number): Promise<void> {
    const { partition, replica } = this.leading(index);
    const epoch = replica.leaderEpoch;
    const n = this.opts.partitionCount();
    const state = this.state.copy((groupId) => offsetsPartitionFor(groupId, n) === index);
    for (const [, r] of [...this.inFlight.get(index)!].sort((a, b) => a[0] - b[0])) applyIfInPartition(state, r, index, n);
    const values = [...state.snapshot()].map(encodeRecord);
    const start = partition.log.logEndOffset;
    let bytes = 0;
    let end = start;
    for (let i = 0; i < values.length; ) {
      const batch: Buffer[] = [];
      for (let size = 0; i < values.length && (batch.length === 0 || size + values[i].length <= SNAPSHOT_BATCH_BYTES); i++) {
        batch.push(values[i]);
        size += values[i].length;
      }
      const built = buildValueBatch(batch, Date.now());
      end = partition.log.append(built, replica.leaderEpoch).lastOffset + 1;
      bytes += built.length;
    }
    replica.onLeaderAppend();
    partition.onAppend();
    const outcome = await replica.waitForReplication(end, this.opts.commitTimeoutMs);
    if (outcome !== 'replicated') throw new Error(`snapshot not replicated (${outcome})`);
    // Only while still the leader of the same epoch: then nothing was truncated under the snapshot.
    if (!this.loaded.has(index) || !replica.isLeader || replica.leaderEpoch !== epoch) return;
    const before = partition.log.logStartOffset;
    partition.log.deleteRecordsBefore(start);
    this.snapshotBytes.set(index, bytes);
    this.opts.log(`${OFFSETS_TOPIC}-${index}: snapshot of ${state.size()} offset(s) in ${bytes} bytes at ${start}; log start ${before} -> ${partition.log.logStartOffset}, ${partition.log.sizeBytes} bytes kept`);
  }

  async close(): Promise<void> {
    this.loaded.clear();
  }
}

/** Applies `r` to a snapshot of partition `index`: deleteTopic touches every partition, the others only their group's. */
function applyIfInPartition(state: OffsetState, r: OffsetRecord, index: number, partitions: number): void {
  if (r.type === 'deleteTopic' || offsetsPartitionFor(r.groupId, partitions) === index) state.applyRecord(r);
}

/** The offset after the last whole batch in `chunk` (chunks from PartitionLog.read hold whole batches). */
function lastOffsetAfter(chunk: Buffer, fallback: number): number {
  let next = fallback;
  for (let at = 0; at + BATCH_HEADER_BYTES <= chunk.length; ) {
    const header = readBatchHeader(chunk, at);
    next = header.lastOffset + 1;
    at += header.totalBytes;
  }
  return next;
}
