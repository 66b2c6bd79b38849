// When to flush (fsync), as Kafka decides it: after every write (--fsync true, in effect flush.messages=1), once
// flush.messages messages were written since the last flush, or once flush.ms has passed since it. Shared by the
// partition log (log-store.ts) and the committed-offsets log (group/file-offset-store.ts), which do the flushing
// themselves; this only keeps the count, the clock and the flush.ms timer.

export interface FlushSettings {
  /** Flush every write before it is acknowledged. */
  fsyncOnAppend: boolean;
  /** flush.messages; undefined = never. */
  flushMessages?: number;
  /** flush.ms; undefined = never. */
  flushMs?: number;
}

export class FlushPolicy {
  private unflushed = 0;
  private lastFlushMs = Date.now();
  private timer: NodeJS.Timeout | null = null;

  /** `onTimer` runs when flush.ms expires with data still unflushed; it must flush (and contain its own errors). */
  constructor(private readonly onTimer: () => void) {}

  /** Messages (or records) written since the last flush. */
  get unflushedCount(): number {
    return this.unflushed;
  }

  /**
   * Counts `messages` just written; true when the policy wants a flush before they are acknowledged. Otherwise, under
   * flush.ms, arms the timer (once) for when it will be due.
   */
  wrote(s: FlushSettings, messages: number, now: number): boolean {
    this.unflushed += messages;
    const since = now - this.lastFlushMs;
    if (s.fsyncOnAppend || (s.flushMessages !== undefined && this.unflushed >= s.flushMessages) || (s.flushMs !== undefined && since >= s.flushMs)) {
      return true;
    }
    if (s.flushMs !== undefined && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.unflushed > 0) this.onTimer();
      }, s.flushMs - since);
      this.timer.unref();
    }
    return false;
  }

  /** Everything written so far is on disk. */
  flushed(now: number): void {
    this.unflushed = 0;
    this.lastFlushMs = now;
    this.cancel();
  }

  /** Stops the timer (close, or a new flush.ms: the next write re-arms it). */
  cancel(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
