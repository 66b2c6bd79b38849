// Committed offsets in a cluster: stored as records of the replicated internal topic
// __consumer_offsets, as Kafka does. A group belongs to partition abs(hash(groupId)) % N of that
// topic, and its coordinator is that partition's leader. A commit is appended on the leader and
// acknowledged once the in-sync replicas hold it (the high watermark passed it), so it survives the
// coordinator's broker dying: the partition's new leader replays the partition and coordinates the
// group from there.
//
// Record values use the same CRC-framed encoding as the single-node offsets log (offset-records.ts).
// The topic is not compacted: it grows with every commit until retention (weak for long runs).
import { encodeRecord, decodeRecords, type OffsetRecord } from './offset-records.ts';
import { StateBackedOffsetStore, type OffsetEntry, type OffsetStore } from './offset-store.ts';
import { buildValueBatch, readBatchValues } from '../log/internal-batch.ts';
import { BATCH_HEADER_BYTES, readBatchHeader } from '../log/record-batch.ts';
import type { Partition } from '../topics.ts';

export const OFFSETS_TOPIC = '__consumer_offsets';

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
  log(line: string): void;
}

export class ReplicatedOffsetStore extends StateBackedOffsetStore implements OffsetStore {
  /** Offsets partitions this broker leads and has loaded. */
  private readonly loaded = new Set<number>();

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
            this.applyRecord(r);
            records++;
          }
        }
        offset = lastOffsetAfter(chunk, offset);
      }
    }
    this.loaded.add(index);
    this.opts.log(`${OFFSETS_TOPIC}-${index}: loaded ${records} offset record(s) up to ${log.logEndOffset}`);
  }

  /** This broker no longer leads offsets partition `index`: forget its groups. */
  unloadPartition(index: number): void {
    this.loaded.delete(index);
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
    const partition = this.opts.partition(index);
    const replica = partition?.replica;
    if (!partition || !replica || !replica.isLeader || !this.loaded.has(index)) {
      throw new Error(`this broker is not the leader of ${OFFSETS_TOPIC}-${index}`);
    }
    const batch = buildValueBatch([encodeRecord(record)], Date.now());
    const appended = partition.log.append(batch, replica.leaderEpoch);
    replica.onLeaderAppend();
    partition.onAppend();
    const outcome = await replica.waitForReplication(appended.lastOffset + 1, this.opts.commitTimeoutMs);
    if (outcome !== 'replicated') throw new Error(`${OFFSETS_TOPIC}-${index}: commit not replicated (${outcome})`);
  }

  private applyRecord(r: OffsetRecord): void {
    if (r.type === 'commit') this.state.apply(r.groupId, r.entries);
    else if (r.type === 'deleteGroup') this.state.deleteGroup(r.groupId);
    else this.state.deleteTopic(r.topic);
  }

  async close(): Promise<void> {
    this.loaded.clear();
  }
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
