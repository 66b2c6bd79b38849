// Committed offsets per (group, topic, partition): the store interface, the in-memory state both
// stores share, and a non-durable store for tests and ephemeral brokers.
import type { OffsetRecord } from './offset-records.ts';

/** Entries per commit record in a snapshot, so no single record gets huge. */
const SNAPSHOT_ENTRIES_PER_RECORD = 10_000;

export interface OffsetEntry {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestampMs: number;
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
  entries(groupId: string): Iterable<OffsetEntry>;
  /** Forgets a group's offsets (tombstone); resolves once durable. */
  deleteGroup(groupId: string): Promise<void>;
  /** Forgets every group's offsets for a topic (tombstone); resolves once durable. */
  deleteTopic(topic: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The current committed offsets, in memory. Mutations apply in the order they are issued, so a
 * store that also logs them in that order replays to the same state.
 */
export class OffsetState {
  private readonly byGroup = new Map<string, Map<string, Map<number, OffsetEntry>>>();

  apply(groupId: string, entries: Iterable<OffsetEntry>): void {
    let topics = this.byGroup.get(groupId);
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
      partitions.set(e.partition, { ...e });
    }
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
    this.byGroup.delete(groupId);
  }

  deleteTopic(topic: string): void {
    for (const [groupId, topics] of this.byGroup) {
      if (topics.delete(topic) && topics.size === 0) this.byGroup.delete(groupId);
    }
  }

  /** Applies one logged mutation, as it was applied when issued. */
  applyRecord(r: OffsetRecord): void {
    if (r.type === 'commit') this.apply(r.groupId, r.entries);
    else if (r.type === 'deleteGroup') this.deleteGroup(r.groupId);
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
    for (const topics of this.byGroup.values()) for (const partitions of topics.values()) n += partitions.size;
    return n;
  }
}

/** Keeps offsets in memory only; they are lost when the process ends. */
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

  entries(groupId: string): Iterable<OffsetEntry> {
    return this.state.entries(groupId);
  }
}

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

  async close(): Promise<void> {
    this.closed = true;
  }
}
