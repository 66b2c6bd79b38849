// Committed offsets per (group, topic, partition): the store interface, the in-memory state both
// stores share, and a non-durable store for tests and ephemeral brokers.
import type { OffsetRecord } from './offset-records.ts';

/** Entries per commit record in a snapshot, so no single record gets huge. */
const SNAPSHOT_ENTRIES_PER_RECORD = 10_000;

/**
 * Estimated heap bytes of one committed offset with empty metadata: the entry object and its slot
 * in the partition map (about 140 measured on Node 20 over a million entries, rounded up).
 */
export const OFFSET_ENTRY_OVERHEAD_BYTES = 160;

/** Estimated heap bytes of one committed offset: the overhead plus its metadata at two bytes a UTF-16 unit. */
export function offsetEntryBytes(metadata: string | null): number {
  return OFFSET_ENTRY_OVERHEAD_BYTES + 2 * (metadata?.length ?? 0);
}

export interface OffsetEntry {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestampMs: number;
}

/** One partition of a topic, as OffsetDelete names it. */
export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface OffsetStore {
  /** Reads the persisted state; call once before serving. */
  load(): Promise<void>;
  /** Records one group's commit; resolves once durable. All entries of one call land or none do. */
  commit(groupId: string, entries: OffsetEntry[]): Promise<void>;
  get(groupId: string, topic: string, partition: number): OffsetEntry | undefined;
  /** Groups with at least one committed offset. */
  groups(): Iterable<string>;
  hasGroup(groupId: string): boolean;
  groupCount(): number;
  /** Committed partitions the group holds. */
  offsetCount(groupId: string): number;
  /** Estimated heap bytes of every committed offset held (offsetEntryBytes summed). */
  estimatedBytes(): number;
  entries(groupId: string): Iterable<OffsetEntry>;
  /** Forgets a group's offsets (tombstone); resolves once durable. */
  deleteGroup(groupId: string): Promise<void>;
  /** Forgets every group's offsets for a topic (tombstone); resolves once durable. */
  deleteTopic(topic: string): Promise<void>;
  /** Forgets some of a group's offsets (OffsetDelete; one tombstone record for all); resolves once durable. */
  deleteOffsets(groupId: string, partitions: TopicPartitionRef[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The current committed offsets, in memory. Mutations apply in the order they are issued, so a
 * store that also logs them in that order replays to the same state.
 */
export class OffsetState {
  private readonly byGroup = new Map<string, Map<string, Map<number, OffsetEntry>>>();
  /** Committed partitions per group, kept with every mutation so limits are checked in O(1). */
  private readonly countByGroup = new Map<string, number>();
  private bytesHeld = 0;

  apply(groupId: string, entries: Iterable<OffsetEntry>): void {
    let topics = this.byGroup.get(groupId);
    let added = 0;
    for (const e of entries) {
      if (!topics) {
        topics = new Map();
        this.byGroup.set(groupId, topics);
      }
      let partitions = topics.get(e.topic);
      if (!partitions) {
        partitions = new Map();
        topics.set(e.topic, partitions);
      }
      const old = partitions.get(e.partition);
      if (old) this.bytesHeld -= offsetEntryBytes(old.metadata);
      else added++;
      partitions.set(e.partition, { ...e });
      this.bytesHeld += offsetEntryBytes(e.metadata);
    }
    if (topics) this.countByGroup.set(groupId, (this.countByGroup.get(groupId) ?? 0) + added);
  }

  offsetCount(groupId: string): number {
    return this.countByGroup.get(groupId) ?? 0;
  }

  estimatedBytes(): number {
    return this.bytesHeld;
  }

  get(groupId: string, topic: string, partition: number): OffsetEntry | undefined {
    return this.byGroup.get(groupId)?.get(topic)?.get(partition);
  }

  groups(): Iterable<string> {
    return this.byGroup.keys();
  }

  hasGroup(groupId: string): boolean {
    return this.byGroup.has(groupId);
  }

  groupCount(): number {
    return this.byGroup.size;
  }

  *entries(groupId: string): Iterable<OffsetEntry> {
    const topics = this.byGroup.get(groupId);
    if (!topics) return;
    for (const partitions of topics.values()) yield* partitions.values();
  }

  deleteGroup(groupId: string): void {
    for (const e of this.entries(groupId)) this.bytesHeld -= offsetEntryBytes(e.metadata);
    this.byGroup.delete(groupId);
    this.countByGroup.delete(groupId);
  }

  deleteTopic(topic: string): void {
    for (const [groupId, topics] of this.byGroup) {
      const partitions = topics.get(topic);
      if (!partitions) continue;
      for (const e of partitions.values()) this.bytesHeld -= offsetEntryBytes(e.metadata);
      this.countByGroup.set(groupId, this.offsetCount(groupId) - partitions.size);
      topics.delete(topic);
      if (topics.size === 0) {
        this.byGroup.delete(groupId);
        this.countByGroup.delete(groupId);
      }
    }
  }

  /** Forgets the named partitions' offsets of one group (absent ones are skipped); the group goes once it holds none. */
  deleteOffsets(groupId: string, partitions: Iterable<TopicPartitionRef>): void {
    const topics = this.byGroup.get(groupId);
    if (!topics) return;
    let removed = 0;
    for (const { topic, partition } of partitions) {
      const byPartition = topics.get(topic);
      const e = byPartition?.get(partition);
      if (!byPartition || !e) continue;
      this.bytesHeld -= offsetEntryBytes(e.metadata);
      byPartition.delete(partition);
      removed++;
      if (byPartition.size === 0) topics.delete(topic);
    }
    if (topics.size === 0) {
      this.byGroup.delete(groupId);
      this.countByGroup.delete(groupId);
    } else {
      this.countByGroup.set(groupId, this.offsetCount(groupId) - removed);
    }
  }

  /** Applies one logged mutation, as it was applied when issued. */
  applyRecord(r: OffsetRecord): void {
    if (r.type === 'commit') this.apply(r.groupId, r.entries);
    else if (r.type === 'deleteGroup') this.deleteGroup(r.groupId);
    else if (r.type === 'deleteOffsets') this.deleteOffsets(r.groupId, r.partitions);
    else this.deleteTopic(r.topic);
  }

  /** A copy of the groups `keep` accepts. */
  copy(keep: (groupId: string) => boolean = () => true): OffsetState {
    const out = new OffsetState();
    for (const groupId of this.byGroup.keys()) if (keep(groupId)) out.apply(groupId, this.entries(groupId));
    return out;
  }

  /** The whole state as commit records (a snapshot): replaying them into an empty state rebuilds it. */
  *snapshot(): Iterable<OffsetRecord> {
    for (const groupId of this.byGroup.keys()) {
      let chunk: OffsetEntry[] = [];
      for (const e of this.entries(groupId)) {
        chunk.push(e);
        if (chunk.length >= SNAPSHOT_ENTRIES_PER_RECORD) {
          yield { type: 'commit', groupId, entries: chunk };
          chunk = [];
        }
      }
      if (chunk.length > 0) yield { type: 'commit', groupId, entries: chunk };
    }
  }

  /** Entry count, used to size compaction thresholds. */
  size(): number {
    let n = 0;
    for (const count of this.countByGroup.values()) n += count;
    return n;
  }
}

/** The read side every store shares: answered from the in-memory state. */
export abstract class StateBackedOffsetStore {
  protected readonly state = new OffsetState();

  get(groupId: string, topic: string, partition: number): OffsetEntry | undefined {
    return this.state.get(groupId, topic, partition);
  }

  groups(): Iterable<string> {
    return this.state.groups();
  }

  hasGroup(groupId: string): boolean {
    return this.state.hasGroup(groupId);
  }

  groupCount(): number {
    return this.state.groupCount();
  }

  offsetCount(groupId: string): number {
    return this.state.offsetCount(groupId);
  }

  estimatedBytes(): number {
    return this.state.estimatedBytes();
  }

  entries(groupId: string): Iterable<OffsetEntry> {
    return this.state.entries(groupId);
  }
}

/** Keeps offsets in memory only; they are lost when the process ends. */
export class MemoryOffsetStore extends StateBackedOffsetStore implements OffsetStore {
  private closed = false;

  async load(): Promise<void> {}

  async commit(groupId: string, entries: OffsetEntry[]): Promise<void> {
    if (this.closed) throw new Error('offset store is closed');
    this.state.apply(groupId, entries);
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.state.deleteGroup(groupId);
  }

  async deleteTopic(topic: string): Promise<void> {
    this.state.deleteTopic(topic);
  }

  async deleteOffsets(groupId: string, partitions: TopicPartitionRef[]): Promise<void> {
    this.state.deleteOffsets(groupId, partitions);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
