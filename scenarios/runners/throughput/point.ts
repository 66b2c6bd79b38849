/**
 * One open-loop point of the throughput runner: the load generator (its own process) sends orders
 * at a fixed rate for a ramp and a window; the landscape's processes are sampled at the window's
 * edges (CPU, bytes, and each system's own CPU split by part from GET /cpu); then the runner waits
 * until every accepted order's effects are in the systems and the lake, and judges the point.
 *
 * A point is sustained when, over the window's orders:
 *  - at most 0.1 % were not accepted (non-2xx, timeout, refused for too many in flight);
 *  - the ingress p99, measured from each order's intended send time, is under the bound;
 *  - every accepted order's effects arrived (every downstream system and the lake) within settleS;
 *  - the backlog did not grow: the median time to the systems of the window's last quarter is at
 *    most the bound above its first quarter's (a landscape that falls behind delays each order
 *    more than the one before). Each quarter must span the landscape's slowest scheduled hop, so
 *    a batch schedule's saw-tooth is not taken for a backlog; with shorter windows the halves are
 *    compared, and with windows shorter than two hops the check is not made (noted);
 *  - the load generator kept its schedule (its p99 lateness under a fifth of the ingress bound),
 *    else the machine, not the landscape, set the pace.
 */
import type { RatePoint } from '../../../report/model-throughput.ts';
import { ingressPath, type IngressEvent, type IngressFeed } from '../../load/ingress-feed.ts';
import type { OpenLoopGenerator, OpenLoopResult } from '../../load/open-loop.ts';
import { ingressRootKey } from '../../../systems/oracle/index.ts';
import type { Landscape } from '../../../systems/runtime/landscape.ts';
import { PATHS } from '../../../systems/runtime/options.ts';
import type { ThroughputSettings } from '../../settings.ts';
import { sleep } from '../landscape.ts';
import { costBetween, sampleCost, type CostSample, type MeasuredProcess } from './cost.ts';
import { expectStep, lakeComplete, lakeLatencies, percentile, settle, type LakeWatcher, type RootLatency, type StepEvaluation, type StepExpectation } from './effects.ts';

/** A system's (or the lake sink's) own CPU account (GET /cpu): total and exclusive parts, µs since it started. */
export interface CpuAccount {
  pid: number;
  totalUs: number;
  partsUs: Record<string, number>;
}

export interface WindowSample {
  procs: CostSample;
  loadgen: CostSample;
  /** By process name; missing when a process did not answer. */
  accounts: Map<string, CpuAccount>;
}

export interface PointRig {
  landscape: Landscape;
  layout: 'legacy' | 'hub';
  lake: LakeWatcher;
  feed: IngressFeed;
  generator: OpenLoopGenerator;
  procs: MeasuredProcess[];
  settings: ThroughputSettings;
  /** The landscape's slowest scheduled hop to a system (legacy batch and poll flows), s; 0 when none. */
  scheduledHopS: number;
  signal?: AbortSignal;
  note(line: string): void;
}

export interface PointPlan {
  rate: number;
  rampS: number;
  /** Default: windowFor(rate). */
  windowS?: number;
  /** Sample each process's own CPU account at the window's edges (the cost point). */
  accounts?: boolean;
  /**
   * Wait only for the systems after the load; the lake is checked later for several points at
   * once (checkLakeOf), which spares each point the wait for the slowest lake export.
   */
  deferLake?: boolean;
}

export interface PointMeasurement {
  point: RatePoint;
  start: WindowSample;
  end: WindowSample;
  windowMs: number;
  /** Window orders that were accepted, by root key. */
  windowRoots: string[];
  expectation: StepExpectation;
  evaluation: StepEvaluation;
}

/** How long a point's window lasts: enough orders for its p99, and four of the slowest scheduled hops. */
/** A latency in whole ms, null kept. */
const round = (x: number | null): number | null => (x === null ? null : Math.round(x));

export function windowFor(settings: ThroughputSettings, scheduledHopS: number, rate: number): number {
  return Math.ceil(Math.max(settings.minWindowS, settings.minOrdersPerPoint / rate, settings.hopsPerWindow * scheduledHopS));
}

/** The generator's p99 lateness may be at most this share of the ingress bound. */
const LATE_SHARE_OF_BOUND = 0.2;
const FAILED_SHARE_MAX = 0.001;

async function takeSample(rig: PointRig, accounts: boolean): Promise<WindowSample> {
  const procs = sampleCost(rig.procs);
  const loadgen = sampleCost([{ name: 'load generator', pid: rig.generator.pid, ioReadable: false }]);
  const out = new Map<string, CpuAccount>();
  if (accounts) {
    await Promise.all(Object.entries(rig.landscape.urls).map(async ([name, url]) => {
      try {
        const res = await fetch(`${url}${PATHS.cpu}`, { signal: AbortSignal.timeout(5000) });
        if (res.ok) out.set(name, (await res.json()) as CpuAccount);
      } catch {
        // Missing from the attribution; the cost point notes it.
      }
    }));
  }
  return { procs, loadgen, accounts: out };
}

export async function measurePoint(rig: PointRig, plan: PointPlan): Promise<PointMeasurement> {
  const { settings } = rig;
  const windowS = plan.windowS ?? windowFor(settings, rig.scheduledHopS, plan.rate);
  const count = Math.ceil((plan.rampS + windowS) * plan.rate);
  const events: IngressEvent[] = rig.feed.take(count);
  let startSample: Promise<WindowSample> | null = null;
  let endSample: Promise<WindowSample> | null = null;
  const result: OpenLoopResult = await rig.generator.run(
    { ingressUrl: rig.landscape.ingressUrl, ratePerS: plan.rate, orders: events.map((e) => ({ path: ingressPath(e), body: JSON.stringify(e.record) })) },
    {
      onStart: (startMs) => {
        const at = (s: number): number => startMs + s * 1000 - Date.now();
        startSample = sleep(at(plan.rampS)).then(() => takeSample(rig, plan.accounts === true));
        endSample = sleep(at(plan.rampS + windowS)).then(() => takeSample(rig, plan.accounts === true));
      },
    },
  );
  if (!startSample || !endSample) throw new Error('the load generator never reported its start');
  const start = await (startSample as Promise<WindowSample>);
  const end = await (endSample as Promise<WindowSample>);
  const windowFrom = result.startMs + plan.rampS * 1000;
  const windowTo = windowFrom + windowS * 1000;

  const accepted = result.results.filter((r) => typeof r.outcome === 'number' && r.outcome >= 200 && r.outcome < 300);
  const expectation = expectStep(rig.landscape.topology, rig.layout, accepted.map((r) => ({ event: events[r.i], sentAtMs: r.intendedMs })));
  const settled = await settle({
    landscape: rig.landscape, lake: rig.lake, expectation, deadlineMs: Date.now() + settings.settleS * 1000, signal: rig.signal,
    until: plan.deferLake ? 'systems' : 'all',
  });
  const evaluation = settled.evaluation;

  const inWindow = result.results.filter((r) => r.intendedMs >= windowFrom && r.intendedMs < windowTo);
  const okInWindow = inWindow.filter((r) => typeof r.outcome === 'number' && r.outcome >= 200 && r.outcome < 300);
  const windowRoots = okInWindow.map((r) => ingressRootKey(events[r.i].kind, events[r.i].id));
  const ingress = okInWindow.map((r) => r.endedMs - r.intendedMs);
  const lat = windowRoots.map((k) => evaluation.perRoot.get(k));
  const toSystems = lat.flatMap((l) => (l?.toSystemsMs == null ? [] : [l.toSystemsMs]));
  const toLake = lat.flatMap((l) => (l?.toLakeMs == null ? [] : [l.toLakeMs]));
  const complete = lat.filter((l) => (plan.deferLake ? l?.systemsComplete : l?.complete)).length;
  const backlogGrowthMs = backlogGrowth(lat, windowFrom, windowTo, rig.scheduledHopS * 1000);
  const failed = inWindow.length - okInWindow.length;
  const cost = costBetween(start.procs, end.procs);

  const why: string[] = [];
  if (inWindow.length === 0) why.push('no order was scheduled in the window');
  if (failed > FAILED_SHARE_MAX * inWindow.length) why.push(`${failed} of ${inWindow.length} orders not accepted (${outcomesOf(inWindow)})`);
  const p99 = percentile(ingress, 99);
  if (p99 !== null && p99 > settings.ingressP99BoundMs) why.push(`ingress p99 ${Math.round(p99)} ms above the bound of ${settings.ingressP99BoundMs} ms`);
  if (complete < okInWindow.length) {
    why.push(`${okInWindow.length - complete} of ${okInWindow.length} accepted orders without all their effects ${plan.deferLake ? 'in the systems ' : ''}${settings.settleS} s after the load`);
  }
  if (backlogGrowthMs !== null && backlogGrowthMs > settings.backlogGrowthBoundMs) {
    why.push(`backlog growing: the time to the systems rose by ${Math.round(backlogGrowthMs)} ms over the window (bound ${settings.backlogGrowthBoundMs} ms)`);
  }
  // Lateness only adds to the latencies (they count from the intended time); a generator far
  // behind its schedule means the machine, not the landscape, set the pace.
  const lateP99 = percentile(result.results.map((r) => r.sentMs - r.intendedMs), 99) ?? 0;
  if (lateP99 > LATE_SHARE_OF_BOUND * settings.ingressP99BoundMs) {
    why.push(`${GENERATOR_BEHIND} (p99 ${Math.round(lateP99)} ms late, ${result.lateSends} of ${result.results.length} sends more than 10 ms late): the machine set the pace`);
  }
  for (const p of cost.problems) rig.note(`throughput ${rig.layout} at ${plan.rate}/s: ${p}`);
  const point: RatePoint = {
    targetPerS: plan.rate,
    rampS: plan.rampS,
    windowS,
    sent: inWindow.length,
    accepted: okInWindow.length,
    failed,
    acceptedPerS: Math.round((okInWindow.length / windowS) * 100) / 100,
    ingressLatencyMs: { p50: round(percentile(ingress, 50)), p99: round(p99), p999: round(percentile(ingress, 99.9)), max: round(ingress.length ? Math.max(...ingress) : null) },
    toSystemsMs: { p50: round(percentile(toSystems, 50)), p99: round(percentile(toSystems, 99)) },
    toLakeMs: { p50: round(percentile(toLake, 50)), p99: round(percentile(toLake, 99)) },
    completionRate: okInWindow.length === 0 ? 0 : complete / okInWindow.length,
    backlogGrowthMs: round(backlogGrowthMs),
    sustained: why.length === 0,
    why,
    busiest: cost.bottleneck || 'none measured',
  };
  return { point, start, end, windowMs: windowS * 1000, windowRoots, expectation, evaluation };
}

/** How a point's verdict starts when the load generator could not keep its schedule (the machine set the pace). */
export const GENERATOR_BEHIND = 'the load generator fell behind its schedule';

/** True when the generator falling behind is the only reason a point was not sustained: the point says nothing of the landscape. */
export function onlyGeneratorBehind(point: RatePoint): boolean {
  return !point.sustained && point.why.length > 0 && point.why.every((w) => w.startsWith(GENERATOR_BEHIND));
}

/**
 * The median time to the systems of the window's last quarter minus its first quarter's (halves
 * when a quarter is shorter than the slowest scheduled hop); null when not judged (a half shorter
 * than the hop, or no order with effects in a system in either part).
 */
export function backlogGrowth(lat: readonly (RootLatency | undefined)[], fromMs: number, toMs: number, hopMs: number): number | null {
  const span = toMs - fromMs;
  const part = span / 4 >= hopMs ? span / 4 : span / 2 >= hopMs ? span / 2 : null;
  if (part === null) return null;
  const medianOf = (a: number, b: number): number | null =>
    percentile(lat.flatMap((l) => (l && l.toSystemsMs !== null && l.sentAtMs >= a && l.sentAtMs < b ? [l.toSystemsMs] : [])), 50);
  const first = medianOf(fromMs, fromMs + part);
  const last = medianOf(toMs - part, toMs);
  return first === null || last === null ? null : last - first;
}

/**
 * The lake check of points measured with deferLake, in one go: waits (at most settleS) until the
 * lake holds every record of their orders, then sets each point's time to the lake and completion,
 * and turns a point whose orders miss lake records into one not sustained.
 */
export async function checkLakeOf(rig: PointRig, measured: readonly PointMeasurement[]): Promise<void> {
  if (measured.length === 0) return;
  const lakeWant = new Map<string, string>();
  const keys = new Set<string>();
  for (const m of measured) {
    for (const [k, v] of m.expectation.lakeWant) lakeWant.set(k, v);
    for (const k of m.expectation.keys) keys.add(k);
  }
  const deadline = Date.now() + rig.settings.settleS * 1000;
  let lake = rig.lake.read(keys);
  while (!lakeComplete({ lakeWant }, lake) && Date.now() < deadline && !rig.signal?.aborted) {
    await sleep(500, rig.signal);
    lake = rig.lake.read(keys, Date.now() >= deadline);
  }
  lake = rig.lake.read(keys, true);
  for (const m of measured) {
    const toLake = lakeLatencies(m.expectation, lake);
    const values = m.windowRoots.map((r) => toLake.get(r) ?? null);
    const present = values.filter((v): v is number => v !== null);
    const missing = values.length - present.length;
    const p = m.point;
    p.toLakeMs = { p50: round(percentile(present, 50)), p99: round(percentile(present, 99)) };
    const systemsDone = m.windowRoots.filter((r) => m.evaluation.perRoot.get(r)?.systemsComplete).length;
    const done = m.windowRoots.filter((r, i) => values[i] !== null && m.evaluation.perRoot.get(r)?.systemsComplete).length;
    p.completionRate = m.windowRoots.length === 0 ? 0 : done / m.windowRoots.length;
    if (missing > 0 && systemsDone === m.windowRoots.length) {
      p.why.push(`${missing} of ${m.windowRoots.length} accepted orders without all their lake records ${rig.settings.settleS} s after the last point`);
      p.sustained = false;
    }
  }
}


function outcomesOf(results: OpenLoopResult['results']): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    const k = typeof r.outcome === 'number' ? (r.outcome >= 200 && r.outcome < 300 ? null : String(r.outcome)) : r.outcome;
    if (k !== null) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}

/** One line for the progress display. */
export function describePoint(layout: string, p: RatePoint): string {
  const f = (x: number | null): string => (x === null ? '-' : String(x));
  return `throughput ${layout} ${p.targetPerS}/s for ${p.windowS} s: ${p.sustained ? 'sustained' : `not sustained (${p.why.join('; ')})`}; ` +
    `ingress p50/p99 ${f(p.ingressLatencyMs.p50)}/${f(p.ingressLatencyMs.p99)} ms, to systems p50/p99 ${f(p.toSystemsMs.p50)}/${f(p.toSystemsMs.p99)} ms, ` +
    `to lake p99 ${f(p.toLakeMs.p99)} ms, backlog growth ${f(p.backlogGrowthMs)} ms, busiest ${p.busiest}`;
}
