/**
 * A budget for request bytes held in memory across all connections (Kafka's queued.max.request.bytes).
 *
 * Unlike Kafka, which reserves a frame's whole declared size when it reads the size prefix, the
 * pool counts bytes as they arrive: a size prefix alone costs nothing, so sockets that announce huge
 * frames and send nothing more cannot hold the pool (six of them used to reserve all 512 MiB and stall
 * every other client). The pool only decides who keeps reading once it is full:
 * - a connection holding no request bytes keeps reading (one socket read, at most 64 KiB, past the
 *   budget), so clients whose requests are answered are never starved by others' half-sent frames;
 * - a connection holding bytes pauses (TCP pushes back on its client) until the pool has room;
 * - one connection at a time that is part-way through a frame may finish it past the budget (the
 *   progress slot), so partly received frames can never all wait on each other. The slot is freed
 *   when that frame is complete or its connection closes (a stalled sender is closed by the
 *   request-body deadline).
 * So memory stays below maxBytes plus one frame plus one socket read per connection.
 */
export class MemoryPool {
  private usedBytes = 0;
  private peakBytes = 0;
  private readonly waiting = new Set<() => void>();
  private progressHolder: object | null = null;

  constructor(readonly maxBytes: number) {}

  get used(): number {
    return this.usedBytes;
  }

  /** Highest `used` seen since start. */
  get peak(): number {
    return this.peakBytes;
  }

  get full(): boolean {
    return this.usedBytes >= this.maxBytes;
  }

  /** Counts bytes that were read into memory (they are there already; the caller decides whether to pause). */
  add(bytes: number): void {
    this.usedBytes += bytes;
    if (this.usedBytes > this.peakBytes) this.peakBytes = this.usedBytes;
  }

  release(bytes: number): void {
    const wasFull = this.full;
    this.usedBytes -= bytes;
    if (wasFull && !this.full) this.wake();
  }

  /** Takes the progress slot for `holder` (true) unless another holder has it (false). */
  claimProgress(holder: object): boolean {
    if (this.progressHolder !== null && this.progressHolder !== holder) return false;
    this.progressHolder = holder;
    return true;
  }

  holdsProgress(holder: object): boolean {
    return this.progressHolder === holder;
  }

  /** Frees the progress slot if `holder` has it, and lets the waiting connections try for it. */
  yieldProgress(holder: object): void {
    if (this.progressHolder !== holder) return;
    this.progressHolder = null;
    if (this.full) this.wake();
  }

  /** `resume` is called once, when the pool has room again or the progress slot is free. */
  waitForRoom(resume: () => void): void {
    this.waiting.add(resume);
  }

  forget(resume: () => void): void {
    this.waiting.delete(resume);
  }

  private wake(): void {
    if (this.waiting.size === 0) return;
    const resumes = [...this.waiting];
    this.waiting.clear();
    for (const resume of resumes) resume();
  }
}
