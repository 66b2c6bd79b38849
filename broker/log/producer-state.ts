// Idempotent-producer state of one partition: per producerId, its epoch and the sequence ranges of its last 5
// appended batches (Kafka's max.in.flight for idempotence), so a retried batch is recognised and answered with its
// original offsets instead of being written twice.
//
// Durability: the state is derived from the log itself (only batch headers are needed). A snapshot
// `<20-digit offset>.snapshot` (state after every batch below that offset) is written at each segment roll and at
// close; open() loads the newest snapshot not beyond the log end and replays the headers after it. A SIGKILL
// therefore costs at most a header scan of the active segment, and retries after a crash are still deduplicated.
//
// Limits: producers idle longer than expirationMs (Kafka's producer.id.expiration.ms, 1 day) are dropped, and at most
// maxProducers are kept (least recently appended evicted first). A forgotten producer is treated as unknown.
// "Idle" is measured by the broker's wall clock at append (Kafka uses the batch timestamp, a client clock); a
// producer rebuilt from the log counts as seen when it was replayed.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { ATTR_CONTROL, incrementSequence, type BatchHeader } from './record-batch.ts';
import { segmentFileName, type Segment } from './segment.ts';
import { writeFileAtomic } from './storage.ts';

export const PRODUCER_BATCHES_KEPT = 5;
const EXPIRY_SWEEP_INTERVAL_MS = 60_000;
const SNAPSHOTS_KEPT = 2;

export interface SequenceBatch {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: SequenceBatch[]; // oldest first, at most PRODUCER_BATCHES_KEPT
  lastTimestamp: number;
}

export interface ProducerLimits {
  maxProducers: number;
  expirationMs: number;
}

export class ProducerStateManager {
  private producers = new Map<number, ProducerEntry>();
  private lastSweepMs = 0;

  constructor(private limits: ProducerLimits) {}

  get size(): number {
    return this.producers.size;
  }

  setLimits(limits: ProducerLimits): void {
    this.limits = limits;
  }

  clear(): void {
    this.producers.clear();
  }

  /**
   * Validates an idempotent batch against the producer's state. Returns the original batch when this one is a retry
   * of one of the last 5 (same epoch and same sequence range), null when it may be appended; throws
   * INVALID_PRODUCER_EPOCH (47) for a fenced epoch and OUT_OF_ORDER_SEQUENCE_NUMBER (45) for a gap.
   *
   * An unknown producer may start at any sequence (Kafka >= 2.5, KIP-360): its state may have been lost to
   * retention, truncation or expiry, and rejecting it would wedge the producer; the cost is no gap check for its
   * first batch after such a loss.
   */
  check(producerId: number, epoch: number, firstSeq: number, lastOffsetDelta: number): SequenceBatch | null {
    const entry = this.producers.get(producerId);
    if (!entry) return null;
    if (epoch < entry.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `producer ${producerId} epoch ${epoch} is older than the current epoch ${entry.epoch}`,
      );
    }
    if (epoch > entry.epoch) {
      if (firstSeq !== 0) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${producerId} new epoch ${epoch} must start at sequence 0, got ${firstSeq}`,
        );
      }
      return null;
    }
    const lastSeq = incrementSequence(firstSeq, lastOffsetDelta);
    for (const b of entry.batches) {
      if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return b;
    }
    if (entry.batches.length === 0) return null;
    const expected = incrementSequence(entry.batches[entry.batches.length - 1].lastSeq, 1);
    if (firstSeq !== expected) {
      throw new KafkaError(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `producer ${producerId} epoch ${epoch}: expected sequence ${expected}, got ${firstSeq}`,
      );
    }
    return null;
  }

  /** Records an appended batch (also used to replay the log): no validation, a new epoch resets the history. */
  record(
    producerId: number,
    epoch: number,
    firstSeq: number,
    lastOffsetDelta: number,
    baseOffset: number,
    timestampMs: number,
  ): void {
    let entry = this.producers.get(producerId);
    if (entry && entry.epoch === epoch) {
      this.producers.delete(producerId); // re-insert below: Map order = least recently appended first
    } else {
      if (entry) this.producers.delete(producerId);
      entry = { epoch, batches: [], lastTimestamp: timestampMs };
    }
    entry.batches.push({
      firstSeq,
      lastSeq: incrementSequence(firstSeq, lastOffsetDelta),
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
    });
    if (entry.batches.length > PRODUCER_BATCHES_KEPT) entry.batches.shift();
    entry.lastTimestamp = Math.max(entry.lastTimestamp, timestampMs);
    this.producers.set(producerId, entry);
    if (this.producers.size > this.limits.maxProducers) {
      const oldest = this.producers.keys().next();
      if (!oldest.done) this.producers.delete(oldest.value);
    }
  }

  /**
   * Records a batch already in the log (recovery replay, follower append) from its header: idempotent data batches
   * only, no validation. Returns false for batches that carry no producer state.
   */
  replay(h: BatchHeader, nowMs: number): boolean {
    if (h.producerId < 0 || (h.attributes & ATTR_CONTROL) !== 0) return false;
    this.record(h.producerId, h.producerEpoch, h.baseSequence, h.lastOffsetDelta, h.baseOffset, nowMs);
    return true;
  }

  /** Drops producers idle for expirationMs; sweeps at most once a minute. */
  expire(nowMs: number, force = false): void {
    if (!force && nowMs - this.lastSweepMs < EXPIRY_SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = nowMs;
    for (const [pid, entry] of this.producers) {
      if (nowMs - entry.lastTimestamp >= this.limits.expirationMs) this.producers.delete(pid);
    }
  }

  /** State of one producer (tests, diagnostics). */
  get(producerId: number): { epoch: number; batches: readonly SequenceBatch[] } | undefined {
    return this.producers.get(producerId);
  }

  serialize(offset: number): string {
    const producers: unknown[] = [];
    for (const [pid, e] of this.producers) {
      const flat: number[] = [];
      for (const b of e.batches) flat.push(b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffset);
      producers.push([pid, e.epoch, e.lastTimestamp, flat]);
    }
    return JSON.stringify({ version: 1, offset, producers });
  }

  /** Replaces the state with a parsed snapshot; returns false (state cleared) if it is malformed. */
  load(json: string, expectedOffset: number): boolean {
    this.producers.clear();
    try {
      const v = JSON.parse(json) as { version: number; offset: number; producers: unknown[] };
      if (v.version !== 1 || v.offset !== expectedOffset || !Array.isArray(v.producers)) return false;
      for (const p of v.producers) {
        const [pid, epoch, lastTimestamp, flat] = p as [number, number, number, number[]];
        if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(epoch) || !Array.isArray(flat) || flat.length % 4) {
          throw new Error('bad producer entry');
        }
        const batches: SequenceBatch[] = [];
        for (let i = 0; i < flat.length; i += 4) {
          batches.push({ firstSeq: flat[i], lastSeq: flat[i + 1], baseOffset: flat[i + 2], lastOffset: flat[i + 3] });
        }
        this.producers.set(pid, { epoch, batches, lastTimestamp: Number(lastTimestamp) });
      }
      return true;
    } catch {
      this.producers.clear();
      return false;
    }
  }
}

// ---- Snapshot files ----

const SNAPSHOT_RE = /^(\d{20})\.snapshot$/;

export function listSnapshotOffsets(dir: string): number[] {
  const offsets: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = SNAPSHOT_RE.exec(name);
    if (m) offsets.push(Number(m[1]));
  }
  return offsets.sort((a, b) => a - b);
}

export function snapshotPath(dir: string, offset: number): string {
  return path.join(dir, segmentFileName(offset, '.snapshot'));
}

/** Writes the snapshot for `offset` and keeps only the newest SNAPSHOTS_KEPT files. */
export function writeSnapshot(dir: string, state: ProducerStateManager, offset: number): void {
  writeFileAtomic(snapshotPath(dir, offset), state.serialize(offset));
  const offsets = listSnapshotOffsets(dir);
  for (const o of offsets.slice(0, Math.max(0, offsets.length - SNAPSHOTS_KEPT))) {
    fs.rmSync(snapshotPath(dir, o), { force: true });
  }
}

/** Deletes snapshots taken beyond `offset` (after truncation they describe batches that no longer exist). */
export function deleteSnapshotsAbove(dir: string, offset: number): void {
  for (const o of listSnapshotOffsets(dir)) if (o > offset) fs.rmSync(snapshotPath(dir, o), { force: true });
}

/**
 * Loads the newest usable snapshot with minOffset <= offset <= maxOffset into `state`; returns its offset, or -1
 * (state empty) when there is none and the caller must replay from the start of the log.
 */
export function loadLatestSnapshot(dir: string, state: ProducerStateManager, minOffset: number, maxOffset: number): number {
  const offsets = listSnapshotOffsets(dir).filter((o) => o >= minOffset && o <= maxOffset);
  for (let i = offsets.length - 1; i >= 0; i--) {
    try {
      if (state.load(fs.readFileSync(snapshotPath(dir, offsets[i]), 'utf8'), offsets[i])) return offsets[i];
    } catch {
      // unreadable: try an older one
    }
  }
  state.clear();
  return -1;
}

/**
 * Rebuilds `state` for a log: the newest snapshot not beyond the log end, then a header-only replay of the batches
 * after it (stale snapshots beyond the log end are deleted first). Returns a line worth logging, or null when the
 * snapshot was current.
 */
export function rebuildProducerState(dir: string, state: ProducerStateManager, segments: readonly Segment[]): string | null {
  const leo = segments[segments.length - 1].nextOffset;
  deleteSnapshotsAbove(dir, leo);
  const snap = loadLatestSnapshot(dir, state, segments[0].baseOffset, leo);
  const from = snap >= 0 ? snap : segments[0].baseOffset;
  let replayed = 0;
  // Replayed producers count as seen now: batch timestamps are client clocks and may be arbitrarily old.
  const now = Date.now();
  for (const seg of segments) {
    if (seg.nextOffset <= from) continue;
    seg.forEachBatch(from, (h) => {
      if (h.baseOffset >= from && state.replay(h, now)) replayed++;
    });
  }
  if (snap >= 0 && replayed === 0) return null;
  return `producer state rebuilt from ${snap >= 0 ? `snapshot ${snap}` : 'the log start'} + ${replayed} batches`;
}
