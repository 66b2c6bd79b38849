/**
 * Driving a running landscape and checking it against the oracle: post ingress events, read what
 * every system (every instance) says it received, wait until the lake and the systems hold the
 * expected outcome of the events and of the scheduled sources' ticks, then verify.
 */
import { readLake } from '../lake/index.ts';
import { modelOf } from '../model/landscape-model.ts';
import { expectedOutcome, verify, type ExpectedOutcome, type SourceTicks, type VerifyReport } from '../oracle/index.ts';
import type { Landscape } from './landscape.ts';
import type { ReceivedState } from './core.ts';
import { PATHS } from './options.ts';
import type { SourceProgress } from './sources.ts';

export interface DriveResult {
  sent: number;
  /** Status code -> count, for every answer that was not 2xx. */
  failures: Record<string, number>;
  elapsedMs: number;
}

/** Posts each ingress event to the ingress with `concurrency` requests in flight (keep-alive connections). */
export async function driveEvents(ingressUrl: string, events: readonly { kind: string; record: unknown }[], concurrency = 16): Promise<DriveResult> {
  const failures: Record<string, number> = {};
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      while (next < events.length) {
        const event = events[next++];
        try {
          const res = await fetch(`${ingressUrl}${PATHS.ingress(event.kind)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event.record) });
          await res.arrayBuffer();
          if (res.status >= 300) failures[String(res.status)] = (failures[String(res.status)] ?? 0) + 1;
        } catch {
          failures.connection = (failures.connection ?? 0) + 1;
        }
      }
    }),
  );
  return { sent: events.length, failures, elapsedMs: Date.now() - started };
}

interface SystemState {
  received: ReceivedState;
  sources?: SourceProgress[];
}

/** The GET /state of every running instance of a system; instances that do not answer are left out. */
async function statesOf(landscape: Landscape, systemId: string): Promise<SystemState[]> {
  const out: SystemState[] = [];
  for (const name of landscape.instancesOf(systemId)) {
    if (!landscape.urls[name]) continue;
    try {
      out.push((await landscape.state(name)) as SystemState);
    } catch {
      // A killed instance answers nothing; what it journalled is read again once it restarts.
    }
  }
  return out;
}

/** What all instances of a system say they received, merged (null when none answered). */
export async function receivedOfSystem(landscape: Landscape, systemId: string): Promise<ReceivedState | null> {
  const states = await statesOf(landscape, systemId);
  if (states.length === 0) return null;
  const merged: ReceivedState = {};
  for (const s of states) {
    for (const [kind, r] of Object.entries(s.received)) {
      const m = (merged[kind] ??= { count: 0, ids: [], atMs: [], truncated: false });
      m.count += r.count;
      m.ids.push(...r.ids);
      m.atMs!.push(...(r.atMs ?? r.ids.map(() => Number.NaN)));
      m.truncated ||= r.truncated;
    }
  }
  return merged;
}

/**
 * What every running system says it received over its flows (GET /state of each instance), in
 * the oracle's shape. The ingress's own intake (events from outside) is no flow and is checked
 * through the lake.
 */
export async function collectReceived(landscape: Landscape): Promise<Map<string, Map<string, string[]>>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const s of landscape.topology.systems) {
    const viaFlows = new Set(landscape.topology.flows.filter((f) => f.to === s.id).map((f) => f.data));
    const received = await receivedOfSystem(landscape, s.id);
    if (!received) continue;
    out.set(s.id, new Map(Object.entries(received).filter(([kind]) => viaFlows.has(kind)).map(([kind, r]) => [kind, r.ids])));
  }
  return out;
}

/** The ticks every scheduled source of the landscape has started, from the systems' states. */
export async function collectSourceTicks(landscape: Landscape): Promise<SourceTicks[]> {
  const out: SourceTicks[] = [];
  for (const s of landscape.topology.systems) {
    if (s.sources.length === 0) continue;
    const ticks = new Map<number, number>();
    for (const state of await statesOf(landscape, s.id)) {
      for (const p of state.sources ?? []) ticks.set(p.source, Math.max(ticks.get(p.source) ?? 0, p.ticks));
    }
    for (const [source, n] of ticks) out.push({ system: s.id, source, ticks: n });
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
  /** The run's seed (the sources' records are made from it); default 0. */
  seed?: number;
}

/**
 * Waits until the lake and every system hold the expected outcome of `events` and of the source
 * ticks the systems report (every expected record present: duplicates do not make it wait), or
 * the lake stood still for `quietMs`, or the time is up; then checks the lake and what every
 * system received against the oracle. Batch and export schedules make the legacy layout settle in
 * seconds, not milliseconds, so this polls.
 */
export async function waitForOutcome(landscape: Landscape, events: readonly { kind: string; record: unknown }[], timeoutMs: number, opts: WaitOptions | number = {}): Promise<OutcomeCheck> {
  const { pollMs = 1000, quietMs = Number.POSITIVE_INFINITY, seed = 0 } = typeof opts === 'number' ? { pollMs: opts } : opts;
  const kinds = modelOf(landscape.topology).kinds;
  const started = Date.now();
  // Progress is judged on the lake: every record ends up there, so when the lake has stood still
  // for quietMs nothing is moving any more.
  let lakeSeen = -1;
  let lakeSeenAtMs = started;
  // The oracle runs every event through the rules: only again when a source has fired since.
  let expected: ExpectedOutcome | null = null;
  let ticksSeen = '';
  while (true) {
    const sources = await collectSourceTicks(landscape);
    if (!expected || JSON.stringify(sources) !== ticksSeen) {
      expected = expectedOutcome(landscape.topology, { ingress: events, sources, seed }, { layout: landscape.layout });
      ticksSeen = JSON.stringify(sources);
    }
    const lake = readLake(landscape.lakeDir, landscape.layout, kinds);
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
