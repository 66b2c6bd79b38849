/**
 * A budget for request bytes held in memory across all connections (Kafka's queued.max.request.bytes).
 * As Kafka does, a connection reserves a frame's whole size when it reads the size prefix, before
 * buffering the body, and releases it once the request has been answered. A connection that cannot
 * reserve stops reading (TCP then pushes back on the client) until memory is released. Reserving up
 * front means paused connections never sit on half-received frames, so the pool cannot deadlock.
 * Per-connection limits alone would let many connections add up to a lot.
 */
export class MemoryPool {
  private usedBytes = 0;
  private readonly paused = new Set<() => void>();

  constructor(readonly maxBytes: number) {}

  get used(): number {
    return this.usedBytes;
  }

  /** Reserves bytes if they fit (or if nothing is reserved at all, so one huge frame still progresses). */
  tryReserve(bytes: number): boolean {
    if (this.usedBytes > 0 && this.usedBytes + bytes > this.maxBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  waitForRoom(resume: () => void): void {
    this.paused.add(resume);
  }

  forget(resume: () => void): void {
    this.paused.delete(resume);
  }

  release(bytes: number): void {
    this.usedBytes -= bytes;
    if (this.paused.size > 0) {
      const resumes = [...this.paused];
      this.paused.clear();
      for (const resume of resumes) resume();
    }
  }
}
