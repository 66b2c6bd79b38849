/**
 * Open-loop steady load on the ingress: events are posted at a fixed rate whatever the landscape
 * does (a slow or failing ingress does not slow the arrivals down, as real customers would not),
 * with a bound on requests in flight. Every request is recorded (when it was sent, when it ended,
 * accepted or not), so a runner can cut the timeline into windows: before a fault, during it, after.
 *
 * The throughput runner has its own open-loop generator in a process of its own (open-loop.ts); this
 * driver, in the runner's process, is for the runners that need a known, steady arrival rate while
 * something else happens.
 */
import { ingressPath, type IngressEvent } from './ingress-feed.ts';

export interface SteadyLoadOptions {
  ingressUrl: string;
  /** Ingress events to post, in this order; the load stops early when they run out. */
  events: readonly IngressEvent[];
  ratePerS: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /** Requests in flight at most (default 64); arrivals beyond it are counted as failed ('overload'). */
  inFlightMax?: number;
}

export interface RequestRecord {
  index: number;
  /** The event's kind and its record's identity. */
  kind: string;
  id: string;
  sentAtMs: number;
  /** When the answer came (or the request failed or timed out): the time its outcome happened. */
  endedAtMs: number;
  accepted: boolean;
  /** HTTP status, or 'timeout' / 'connection' / 'overload'. */
  outcome: string;
}

export interface TimelineBucket {
  /** Bucket start, seconds from `fromMs`. */
  tS: number;
  accepted: number;
  failed: number;
}

const TICK_MS = 10;
/** Records kept at most: about 14 hours at 20 orders/s; beyond it the load stops with an error. */
export const REQUEST_RECORDS_MAX = 1_000_000;

export class SteadyLoad {
  private readonly records: RequestRecord[] = [];
  private next = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private startedAtMs = 0;
  private idle: (() => void) | null = null;
  private readonly timeoutMs: number;
  private readonly inFlightMax: number;

  constructor(private readonly opts: SteadyLoadOptions) {
    if (!(opts.ratePerS > 0)) throw new Error(`load rate must be above 0 orders/s, got ${opts.ratePerS}`);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.inFlightMax = opts.inFlightMax ?? 64;
  }

  start(): void {
    if (this.timer) return;
    this.startedAtMs = Date.now();
    const firstIndex = this.next;
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - this.startedAtMs) / 1000) * this.opts.ratePerS) + firstIndex;
      while (this.next < due && this.next < this.opts.events.length && this.records.length < REQUEST_RECORDS_MAX) this.send(this.next++);
      if (this.next >= this.opts.events.length || this.records.length >= REQUEST_RECORDS_MAX) this.pause();
    }, TICK_MS);
  }

  /** Stops sending; resolves when every request in flight has ended. */
  async stop(): Promise<void> {
    this.pause();
    if (this.inFlight > 0) await new Promise<void>((resolve) => { this.idle = resolve; });
  }

  get sent(): number { return this.next; }

  /** Every request so far, in sending order (ended ones; those in flight appear when they end). */
  requests(): readonly RequestRecord[] { return this.records; }

  /** Requests sent in [fromMs, toMs). */
  between(fromMs: number, toMs: number): RequestRecord[] {
    return this.records.filter((r) => r.sentAtMs >= fromMs && r.sentAtMs < toMs);
  }

  /** The events the ingress accepted (2xx), optionally only those sent in [fromMs, toMs). */
  acceptedEvents(fromMs = 0, toMs = Number.POSITIVE_INFINITY): IngressEvent[] {
    return this.records.filter((r) => r.accepted && r.sentAtMs >= fromMs && r.sentAtMs < toMs).map((r) => this.opts.events[r.index]);
  }

  /** Accepted and failed requests per bucket, by the time they were sent (the failures runner counts answers by endedAtMs instead). */
  timeline(fromMs: number, toMs: number, bucketMs = 1000): TimelineBucket[] {
    const n = Math.max(0, Math.ceil((toMs - fromMs) / bucketMs));
    const out: TimelineBucket[] = Array.from({ length: n }, (_, i) => ({ tS: (i * bucketMs) / 1000, accepted: 0, failed: 0 }));
    for (const r of this.between(fromMs, toMs)) {
      const b = out[Math.floor((r.sentAtMs - fromMs) / bucketMs)];
      if (r.accepted) b.accepted++;
      else b.failed++;
    }
    return out;
  }

  private pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private send(index: number): void {
    const event = this.opts.events[index];
    const sentAtMs = Date.now();
    const finish = (accepted: boolean, outcome: string): void => {
      this.records.push({ index, kind: event.kind, id: event.id, sentAtMs, endedAtMs: Date.now(), accepted, outcome });
    };
    if (this.inFlight >= this.inFlightMax) {
      finish(false, 'overload');
      return;
    }
    this.inFlight++;
    fetch(`${this.opts.ingressUrl}${ingressPath(event)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event.record),
      signal: AbortSignal.timeout(this.timeoutMs),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        finish(res.status >= 200 && res.status < 300, String(res.status));
      })
      .catch((err: unknown) => finish(false, (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection'))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0 && this.idle) {
          const resolve = this.idle;
          this.idle = null;
          resolve();
        }
      });
  }
}
