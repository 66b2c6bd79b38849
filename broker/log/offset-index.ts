// Sparse offset index of one segment: (offset relative to the segment's base, file position of the batch that starts
// at that offset). Entries point at batch starts (a batch's baseOffset), so a lookup lands on the batch that holds
// the target or an earlier one within indexIntervalBytes. Kept in memory as typed arrays; written to
// `<base>.index` (int32 relOffset + int32 position, big-endian, 8 bytes per entry) when the segment is sealed or closed.

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  private rel: Int32Array;
  private pos: Int32Array;
  private n = 0;

  constructor(capacity = 64) {
    this.rel = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
  }

  get entries(): number {
    return this.n;
  }

  relOffsetAt(i: number): number {
    return this.rel[i];
  }

  positionAt(i: number): number {
    return this.pos[i];
  }

  /** Position of the last entry, or 0 when empty. */
  get lastPosition(): number {
    return this.n === 0 ? 0 : this.pos[this.n - 1];
  }

  append(relOffset: number, position: number): void {
    if (this.n === this.rel.length) {
      const rel = new Int32Array(this.n * 2);
      const pos = new Int32Array(this.n * 2);
      rel.set(this.rel);
      pos.set(this.pos);
      this.rel = rel;
      this.pos = pos;
    }
    this.rel[this.n] = relOffset;
    this.pos[this.n] = position;
    this.n++;
  }

  /** File position from which to scan for `relOffset`: the largest entry with relOffset <= target, else 0. */
  lookup(relOffset: number): number {
    const i = this.floorEntry(relOffset);
    return i < 0 ? 0 : this.pos[i];
  }

  /**
   * Number of the largest entry with relOffset <= target, or -1 when there is none (scan from byte 0). Readers that
   * verify the entry against the batch it points at (log-read.ts) need the entry, not only its position.
   */
  floorEntry(relOffset: number): number {
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid] <= relOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Drops entries whose batch starts at or after `position` (log truncation). */
  truncateToPosition(position: number): void {
    while (this.n > 0 && this.pos[this.n - 1] >= position) this.n--;
  }

  clear(): void {
    this.n = 0;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.n * OFFSET_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.n; i++) {
      buf.writeInt32BE(this.rel[i], i * OFFSET_INDEX_ENTRY_BYTES);
      buf.writeInt32BE(this.pos[i], i * OFFSET_INDEX_ENTRY_BYTES + 4);
    }
    return buf;
  }

  /**
   * Parses an index file; returns null when it is not plausible for a log of `logBytes` bytes (odd size, entries not
   * strictly increasing, positions beyond the log), in which case the caller rebuilds it from the log.
   */
  static fromBuffer(buf: Buffer, logBytes: number): OffsetIndex | null {
    if (buf.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const count = buf.length / OFFSET_INDEX_ENTRY_BYTES;
    const index = new OffsetIndex(Math.max(64, count));
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < count; i++) {
      const rel = buf.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
      const pos = buf.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (rel <= prevRel || pos <= prevPos || pos >= logBytes) return null;
      index.append(rel, pos);
      prevRel = rel;
      prevPos = pos;
    }
    return index;
  }
}
