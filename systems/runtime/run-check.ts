import { readLake } from '../lake/index.ts';
import { expectedOutcome, verify, type ExpectedOutcome, type VerifyReport } from '../oracle/index.ts';
import type { Landscape } from './landscape.ts';
import type { ReceivedState } from './core.ts';

export interface DriveResult {
  sent: number;
  /** Status code -> count, for every answer that was not 2xx. */
  failures: Record<string, number>;
  elapsedMs: number;
}

/** Posts each order to the ingress with `concurrency` requests in flight (keep-alive connections). */
export async function driveOrders(ingressUrl: string, orders: readonly object[], concurrency = 16): Promise<DriveResult> {
  const failures: Record<string, number> = {};
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      while (next < orders.length) {
        const order = orders[next++];
        try {
          const res = await fetch(`${ingressUrl}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
          await res.arrayBuffer();
          if (res.status >= 300) failures[String(res.status)] = (failures[String(res.status)] ?? 0) + 1;
        } catch {
          failures.connection = (failures.connection ?? 0) + 1;
        }
      }
    }),
  );
  return { sent: orders.length, failures, elapsedMs: Date.now() - started };
}

/**
 * What every running system says it received over its flows (GET /state), in the oracle's shape.
 * The ingress's own intake (orders from outside) is no flow and is checked through the lake.
 */
export async function collectReceived(landscape: Landscape): Promise<Map<string, Map<string, string[]>>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const s of landscape.topology.systems) {
    if (!landscape.urls[s.id]) continue;
    const viaFlows = new Set(landscape.topology.flows.filter((f) => f.to === s.id).map((f) => f.data));
    const state = (await landscape.state(s.id)) as { received: ReceivedState };
    out.set(s.id, new Map(Object.entries(state.received).filter(([kind]) => viaFlows.has(kind)).map(([kind, r]) => [kind, r.orderIds])));
  }
  return out;
}

export interface OutcomeCheck {
  expected: ExpectedOutcome;
  report: VerifyReport;
  waitedMs: number;
  lakeBadLines: number;
}

export interface WaitOptions {
  pollMs?: number;
  /**
   * Stop early once nothing new has reached the lake for this long: what is missing by then is
   * lost, not late. Default: wait the whole timeout.
   */
  quietMs?: number;
}

/**
 * Waits until the lake and every system hold the expected outcome of `orders` (every expected
 * record present: duplicates do not make it wait), or the lake stood still for `quietMs`, or the time
 * is up; then checks the lake and what every system received against the oracle. Batch and export
 * schedules make the legacy layout settle in seconds, not milliseconds, so this polls.
 */
export async function waitForOutcome(landscape: Landscape, orders: readonly object[], timeoutMs: number, opts: WaitOptions | number = {}): Promise<OutcomeCheck> {
  const { pollMs = 1000, quietMs = Number.POSITIVE_INFINITY } = typeof opts === 'number' ? { pollMs: opts } : opts;
  const expected = expectedOutcome(orders, landscape.topology.flows, { ingress: landscape.topology.systems.find((s) => s.role === 'ingress')?.id });
  const started = Date.now();
  // Progress is judged on the lake: every record ends up there, so when the lake has stood still
  // for quietMs nothing is moving any more.
  let lakeSeen = -1;
  let lakeSeenAtMs = started;
  while (true) {
    const lake = readLake(landscape.lakeDir, landscape.layout);
    const lakeOnly = verify(expected, { lake: lake.records });
    const now = Date.now();
    if (lakeOnly.totals.lake.present !== lakeSeen) [lakeSeen, lakeSeenAtMs] = [lakeOnly.totals.lake.present, now];
    const timeUp = now - started >= timeoutMs;
    const quiet = now - lakeSeenAtMs >= quietMs;
    if (lakeSeen >= expected.records.length || timeUp || quiet) {
      const received = await collectReceived(landscape);
      const report = verify(expected, { lake: lake.records, received });
      const complete = report.totals.lake.lost === 0 && (report.totals.received?.lost ?? 0) === 0;
      if (complete || timeUp || quiet) return { expected, report, waitedMs: now - started, lakeBadLines: lake.bad.length };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
