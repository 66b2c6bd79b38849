/**
 * What the failures runner watches on the landscape's own processes: every running system's
 * GET /state (and the lake sink's) polled about once a second, reduced to two numbers per sample
 * (records received, error counters), plus the blast-radius rule built on them; and, once the
 * run has settled, when each system received each record (for kill → service, failures/recovery.ts).
 */
import type { Landscape } from '../../../systems/runtime/landscape.ts';
import type { ReceivedState } from '../../../systems/runtime/core.ts';
import { PATHS } from '../../../systems/runtime/options.ts';
import { receivedOfSystem } from '../../../systems/runtime/run-check.ts';
import { recordKey } from '../../../systems/oracle/index.ts';

export interface StateSample {
  atMs: number;
  /** GET /state answered 200 in time. */
  ok: boolean;
  pid: number | null;
  /** receivedTotal() of the answer (0 when not ok). */
  received: number;
  /** errorTotal() of the answer (0 when not ok). */
  errors: number;
  problem?: string;
}

/**
 * The counters of GET /state that mean "something went wrong on the way": REST client failures,
 * retries, timeouts and connection errors, 5xx answers of the system's own REST server, poll,
 * handler, scan and write failures, AMQP connect failures, reconnects, nacks and publishes refused
 * for a full buffer, batch records refused for a full buffer, hub publishes that failed, hub
 * handler failures and dead letters, the lake sink's failed commits.
 */
export const ERROR_COUNTERS: ReadonlySet<string> = new Set([
  'failures', 'retries', 'timeouts', 'connectionErrors', 'serverErrors',
  'pollFailures', 'handlerFailures', 'scanFailures', 'writeFailures',
  'connectFailures', 'reconnects', 'nacked', 'bufferRejected', 'recordsRejected',
  'failed', 'deadLettered', 'commitFailures',
]);

/**
 * A process's error total: the sum of every numeric field named in ERROR_COUNTERS anywhere under
 * its GET /state's `wiring`, `rest` and `sink` objects, except under `totals` (sums of the same
 * counters) and `latency`.
 */
export function errorTotal(state: unknown): number {
  const walk = (v: unknown, key: string): number => {
    if (typeof v === 'number') return ERROR_COUNTERS.has(key) && Number.isFinite(v) ? v : 0;
    if (!v || typeof v !== 'object' || key === 'totals' || key === 'latency') return 0;
    let sum = 0;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) sum += walk(x, k);
    return sum;
  };
  const s = (state ?? {}) as Record<string, unknown>;
  return walk(s.wiring, 'wiring') + walk(s.rest, 'rest') + walk(s.sink, 'sink');
}

/**
 * Records a process has received: a system's `received[kind].count` summed over kinds (the
 * ingress counts the orders it took); the lake sink's records taken off the hub (written, skipped
 * as already in the lake, or rejected).
 */
export function receivedTotal(state: unknown): number {
  const s = (state ?? {}) as { received?: ReceivedState; sink?: { written?: number; skippedAlreadyInLake?: number; rejected?: number } };
  if (s.received) return Object.values(s.received).reduce((a, r) => a + (r.count ?? 0), 0);
  if (s.sink) return (s.sink.written ?? 0) + (s.sink.skippedAlreadyInLake ?? 0) + (s.sink.rejected ?? 0);
  return 0;
}

/**
 * Polls GET /state of every process in landscape.urls (systems, and the hub's lake sink) about
 * once a second and keeps the reduced samples (per pid: a restarted process is a new series).
 * What a system received survives its kill -9 in its own journal (systems/runtime/core.ts), so the
 * oracle reads GET /state as it is.
 */
export class StateMonitor {
  private readonly samples = new Map<string, StateSample[]>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly landscape: Landscape, private readonly intervalMs = 1000, private readonly timeoutMs = 900) {}

  names(): string[] {
    return Object.keys(this.landscape.urls);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t0 = Date.now();
        await this.pollAll(this.timeoutMs);
        const wait = Math.max(0, this.intervalMs - (Date.now() - t0));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wake = () => { clearTimeout(timer); resolve(); };
        });
        this.wake = null;
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Polls every process now (a longer timeout than the background polls); also kept as samples. */
  async snapshot(timeoutMs = 3000): Promise<Map<string, StateSample>> {
    return this.pollAll(timeoutMs);
  }

  /** The samples of one process, oldest first. */
  samplesOf(name: string): StateSample[] {
    return [...(this.samples.get(name) ?? [])].sort((a, b) => a.atMs - b.atMs);
  }

  private async pollAll(timeoutMs: number): Promise<Map<string, StateSample>> {
    const names = this.names();
    const results = await Promise.all(names.map((n) => this.poll(n, timeoutMs)));
    return new Map(names.map((n, i) => [n, results[i]]));
  }

  private async poll(name: string, timeoutMs: number): Promise<StateSample> {
    const atMs = Date.now();
    let sample: StateSample;
    try {
      const res = await fetch(`${this.landscape.urls[name]}${PATHS.state}`, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) {
        await res.arrayBuffer();
        sample = { atMs, ok: false, pid: null, received: 0, errors: 0, problem: `HTTP ${res.status}` };
      } else {
        const state = (await res.json()) as { pid?: number; received?: ReceivedState };
        const pid = typeof state.pid === 'number' ? state.pid : null;
        sample = { atMs, ok: true, pid, received: receivedTotal(state), errors: errorTotal(state) };
      }
    } catch (err) {
      const e = err as Error & { cause?: Error };
      sample = { atMs, ok: false, pid: null, received: 0, errors: 0, problem: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.message ?? e.message) };
    }
    let list = this.samples.get(name);
    if (!list) this.samples.set(name, (list = []));
    list.push(sample);
    return sample;
  }
}

/** The received count at `t`, interpolated linearly between the answered samples around it (one pid). */
export function countAt(samples: readonly StateSample[], t: number): number | null {
  const ok = samples.filter((s) => s.ok);
  for (let i = 0; i < ok.length; i++) {
    const s = ok[i];
    if (s.atMs === t) return s.received;
    const next = ok[i + 1];
    if (next && s.atMs < t && t < next.atMs) return s.received + ((next.received - s.received) * (t - s.atMs)) / (next.atMs - s.atMs);
  }
  return null;
}

/**
 * The baseline receive rate of one process: records per second between its first answered
 * sample at or after `fromMs` and its last at or before `toMs` (same pid); null without two such
 * samples.
 */
export function baselineRate(samples: readonly StateSample[], fromMs: number, toMs: number): number | null {
  const inside = samples.filter((s) => s.ok && s.atMs >= fromMs && s.atMs <= toMs);
  if (inside.length < 2) return null;
  const first = inside[0];
  const last = [...inside].reverse().find((s) => s.pid === first.pid)!;
  if (last.atMs <= first.atMs) return null;
  return ((last.received - first.received) * 1000) / (last.atMs - first.atMs);
}

/** A process normally receives when its baseline rate is at least this many records per second. */
export const RECEIVES_MIN_PER_S = 0.5;
/** Stalled: received less than this fraction of what its baseline rate would have given. */
export const STALL_FRACTION = 0.5;

/**
 * Whether one process other than the failed component was affected by the fault. The fault here is
 * the down period: from the snapshot taken right before the kill (`pre`) to the snapshot taken
 * right after the restart was ready (`post`), both of every process's GET /state. The process is
 * affected when any of:
 *  - errors: its error total (errorTotal) at `post` is above that at `pre`;
 *  - stall: it normally receives (baseline rate >= RECEIVES_MIN_PER_S records/s, measured in the
 *    warm-up) and it received less than STALL_FRACTION of baseline rate × the down period;
 *  - down: `post` did not answer, or answered with another pid (it died or was restarted);
 *  - ingress: it is the ingress system and at least one order sent during the down period was not
 *    accepted.
 * A process whose `pre` did not answer is not judged (it was already down before the fault).
 */
export function judgeProcess(opts: {
  pre: StateSample | undefined;
  post: StateSample | undefined;
  baselinePerS: number | null;
  isIngress: boolean;
  ingressFailed: number;
}): { judged: boolean; affected: boolean; why: string[] } {
  const { pre, post, baselinePerS } = opts;
  if (!pre?.ok) return { judged: false, affected: false, why: [] };
  const why: string[] = [];
  if (!post?.ok || post.pid !== pre.pid) {
    why.push(post?.ok ? `restarted (pid ${pre.pid} → ${post.pid})` : `down (${post?.problem ?? 'no answer'})`);
  } else {
    if (post.errors > pre.errors) why.push(`errors +${post.errors - pre.errors}`);
    const windowS = (post.atMs - pre.atMs) / 1000;
    const got = post.received - pre.received;
    if (baselinePerS !== null && baselinePerS >= RECEIVES_MIN_PER_S && got < STALL_FRACTION * baselinePerS * windowS) {
      why.push(`stalled (received ${got} in ${windowS.toFixed(1)} s, baseline ${baselinePerS.toFixed(1)}/s)`);
    }
  }
  if (opts.isIngress && opts.ingressFailed > 0) why.push(`${opts.ingressFailed} ingress request(s) failed`);
  return { judged: true, affected: why.length > 0, why };
}

/**
 * When each system first received each record over its flows, from what every instance journalled
 * (GET /state `received[kind].atMs`): system → oracle recordKey → arrival (ms since the epoch).
 * Read once the run has settled; records without a time (an older system) are left out.
 */
export async function collectArrivals(landscape: Landscape): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const s of landscape.topology.systems) {
    const viaFlows = new Set(landscape.topology.flows.filter((f) => f.to === s.id).map((f) => f.data));
    const received = await receivedOfSystem(landscape, s.id);
    if (!received) continue;
    const arrivals = new Map<string, number>();
    for (const [kind, r] of Object.entries(received)) {
      if (!viaFlows.has(kind)) continue;
      r.ids.forEach((id, i) => {
        const at = r.atMs?.[i];
        if (typeof at !== 'number' || !Number.isFinite(at)) return;
        const key = recordKey(kind, id);
        const had = arrivals.get(key);
        if (had === undefined || at < had) arrivals.set(key, at);
      });
    }
    out.set(s.id, arrivals);
  }
  return out;
}
