/**
 * Limits over all client connections at once, so that a few hostile or broken clients cannot lock
 * the others out (Kafka's names where Kafka has the setting):
 * - max.connections with the longest-idle connection closed to admit a new one when the broker is
 *   full, as Kafka closes its least recently used connection, so idle sockets cannot lock everyone out;
 * - max.connections.per.ip (and its overrides), so that one address cannot take all connections;
 * - connections.max.idle.ms: a connection with no request being handled that has received nothing
 *   and had no response byte taken for this long is closed;
 * - a deadline for a frame's body: a connection that started a frame and did not complete it in time
 *   is closed (time the broker itself kept it paused does not count);
 * - a broker-wide budget for queued response bytes (ResponseBudget): past it, connections that are
 *   not draining their responses stop being read and served until they drain or the total drops.
 * The decisions are pure functions over snapshots of connection activity; ConnectionTracker applies
 * them (admission on accept, a sweep on a timer).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MemoryPool } from './memory-pool.ts';

/**
 * Response bytes written to sockets but not yet taken by the kernel, over all connections. The
 * connections add and remove; `over` tells them to stop handling requests (and stop reading) while
 * they still have unsent responses, until their own responses drain or the total drops below max.
 */
export class ResponseBudget {
  private queued = 0;
  private peakQueued = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly maxBytes: number) {}

  get queuedBytes(): number {
    return this.queued;
  }

  /** Highest `queuedBytes` seen since start. */
  get peakBytes(): number {
    return this.peakQueued;
  }

  get over(): boolean {
    return this.queued > this.maxBytes;
  }

  /**
   * Bytes that may still be queued before the budget is spent (0 when it is). A connection with no
   * unsent responses is still served past the budget (it is not the one holding memory), so each such
   * response could overshoot by its whole size: Fetch caps its response to this room, past which only
   * KIP-74's one batch goes out, bounding the overshoot to a batch per connection.
   */
  get roomBytes(): number {
    return Math.max(0, this.maxBytes - this.queued);
  }

  add(bytes: number): void {
    this.queued += bytes;
    if (this.queued > this.peakQueued) this.peakQueued = this.queued;
  }

  remove(bytes: number): void {
    const wasOver = this.over;
    this.queued -= bytes;
    if (wasOver && !this.over && this.waiting.size > 0) {
      const resumes = [...this.waiting];
      this.waiting.clear();
      for (const resume of resumes) resume();
    }
  }

  /** `resume` is called once, when the total is back under the budget. */
  waitForRoom(resume: () => void): void {
    this.waiting.add(resume);
  }

  forget(resume: () => void): void {
    this.waiting.delete(resume);
  }
}

/** Why the broker stopped reading a connection: too many queued requests, its share of the request pool, the pool, or its unread responses. */
export type BrokerPause = 'queue' | 'share' | 'pool' | 'responses';

/** What the limits need to know about one connection at one moment. */
export interface ConnectionActivity {
  readonly id: number;
  readonly remoteAddress: string;
  /** Last byte received, response byte taken by the kernel, or request finished. */
  readonly lastActivityMs: number;
  /** When the frame being received started (time paused by the broker left out); null between frames. */
  readonly frameStartedMs: number | null;
  /** A handler is working on a request (a Fetch long poll, an acks=all Produce): not idle. */
  readonly handlingRequest: boolean;
  readonly pausedFor: BrokerPause | null;
}

export interface ConnectionTimeouts {
  /** -1 = no deadline. */
  requestBodyTimeoutMs: number;
  /** connections.max.idle.ms; -1 = never. */
  connectionsMaxIdleMs: number;
}

export interface ConnectionQuotas {
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Per-address exceptions to maxConnectionsPerIp (max.connections.per.ip.overrides). */
  maxConnectionsPerIpOverrides: Readonly<Record<string, number>>;
}

export type CloseReason = 'request-body-timeout' | 'idle' | 'evicted';
export type RefuseReason = 'max-connections' | 'max-connections-per-ip';

export interface CloseDecision {
  id: number;
  reason: CloseReason;
  detail: string;
}

export type Admission =
  | { admit: true; evict: CloseDecision | null }
  | { admit: false; reason: RefuseReason; detail: string };

/** "::ffff:127.0.0.1" (an IPv4 client on a dual-stack listener) counts as 127.0.0.1. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Connections past their frame-body deadline or idle timeout, with the reason. */
export function expiredConnections(conns: Iterable<ConnectionActivity>, nowMs: number, t: ConnectionTimeouts): CloseDecision[] {
  const out: CloseDecision[] = [];
  for (const c of conns) {
    // A client cannot send while the broker is not reading it, so the body deadline stops then. Idle
    // time stops too, except while the pause is the client's doing (not reading its responses).
    const pausedByUs = c.pausedFor !== null && c.pausedFor !== 'responses';
    if (t.requestBodyTimeoutMs >= 0 && c.frameStartedMs !== null && c.pausedFor === null && nowMs - c.frameStartedMs >= t.requestBodyTimeoutMs) {
      out.push({ id: c.id, reason: 'request-body-timeout', detail: `request frame not complete ${nowMs - c.frameStartedMs} ms after it started (request-body-timeout-ms ${t.requestBodyTimeoutMs})` });
    } else if (t.connectionsMaxIdleMs >= 0 && !c.handlingRequest && !pausedByUs && nowMs - c.lastActivityMs >= t.connectionsMaxIdleMs) {
      out.push({ id: c.id, reason: 'idle', detail: `idle for ${nowMs - c.lastActivityMs} ms (connections-max-idle-ms ${t.connectionsMaxIdleMs})` });
    }
  }
  return out;
}

/** The connection idle the longest among those with no request being handled, or null when every one is busy. */
export function longestIdle(conns: Iterable<ConnectionActivity>, nowMs: number): CloseDecision | null {
  let oldest: ConnectionActivity | null = null;
  for (const c of conns) {
    if (c.handlingRequest) continue;
    if (oldest === null || c.lastActivityMs < oldest.lastActivityMs) oldest = c;
  }
  if (oldest === null) return null;
  return { id: oldest.id, reason: 'evicted', detail: `idle the longest (${nowMs - oldest.lastActivityMs} ms); closed to admit a new connection (max-connections)` };
}

export function connectionQuotaFor(address: string, q: ConnectionQuotas): number {
  return q.maxConnectionsPerIpOverrides[address] ?? q.maxConnectionsPerIp;
}

/**
 * Whether a new connection from `address` (normalized) may open: refused when its address is at its
 * quota; when the broker is at max-connections, admitted by closing the longest-idle connection, or
 * refused if every open connection is handling a request.
 */
export function admitConnection(
  address: string,
  openFromAddress: number,
  openCount: number,
  /** The open connections; only looked at when the broker is full. */
  open: () => Iterable<ConnectionActivity>,
  q: ConnectionQuotas,
  nowMs: number,
): Admission {
  const quota = connectionQuotaFor(address, q);
  if (openFromAddress >= quota) {
    return { admit: false, reason: 'max-connections-per-ip', detail: `${openFromAddress} connections open from ${address} (max-connections-per-ip ${quota})` };
  }
  if (openCount < q.maxConnections) return { admit: true, evict: null };
  const evict = longestIdle(open(), nowMs);
  if (evict === null) {
    return { admit: false, reason: 'max-connections', detail: `${openCount} connections open, every one handling a request (max-connections ${q.maxConnections})` };
  }
  return { admit: true, evict };
}

/** How often the timeouts are checked: a quarter of the shortest one, between 10 ms and 1 s; null when both are off. */
export function sweepIntervalMs(t: ConnectionTimeouts): number | null {
  const enabled = [t.requestBodyTimeoutMs, t.connectionsMaxIdleMs].filter((ms) => ms >= 0);
  if (enabled.length === 0) return null;
  return Math.min(1_000, Math.max(10, Math.floor(Math.min(...enabled) / 4)));
}

/** A connection as the tracker sees it. */
export interface TrackedConnection {
  readonly id: number;
  readonly remoteAddress: string;
  activity(): ConnectionActivity;
  describe(): string;
  close(): void;
}

export interface TrackerEvents {
  /** Rate-limited by the caller. */
  log(line: string): void;
  closed(reason: CloseReason): void;
  refused(reason: RefuseReason): void;
}

/** The open connections with their per-address counts; applies admission and the timeouts. */
export class ConnectionTracker<C extends TrackedConnection> {
  private readonly open = new Map<number, C>();
  private readonly perAddress = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly limits: ConnectionQuotas & ConnectionTimeouts,
    private readonly events: TrackerEvents,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.open.size;
  }

  all(): C[] {
    return [...this.open.values()];
  }

  /** Decides on a new connection from `remoteAddress`; may close the longest-idle connection to make room. */
  admit(remoteAddress: string): boolean {
    const address = normalizeAddress(remoteAddress);
    const decision = admitConnection(address, this.perAddress.get(address) ?? 0, this.open.size, () => this.snapshot(), this.limits, this.now());
    if (!decision.admit) {
      this.events.refused(decision.reason);
      this.events.log(`refusing connection from ${remoteAddress}: ${decision.detail}`);
      return false;
    }
    if (decision.evict) this.closeFor(decision.evict);
    return true;
  }

  add(conn: C): void {
    this.open.set(conn.id, conn);
    const address = normalizeAddress(conn.remoteAddress);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  remove(conn: C): void {
    if (!this.open.delete(conn.id)) return;
    const address = normalizeAddress(conn.remoteAddress);
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, n);
  }

  /** Closes every connection past its frame-body deadline or idle timeout. */
  sweep(): void {
    for (const decision of expiredConnections(this.snapshot(), this.now(), this.limits)) this.closeFor(decision);
  }

  start(): void {
    const interval = sweepIntervalMs(this.limits);
    if (interval === null || this.timer) return;
    this.timer = setInterval(() => this.sweep(), interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private snapshot(): ConnectionActivity[] {
    return [...this.open.values()].map((c) => c.activity());
  }

  private closeFor(decision: CloseDecision): void {
    const conn = this.open.get(decision.id);
    if (!conn) return;
    this.events.closed(decision.reason);
    // Idle connections are closed in normal operation (Kafka logs them at debug); the metric counts them.
    if (decision.reason !== 'idle') this.events.log(`${conn.describe()}: ${decision.detail}; closing`);
    conn.close();
  }
}

export interface LimitMetrics {
  closed: Counter<'reason'>;
  refused: Counter<'reason'>;
}

/** The limits' Prometheus metrics, on the broker's registry. */
export function registerLimitMetrics(registry: Registry, pool: MemoryPool, responses: ResponseBudget): LimitMetrics {
  const gauge = (name: string, help: string, value: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(value()); } });
  };
  gauge('untangle_broker_request_pool_bytes', 'Request bytes held in memory across all connections (queued.max.request.bytes budget)', () => pool.used);
  gauge('untangle_broker_request_pool_peak_bytes', 'Highest request bytes held in memory since start', () => pool.peak);
  gauge('untangle_broker_queued_response_bytes', 'Response bytes written but not yet taken by the kernel, across all connections', () => responses.queuedBytes);
  gauge('untangle_broker_queued_response_peak_bytes', 'Highest queued response bytes since start', () => responses.peakBytes);
  return {
    closed: new Counter({ name: 'untangle_broker_connections_closed_total', help: 'Connections closed by a limit: request-body-timeout, idle, evicted', labelNames: ['reason'], registers: [registry] }),
    refused: new Counter({ name: 'untangle_broker_connections_refused_total', help: 'Connections refused: max-connections, max-connections-per-ip', labelNames: ['reason'], registers: [registry] }),
  };
}
