/**
 * The sender side of a rest-poll flow: a bounded in-memory log of records that pollers read after a
 * cursor. The cursor is `<epoch>.<seq>`: the epoch changes whenever the log is created afresh (the
 * sender restarted and lost its memory), so a poller holding an old cursor is told to start over
 * instead of silently waiting for a sequence number that will never come back.
 *
 * With a durable outbox (outbox=durable) the log is kept in an Outbox file (outbox.ts) as well:
 * every record is appended to it before append() returns (a record whose identity is there already
 * is not appended again), the epoch and the sequence numbers are the outbox's, and a restarted
 * sender reads the retained records back, so pollers continue from their cursors instead of
 * starting over. Records evicted from the log are marked done in the outbox every
 * FEED_DONE_EVERY evictions, so the file holds at most capacity + FEED_DONE_EVERY records (plus
 * what compaction has yet to drop, see outbox.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Outbox } from './outbox.ts';

/** outbox=durable: evicted records are marked done in the outbox in steps of this many. */
export const FEED_DONE_EVERY = 1024;

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
  private readonly outbox: Outbox<R> | undefined;

  /**
   * `outbox` (outbox=durable): the feed's outbox (OutboxStore.open(`feed-<kind>`), with the records'
   * identity for dedupe); the log starts with the records it retains, under its epoch.
   */
  constructor(opts: { capacity: number; epoch?: string; outbox?: Outbox<R> }) {
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1) throw new RangeError('FeedLog capacity must be a positive integer');
    this.capacity = opts.capacity;
    if (opts.outbox && opts.epoch !== undefined) throw new Error('a FeedLog with an outbox has the outbox\'s epoch');
    this.epoch = opts.outbox?.epoch ?? opts.epoch ?? randomBytes(4).toString('hex');
    if (!/^[A-Za-z0-9_-]+$/.test(this.epoch)) throw new RangeError('FeedLog epoch must be [A-Za-z0-9_-]+');
    this.outbox = opts.outbox;
    if (this.outbox) {
      const retained = this.outbox.pending().slice(-this.capacity);
      for (const e of retained) this.entries.push(e.record);
      this.firstSeq = retained.length > 0 ? retained[0].seq : this.outbox.lastSeq + 1;
      this.evicted = this.firstSeq - 1;
    }
  }

  /** Appends records; the oldest fall off once capacity is reached. Durable: the outbox has them first. */
  append(...records: R[]): void {
    const fresh = this.outbox ? this.outbox.append(records).map((e) => e.record) : records;
    for (const r of fresh) {
      this.entries.push(r);
      if (this.entries.length > this.capacity) {
        this.entries.shift();
        this.firstSeq++;
        this.evicted++;
      }
    }
    if (this.outbox && this.firstSeq - 1 - this.outbox.doneSeq >= FEED_DONE_EVERY) this.outbox.markDone(this.firstSeq - 1);
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
