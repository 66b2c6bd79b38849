/**
 * The sender side of a rest-poll flow: a bounded in-memory log of records that pollers read after a
 * cursor. The cursor is `<epoch>.<seq>`: the epoch changes whenever the log is created afresh (the
 * sender restarted and lost its memory), so a poller holding an old cursor is told to start over
 * instead of silently waiting for a sequence number that will never come back.
 */
import { randomBytes } from 'node:crypto';

export interface FeedPage<R> {
  readonly records: R[];
  /** The cursor to pass as `after` next time (unchanged when nothing new). */
  readonly cursor: string;
  /** Records the poller can never get: evicted from the bounded log before it asked. */
  readonly missed: number;
  /** True when the poller's cursor belonged to an earlier epoch (the sender restarted). */
  readonly reset: boolean;
}

export class BadCursorError extends Error {
  readonly status = 400;
}

export class FeedLog<R = unknown> {
  readonly epoch: string;
  readonly capacity: number;
  private readonly entries: R[] = [];
  /** Sequence number of entries[0]. */
  private firstSeq = 1;
  private evicted = 0;

  constructor(opts: { capacity: number; epoch?: string }) {
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1) throw new RangeError('FeedLog capacity must be a positive integer');
    this.capacity = opts.capacity;
    this.epoch = opts.epoch ?? randomBytes(4).toString('hex');
    if (!/^[A-Za-z0-9_-]+$/.test(this.epoch)) throw new RangeError('FeedLog epoch must be [A-Za-z0-9_-]+');
  }

  /** Appends records; the oldest fall off once capacity is reached. */
  append(...records: R[]): void {
    for (const r of records) {
      this.entries.push(r);
      if (this.entries.length > this.capacity) {
        this.entries.shift();
        this.firstSeq++;
        this.evicted++;
      }
    }
  }

  /** Sequence number of the newest record (0 when nothing was ever appended). */
  get lastSeq(): number {
    return this.firstSeq + this.entries.length - 1;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Records evicted so far (the log is bounded). */
  get evictedCount(): number {
    return this.evicted;
  }

  cursorOf(seq: number): string {
    return `${this.epoch}.${seq}`;
  }

  /** Up to `limit` records after `after` (absent or empty: from the oldest retained record). */
  read(after: string | undefined, limit: number): FeedPage<R> {
    let seq = 0;
    let reset = false;
    if (after) {
      const m = /^([A-Za-z0-9_-]+)\.(\d{1,15})$/.exec(after);
      if (!m) throw new BadCursorError(`bad cursor ${JSON.stringify(after.slice(0, 64))}: expected <epoch>.<seq>`);
      if (m[1] === this.epoch) {
        seq = Number(m[2]);
        if (seq > this.lastSeq) throw new BadCursorError(`cursor ${after} is ahead of the feed (last ${this.cursorOf(this.lastSeq)})`);
      } else {
        reset = true;
      }
    }
    const missed = Math.max(0, this.firstSeq - 1 - seq);
    const from = Math.max(seq + 1, this.firstSeq);
    const start = from - this.firstSeq;
    const records = this.entries.slice(start, start + Math.max(0, limit));
    const lastReturned = records.length > 0 ? from + records.length - 1 : Math.max(seq, this.firstSeq - 1);
    return { records, cursor: this.cursorOf(lastReturned), missed, reset };
  }
}
