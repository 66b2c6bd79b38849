// The leader epoch cache of a partition (Kafka's KIP-101 LeaderEpochFileCache): for each leader epoch that wrote to
// this log, the offset of its first batch, in epoch order (start offsets strictly increase too). A follower asks the
// leader for the end of its latest epoch (OffsetForLeaderEpoch) to find where its log diverges after a leader
// change; consumers ask the same to detect truncation (KIP-320).
//
// File `leader-epoch-checkpoint` in the partition directory, in Kafka's text format:
//   0          format version
//   2          number of entries
//   0 0        epoch startOffset
//   3 1200
// It is replaced atomically (temp file, fsync, rename, fsync of the directory) whenever the cache changes, which
// happens about once per leader change. A missing or unreadable file is rebuilt from the batch headers'
// partitionLeaderEpoch on open.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from './checkpoint.ts';
import { writeFileAtomic } from './storage.ts';
import type { Segment } from './segment.ts';

export const LEADER_EPOCH_FILE = 'leader-epoch-checkpoint';
const FORMAT_VERSION = 0;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** An OffsetForLeaderEpoch answer; both -1 when undefined. */
export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

const UNDEFINED: EpochEndOffset = { leaderEpoch: -1, endOffset: -1 };
const isCount = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** Parses the checkpoint text; null unless every line is well formed and the entries are strictly increasing. */
function parseCheckpoint(text: string): EpochEntry[] | null {
  const lines = text.split('\n').map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 2 || lines[0] !== String(FORMAT_VERSION) || !/^\d+$/.test(lines[1])) return null;
  const count = Number(lines[1]);
  if (lines.length !== count + 2) return null;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (!m) return null;
    const entry = { epoch: Number(m[1]), startOffset: Number(m[2]) };
    const prev = entries[entries.length - 1];
    if (!isCount(entry.epoch) || !isCount(entry.startOffset)) return null;
    if (prev && (entry.epoch <= prev.epoch || entry.startOffset <= prev.startOffset)) return null;
    entries.push(entry);
  }
  return entries;
}

export class LeaderEpochCache {
  private dirty = false;

  private constructor(
    private readonly dir: string,
    private entries: EpochEntry[],
  ) {}

  /**
   * On open: the checkpoint of `dir` if readable, else a header scan of `segments` (logged when the log has data);
   * then entries starting beyond the log end are dropped and the first one is moved up to the log start.
   */
  static open(dir: string, segments: readonly Segment[], logStartOffset: number, logEndOffset: number, log: (msg: string) => void): LeaderEpochCache {
    const file = path.join(dir, LEADER_EPOCH_FILE);
    let text: string | null = null;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      // missing: rebuilt below
    }
    const parsed = text === null ? null : parseCheckpoint(text);
    let cache: LeaderEpochCache;
    if (parsed) {
      cache = new LeaderEpochCache(dir, parsed);
    } else {
      cache = new LeaderEpochCache(dir, []);
      cache.dirty = true;
      let batches = 0;
      for (const seg of segments) {
        seg.forEachBatch(seg.baseOffset, (h) => {
          batches++;
          cache.assignNewer(h.partitionLeaderEpoch, h.baseOffset);
        });
      }
      if (text !== null || batches > 0) {
        log(`${dir}: ${LEADER_EPOCH_FILE} ${text === null ? 'missing' : 'unreadable'}; rebuilt from ${batches} batch headers (${cache.entries.length} epochs)`);
      } else {
        cache.dirty = false; // a new, empty log: nothing to scan next time either, so no file (and fsyncs) yet
      }
    }
    // An entry may start at the log end (an epoch that has not appended yet) but not beyond it.
    cache.truncateFromEnd(logEndOffset + 1);
    cache.truncateFromStart(logStartOffset);
    cache.persist();
    return cache;
  }

  /** The newest cached epoch, -1 when there is none. */
  get latestEpoch(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1].epoch : -1;
  }

  /** The entries, oldest first (tests, diagnostics). */
  list(): readonly EpochEntry[] {
    return this.entries;
  }

  /**
   * Leader: `epoch` starts at `startOffset` if it is newer than every cached epoch (otherwise nothing changes). As in
   * Kafka, entries starting at or after startOffset are dropped first: those epochs never appended anything.
   */
  assignNewer(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || epoch <= this.latestEpoch) return false;
    this.dropWhile((e) => e.startOffset >= startOffset);
    this.entries.push({ epoch, startOffset });
    this.dirty = true;
    return true;
  }

  /**
   * Follower: the leader's batch at `startOffset` carries `epoch`. The leader's log is the truth, so entries of newer
   * epochs, and entries of older epochs that start at or after this batch, are dropped (normally truncation already
   * removed them); then `epoch` is added unless it is the latest one already.
   */
  assignFromLeader(epoch: number, startOffset: number): boolean {
    if (epoch < 0) return false;
    const dropped = this.dropWhile((e) => e.epoch > epoch || (e.epoch < epoch && e.startOffset >= startOffset));
    const last = this.entries[this.entries.length - 1];
    if (last?.epoch === epoch && last.startOffset <= startOffset) return dropped;
    // A new epoch, or the latest one starting earlier than cached (Kafka moves it back too).
    if (last?.epoch === epoch) this.entries.pop();
    this.dropWhile((e) => e.startOffset >= startOffset);
    this.entries.push({ epoch, startOffset });
    this.dirty = true;
    return true;
  }

  /**
   * Kafka's OffsetForLeaderEpoch answer (LeaderEpochFileCache.endOffsetFor): for the latest epoch, the log end
   * offset; otherwise the largest cached epoch <= `requested` and the start offset of the next cached epoch. A
   * request below every cached epoch gets (requested, first start offset): that history was deleted, and replicas
   * must at least start from there. Undefined (-1, -1) for a negative request, an empty cache, or a request newer
   * than every cached epoch.
   */
  endOffsetFor(requested: number, logEndOffset: number): EpochEndOffset {
    const n = this.entries.length;
    if (requested < 0 || n === 0) return { ...UNDEFINED };
    if (this.entries[n - 1].epoch === requested) return { leaderEpoch: requested, endOffset: logEndOffset };
    const higher = this.entries.findIndex((e) => e.epoch > requested);
    if (higher < 0) return { ...UNDEFINED };
    if (higher === 0) return { leaderEpoch: requested, endOffset: this.entries[0].startOffset };
    return { leaderEpoch: this.entries[higher - 1].epoch, endOffset: this.entries[higher].startOffset };
  }

  /** Drops the entries starting at or after `offset` (log truncation). */
  truncateFromEnd(offset: number): boolean {
    return this.dropWhile((e) => e.startOffset >= offset);
  }

  /**
   * The log now starts at `offset`: entries wholly below it go, but the latest one starting at or below it stays,
   * moved to start at `offset` (Kafka's truncateFromStart).
   */
  truncateFromStart(offset: number): boolean {
    let i = 0;
    while (i < this.entries.length && this.entries[i].startOffset <= offset) i++;
    if (i === 0 || (i === 1 && this.entries[0].startOffset === offset)) return false;
    this.entries.splice(0, i, { epoch: this.entries[i - 1].epoch, startOffset: offset });
    this.dirty = true;
    return true;
  }

  clear(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.dirty = true;
  }

  /** Writes the checkpoint if the cache changed since the last write. */
  persist(): void {
    if (!this.dirty) return;
    const lines = [String(FORMAT_VERSION), String(this.entries.length), ...this.entries.map((e) => `${e.epoch} ${e.startOffset}`)];
    writeFileAtomic(path.join(this.dir, LEADER_EPOCH_FILE), `${lines.join('\n')}\n`);
    fsyncDir(this.dir);
    this.dirty = false;
  }

  private dropWhile(pred: (e: EpochEntry) => boolean): boolean {
    const before = this.entries.length;
    while (this.entries.length > 0 && pred(this.entries[this.entries.length - 1])) this.entries.pop();
    if (this.entries.length === before) return false;
    this.dirty = true;
    return true;
  }
}
