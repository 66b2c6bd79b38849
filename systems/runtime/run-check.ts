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

/**
 * Waits until the lake holds the expected outcome of `orders` (or the time is up), then checks
 * the lake and what every system received against the oracle. Batch and export schedules make
 * the legacy layout settle in seconds, not milliseconds, so this polls.
 */
export async function waitForOutcome(landscape: Landscape, orders: readonly object[], timeoutMs: number, pollMs = 1000): Promise<OutcomeCheck> {
  const expected = expectedOutcome(orders, landscape.topology.flows, { ingress: landscape.topology.systems.find((s) => s.role === 'ingress')?.id });
  const started = Date.now();
  while (true) {
    const lake = readLake(landscape.lakeDir, landscape.layout);
    const lakeOnly = verify(expected, { lake: lake.records });
    const timeUp = Date.now() - started >= timeoutMs;
    if (lakeOnly.totals.lake.present >= expected.records.length || timeUp) {
      const received = await collectReceived(landscape);
      const report = verify(expected, { lake: lake.records, received });
      if (report.ok || timeUp) return { expected, report, waitedMs: Date.now() - started, lakeBadLines: lake.bad.length };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
