// Sparse time index of one segment: (max timestamp so far, relative offset of the first batch that reached it).
// Timestamps strictly increase across entries. An entry (T, O) means every batch before O has maxTimestamp < T and
// batch O has maxTimestamp T, so the first batch with maxTimestamp >= ts lies at or after the offset of the last
// entry with T < ts. File `<base>.timeindex`: int64 timestamp + int32 relOffset, big-endian, 12 bytes per entry.
import { readInt64, writeInt64 } from './record-batch.ts';

export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  private ts: Float64Array;
  private rel: Int32Array;
  private n = 0;

  constructor(capacity = 64) {
    this.ts = new Float64Array(capacity);
    this.rel = new Int32Array(capacity);
  }

  get entries(): number {
    return this.n;
  }

  /** Timestamp of the last entry, or -1. */
  get lastTimestamp(): number {
    return this.n === 0 ? -1 : this.ts[this.n - 1];
  }

  get lastRelOffset(): number {
    return this.n === 0 ? -1 : this.rel[this.n - 1];
  }

  /** Appends only when the timestamp grows (so entries stay strictly increasing). */
  maybeAppend(timestamp: number, relOffset: number): void {
    if (timestamp <= this.lastTimestamp) return;
    if (this.n > 0 && relOffset <= this.rel[this.n - 1]) return;
    if (this.n === this.ts.length) {
      const ts = new Float64Array(this.n * 2);
      const rel = new Int32Array(this.n * 2);
      ts.set(this.ts);
      rel.set(this.rel);
      this.ts = ts;
      this.rel = rel;
    }
    this.ts[this.n] = timestamp;
    this.rel[this.n] = relOffset;
    this.n++;
  }

  timestampAt(i: number): number {
    return this.ts[i];
  }

  relOffsetAt(i: number): number {
    return this.rel[i];
  }

  /** Number of the last entry with timestamp < ts, or -1 if none (for readers that verify the entry, log-read.ts). */
  entryBefore(timestamp: number): number {
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] < timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Drops entries at or after relOffset. */
  truncateToRelOffset(relOffset: number): void {
    while (this.n > 0 && this.rel[this.n - 1] >= relOffset) this.n--;
  }

  clear(): void {
    this.n = 0;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.n * TIME_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.n; i++) {
      writeInt64(buf, i * TIME_INDEX_ENTRY_BYTES, this.ts[i]);
      buf.writeInt32BE(this.rel[i], i * TIME_INDEX_ENTRY_BYTES + 8);
    }
    return buf;
  }

  /** Parses a time index file; null when implausible (caller rebuilds from the log). */
  static fromBuffer(buf: Buffer, maxRelOffset: number): TimeIndex | null {
    if (buf.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const count = buf.length / TIME_INDEX_ENTRY_BYTES;
    const index = new TimeIndex(Math.max(64, count));
    for (let i = 0; i < count; i++) {
      const ts = readInt64(buf, i * TIME_INDEX_ENTRY_BYTES);
      const rel = buf.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
      if (rel < 0 || rel > maxRelOffset || ts <= index.lastTimestamp || (i > 0 && rel <= index.lastRelOffset)) {
        return null;
      }
      index.maybeAppend(ts, rel);
    }
    return index;
  }
}
