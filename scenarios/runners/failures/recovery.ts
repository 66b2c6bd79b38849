/**
 * When did the service work again after a kill, and how long did the ingress take nothing? Pure
 * functions over what the failures runner recorded: every ingress request of the steady load (sent
 * and answered, by time), and for every accepted order when each system due to receive one of its
 * records received it (the systems' received journals, after the oracle settled). Everything is
 * measured from the kill, by the time things happened (an answer when it came, a record when it
 * arrived), at 100 ms resolution, so a failover before the component is back shows as such.
 *
 * kill → service (killToServiceMs): the service works again at max(ingress back, flow back):
 *  - ingress back (ingressBackAtMs): the answer time of the first accepted ingress answer at or
 *    after the kill from which on the ingress accepted, by answer time, at least RECOVERED_FRACTION
 *    (90 %) of its warm-up rate over the next SERVICE_WINDOW_MS (2 s; near the end of the
 *    observation over what is left of it, at least 0.5 s);
 *  - flow back (flowBackAtMs): the send time of the first order sent at or after the kill that the
 *    ingress accepted and that reached every system due to receive a record of it (the oracle's
 *    expected receptions; the lake left out) within that system's normal delay: the 95th
 *    percentile of its delays (arrival − order sent) over the warm-up, plus 10 % and 100 ms
 *    (NORMAL_DELAY_SLACK, NORMAL_DELAY_MARGIN_MS: jitter, kept small because an order sent up to
 *    that much before the component is back can still arrive in time). A system with no delay
 *    measured in the warm-up is not checked.
 * The time from the kill to that moment, rounded up to the next 100 ms step; null when either
 * never happened within the observation (kill to end of observation).
 *
 * Longest ingress outage (longestIngressOutageMs): the longest gap between two consecutive accepted
 * ingress answers, by the time each answer came, from the last one before the kill (within a second
 * of it) to the end of the observation; a gap still open then ends there.
 */
import type { RequestRecord } from '../../load/steady.ts';
import { ingressRootKey, recordKey, type ExpectedOutcome } from '../../../systems/oracle/index.ts';

/** Recovered: at least this fraction of the warm-up rate. */
export const RECOVERED_FRACTION = 0.9;
/** The span over which the ingress must be back at RECOVERED_FRACTION of its warm-up rate. */
export const SERVICE_WINDOW_MS = 2000;
/** The shortest span left at the end of the observation that can still show the rate is back. */
const SERVICE_WINDOW_MIN_MS = 500;
/** Slack over a system's 95th-percentile warm-up delay still counted as normal: this fraction of it... */
export const NORMAL_DELAY_SLACK = 0.1;
/** ...plus this much. */
export const NORMAL_DELAY_MARGIN_MS = 100;
/** Resolution of kill → service. */
export const SERVICE_STEP_MS = 100;

/** One accepted-or-not order and, per reception the oracle expects of it, when it arrived (null: never). */
export interface OrderPath {
  sentAtMs: number;
  accepted: boolean;
  receptions: readonly { system: string; atMs: number | null }[];
}

/**
 * The ingress back: the answer time of the first accepted answer in [killAtMs, endMs] after which
 * the accepted answers over the next SERVICE_WINDOW_MS (less at the end, at least 0.5 s) reach
 * RECOVERED_FRACTION of the warm-up rate; null when none does.
 */
export function ingressBackAtMs(requests: readonly RequestRecord[], killAtMs: number, endMs: number, baselineAcceptedPerS: number): number | null {
  const answers = requests.filter((r) => r.accepted && r.endedAtMs >= killAtMs && r.endedAtMs <= endMs).map((r) => r.endedAtMs).sort((a, b) => a - b);
  let j = 0;
  for (let i = 0; i < answers.length; i++) {
    const from = answers[i];
    const spanMs = Math.min(SERVICE_WINDOW_MS, endMs - from);
    if (spanMs < SERVICE_WINDOW_MIN_MS) break;
    if (j < i) j = i;
    while (j < answers.length && answers[j] < from + spanMs) j++;
    if (j - i >= RECOVERED_FRACTION * baselineAcceptedPerS * (spanMs / 1000)) return from;
  }
  return null;
}

/** The p-th percentile (0..1) of `xs`, nearest rank; null for none. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/**
 * Each system's normal delay: the 95th percentile of (arrival − order sent) over the accepted orders
 * sent in [fromMs, toMs) (the warm-up), plus NORMAL_DELAY_SLACK of it and NORMAL_DELAY_MARGIN_MS.
 * Systems without one are absent.
 */
export function normalDelayBounds(orders: readonly OrderPath[], fromMs: number, toMs: number): Map<string, number> {
  const delays = new Map<string, number[]>();
  for (const o of orders) {
    if (!o.accepted || o.sentAtMs < fromMs || o.sentAtMs >= toMs) continue;
    for (const r of o.receptions) {
      if (r.atMs === null) continue;
      let list = delays.get(r.system);
      if (!list) delays.set(r.system, (list = []));
      list.push(r.atMs - o.sentAtMs);
    }
  }
  return new Map([...delays].map(([system, ds]) => [system, Math.max(0, percentile(ds, 0.95)!) * (1 + NORMAL_DELAY_SLACK) + NORMAL_DELAY_MARGIN_MS]));
}

/**
 * The flow back: the send time of the first accepted order sent in [killAtMs, endMs) whose every
 * expected reception at a system with a normal delay arrived within it; null when none did.
 */
export function flowBackAtMs(orders: readonly OrderPath[], killAtMs: number, endMs: number, bounds: ReadonlyMap<string, number>): number | null {
  let first: number | null = null;
  for (const o of orders) {
    if (!o.accepted || o.sentAtMs < killAtMs || o.sentAtMs >= endMs) continue;
    if (first !== null && o.sentAtMs >= first) continue;
    const normal = o.receptions.every((r) => {
      const bound = bounds.get(r.system);
      return bound === undefined || (r.atMs !== null && r.atMs - o.sentAtMs <= bound);
    });
    if (normal) first = o.sentAtMs;
  }
  return first;
}

/** kill → service in SERVICE_STEP_MS steps (see the file's header); null when the service was not back within [killAtMs, endMs]. */
export function killToServiceMs(opts: {
  killAtMs: number;
  endMs: number;
  requests: readonly RequestRecord[];
  baselineAcceptedPerS: number;
  orders: readonly OrderPath[];
  bounds: ReadonlyMap<string, number>;
}): { ms: number | null; ingressBackAtMs: number | null; flowBackAtMs: number | null } {
  const ingress = ingressBackAtMs(opts.requests, opts.killAtMs, opts.endMs, opts.baselineAcceptedPerS);
  const flow = flowBackAtMs(opts.orders, opts.killAtMs, opts.endMs, opts.bounds);
  const back = ingress === null || flow === null ? null : Math.max(ingress, flow);
  return { ms: back === null ? null : Math.ceil((back - opts.killAtMs) / SERVICE_STEP_MS) * SERVICE_STEP_MS, ingressBackAtMs: ingress, flowBackAtMs: flow };
}

/** How far before the kill the last accepted answer opens the outage (further back: the kill opens it). */
export const OUTAGE_LOOKBACK_MS = 1000;

/**
 * The longest gap between consecutive accepted ingress answers (by answer time), from the last one
 * in the OUTAGE_LOOKBACK_MS before `killAtMs` (the kill itself when there is none) to `endMs`, the
 * last gap ending there.
 */
export function longestIngressOutageMs(requests: readonly RequestRecord[], killAtMs: number, endMs: number): number {
  const before = requests.filter((r) => r.accepted && r.endedAtMs <= killAtMs && r.endedAtMs >= killAtMs - OUTAGE_LOOKBACK_MS)
    .reduce((m, r) => Math.max(m, r.endedAtMs), Number.NEGATIVE_INFINITY);
  let prev = Number.isFinite(before) ? before : killAtMs;
  const after = requests.filter((r) => r.accepted && r.endedAtMs > killAtMs && r.endedAtMs <= endMs).map((r) => r.endedAtMs).sort((a, b) => a - b);
  let longest = 0;
  for (const t of [...after, endMs]) {
    longest = Math.max(longest, t - prev);
    prev = t;
  }
  return longest;
}

/** Ingress answers per `bucketMs` bucket by the time each came, accepted and failed, over [fromMs, toMs); tS from `zeroMs` (the kill). */
export function outcomeTimeline(requests: readonly RequestRecord[], fromMs: number, toMs: number, zeroMs: number, bucketMs: number): { tS: number; accepted: number; failed: number }[] {
  const n = Math.max(0, Math.ceil((toMs - fromMs) / bucketMs));
  const out = Array.from({ length: n }, (_, i) => ({ tS: Math.round(fromMs - zeroMs + i * bucketMs) / 1000, accepted: 0, failed: 0 }));
  for (const r of requests) {
    if (r.endedAtMs < fromMs || r.endedAtMs >= toMs) continue;
    const b = out[Math.floor((r.endedAtMs - fromMs) / bucketMs)];
    if (r.accepted) b.accepted++;
    else b.failed++;
  }
  return out;
}

/**
 * Every request of the load as an order path: per reception the oracle expects of the order (its
 * records' receptions at systems, found through rootOf), when that system received it (`arrivals`:
 * system → recordKey → first arrival; null when it never did).
 */
export function orderPaths(
  requests: readonly RequestRecord[],
  expected: Pick<ExpectedOutcome, 'received' | 'rootOf'>,
  arrivals: ReadonlyMap<string, ReadonlyMap<string, number>>,
): OrderPath[] {
  const byRoot = new Map<string, { system: string; key: string }[]>();
  for (const [system, byKind] of expected.received) {
    for (const [kind, ids] of byKind) {
      for (const id of ids) {
        const key = recordKey(kind, id);
        const root = expected.rootOf.get(key);
        if (root === undefined) continue;
        let list = byRoot.get(root);
        if (!list) byRoot.set(root, (list = []));
        list.push({ system, key });
      }
    }
  }
  return requests.map((r) => ({
    sentAtMs: r.sentAtMs,
    accepted: r.accepted,
    receptions: (byRoot.get(ingressRootKey(r.kind, r.id)) ?? []).map((x) => ({ system: x.system, atMs: arrivals.get(x.system)?.get(x.key) ?? null })),
  }));
}
