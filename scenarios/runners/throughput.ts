/**
 * The throughput and cost runner. For each of `repeats` runs, and in each run for each layout in
 * turn (so run i of both layouts shares the machine's conditions, and a ratio can be taken per
 * run), a fresh landscape of the run's systems is started and measured:
 *  1. idle cost: CPU per second per process with no load, after a warm-up has drained;
 *  2. a cost point at the common rate `costRatePerS`: CPU per order over the steady window only,
 *     split by part (attribution.ts), bytes to storage and to sockets, both latencies;
 *  3. the open-loop rate search (search.ts, point.ts) for the highest sustained rate; runs after
 *     the first start from the first run's result, so their points fall near the edge.
 * The load generator is its own process (open-loop.ts), its CPU reported apart. After the runs,
 * scale-out: the busiest system that is not the ingress at `scaleOutInstances` instances, searched
 * from the first run's rate, to see how far the rate moves and where the bottleneck goes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RatePoint, RateSearch, ThroughputLayoutResult, ThroughputResult, ThroughputRun, ScaleOut, IdleCost } from '../../report/model-throughput.ts';
import { driveEvents } from '../../systems/runtime/run-check.ts';
import { modelOf } from '../../systems/model/landscape-model.ts';
import { loadTopology, restrictTo, serializeTopology, type Topology } from '../../systems/topology/index.ts';
import { HUB_LAKE_SINK, wiringTuning } from '../../systems/runtime/tuning.ts';
import { OpenLoopGenerator } from '../load/open-loop.ts';
import { IngressFeed } from '../load/ingress-feed.ts';
import type { ThroughputSettings } from '../settings.ts';
import { noteForReport, subDir, throwIfAborted, type RunnerContext } from './context.ts';
import { sleep, startRunnerLandscape } from './landscape.ts';
import { attributeCost } from './throughput/attribution.ts';
import { costBetween, findRabbitMq, measuredProcesses, roleOf, sampleCost } from './throughput/cost.ts';
import { expectStep, LakeWatcher, settle } from './throughput/effects.ts';
import { checkLakeOf, describePoint, measurePoint, onlyGeneratorBehind, windowFor, type PointMeasurement, type PointRig } from './throughput/point.ts';
import { searchSustainedRate } from './throughput/search.ts';

type LayoutName = 'legacy' | 'hub';

/** How often a point is measured again when only the load generator fell behind (the machine set the pace). */
const GENERATOR_BEHIND_RETRIES = 2;

/** Orders posted (and waited for) before measuring: connection pools, JITs and consumer groups warm up. */
export const WARMUP_ORDERS = 20;

export async function runThroughput(ctx: RunnerContext, settings: ThroughputSettings, layouts: LayoutName[], repeats = 1): Promise<ThroughputResult> {
  const generator = await OpenLoopGenerator.start({ logFile: join(subDir(ctx, 'logs'), 'load-generator.log') });
  const tradeOffs: string[] = [];
  try {
    const runs = new Map<LayoutName, ThroughputRun[]>(layouts.map((l) => [l, []]));
    for (let run = 1; run <= repeats; run++) {
      for (const layout of layouts) {
        throwIfAborted(ctx);
        const first = runs.get(layout)![0];
        runs.get(layout)!.push(await runOnce(ctx, settings, layout, run, generator, first?.search.sustainedPerS ?? null));
      }
    }
    if (repeats > 1) tradeOffs.push(`runs 2 to ${repeats} started their search at run 1's sustained rate, stepped by 25 % and bisected, with at most ${settings.repeatPoints} points after the cost point`);
    const result: ThroughputLayoutResult[] = [];
    for (const layout of layouts) {
      throwIfAborted(ctx);
      const layoutRuns = runs.get(layout)!;
      let scaleOut: ScaleOut | null = null;
      if (settings.scaleOutInstances > 1) {
        try {
          scaleOut = await runScaleOut(ctx, settings, layout, layoutRuns[0], generator);
        } catch (err) {
          if (ctx.signal?.aborted) throw err;
          noteForReport(ctx, `throughput ${layout}: scale-out not measured: ${(err as Error).message}`);
        }
      }
      result.push({ layout, runs: layoutRuns, scaleOut });
    }
    if (settings.scaleOutInstances > 1) tradeOffs.push('scale-out ran once per layout (not repeated), its search starting at run 1\'s sustained rate');
    return {
      method: {
        repeats,
        ingressP99BoundMs: settings.ingressP99BoundMs,
        minOrdersPerPoint: settings.minOrdersPerPoint,
        precision: settings.precision,
        backlogGrowthBoundMs: settings.backlogGrowthBoundMs,
        costRatePerS: settings.costRatePerS,
        idleS: settings.idleS,
        tradeOffs,
      },
      tuning: wiringTuning().filter((k) => layouts.includes(k.layout)),
      layouts: result,
    };
  } finally {
    await generator.close().catch(() => undefined);
  }
}

/** The slowest scheduled hop to a system in a layout (legacy batch drops and polls), s; 0 in the hub. */
export function scheduledHopS(topology: Topology, layout: LayoutName): number {
  if (layout === 'hub') return 0;
  return Math.max(0, ...topology.flows.map((f) => (f.legacy.scheduleMs ?? 0) / 1000));
}

/** The cost point's ramp: the setting, else 1.2 × the layout's slowest schedule (the hub's: its lake sink's flush interval), at least rampS. */
export function costRampFor(settings: ThroughputSettings, topology: Topology, layout: LayoutName): number {
  if (settings.costRampS !== undefined) return settings.costRampS;
  const slowestMs = layout === 'hub' ? HUB_LAKE_SINK.flushIntervalMs : Math.max(0, ...topology.flows.map((f) => f.legacy.scheduleMs ?? 0), ...topology.systems.map((s) => s.lakeExport?.scheduleMs ?? 0));
  return Math.max(settings.rampS, Math.ceil(1.2 * slowestMs / 1000));
}

interface Started {
  rig: PointRig;
  stop(): Promise<void>;
}

async function startRig(ctx: RunnerContext, settings: ThroughputSettings, layout: LayoutName, name: string, generator: OpenLoopGenerator): Promise<Started> {
  let rabbitPid: number | null = null;
  if (layout === 'legacy' && ctx.amqpUrl) {
    const rabbit = findRabbitMq(ctx.amqpUrl);
    rabbitPid = rabbit.pid;
    if (name.endsWith('-1') || rabbit.pid === null) noteForReport(ctx, `throughput legacy: ${rabbit.note}`);
  }
  const rl = await startRunnerLandscape(ctx, { layout, name, systems: ctx.systems });
  if (rl.hub && rl.hub.pid === null) noteForReport(ctx, `throughput hub: the broker is not ours (${rl.hub.brokers.join(',')}): its CPU and bytes are not measured`);
  const landscape = rl.landscape;
  const rig: PointRig = {
    landscape, layout, generator, settings,
    lake: new LakeWatcher(landscape.lakeDir, layout, modelOf(landscape.topology).kinds),
    // The same events in every layout and run: each landscape starts empty.
    feed: new IngressFeed(landscape.topology, ctx.seed),
    procs: measuredProcesses(landscape.supervisor, rabbitPid),
    scheduledHopS: scheduledHopS(landscape.topology, layout),
    signal: ctx.signal,
    note: (line) => noteForReport(ctx, line),
  };
  return { rig, stop: () => rl.stop() };
}

async function runOnce(ctx: RunnerContext, settings: ThroughputSettings, layout: LayoutName, run: number, generator: OpenLoopGenerator, hint: number | null): Promise<ThroughputRun> {
  ctx.progress.step(`throughput ${layout} run ${run}: starting ${ctx.systems.length} systems`, 15);
  const started = await startRig(ctx, settings, layout, `tput-${layout}-${run}`, generator);
  const { rig } = started;
  try {
    await warmUp(ctx, settings, rig);
    ctx.progress.step(`throughput ${layout} run ${run}: idle cost for ${settings.idleS} s`, settings.idleS + 1);
    const idle = await idleCost(rig, settings.idleS, ctx.signal);
    ctx.progress.note(`throughput ${layout} run ${run}: idle ${idle.totalCpuMsPerS} CPU-ms/s (${idle.perProcess.slice(0, 4).map((p) => `${p.process} ${p.cpuMsPerS}`).join(', ')}, ...)`);
    const costWindowS = windowFor(settings, rig.scheduledHopS, settings.costRatePerS);
    const costRampS = costRampFor(settings, rig.landscape.topology, layout);
    ctx.progress.step(`throughput ${layout} run ${run}: cost at ${settings.costRatePerS} orders/s`, costRampS + costWindowS + 10);
    const m = await measurePoint(rig, { rate: settings.costRatePerS, rampS: costRampS, windowS: costWindowS, accounts: true });
    ctx.progress.note(describePoint(layout, m.point));
    let cost: ThroughputRun['cost'] = null;
    if (m.point.sustained) {
      const a = attributeCost(m, rig.procs);
      for (const p of a.problems) noteForReport(ctx, `throughput ${layout} run ${run} cost point: ${p}`);
      cost = { ratePerS: settings.costRatePerS, rampS: costRampS, windowS: costWindowS, ...a.cost, point: m.point };
      ctx.progress.note(`throughput ${layout} run ${run}: ${cost.cpuMsPerOrder} CPU-ms per order (${Object.entries(cost.parts).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    } else {
      noteForReport(ctx, `throughput ${layout} run ${run}: the cost rate ${settings.costRatePerS} orders/s was not sustained (${m.point.why.join('; ')}): no cost figures from this run`);
    }
    // The cost point is the search's first point: the same criteria, a longer ramp.
    const search = await search_(ctx, settings, rig, `run ${run}`, hint, { rate: settings.costRatePerS, point: m.point, sustained: m.point.sustained },
      hint === null ? settings.maxPoints : Math.min(settings.maxPoints, settings.repeatPoints + 1));
    return { run, idle, search, cost };
  } finally {
    await started.stop().catch((err: Error) => ctx.progress.note(`throughput ${layout}: stopping the landscape: ${err.message}`));
  }
}

/**
 * The rate search on a running landscape: each point waits only for the systems, the lake of all
 * points is checked at the end (checkLakeOf), and the result recomputed from the points as judged
 * then (a point whose orders missed lake records no longer counts as sustained).
 */
async function search_(ctx: RunnerContext, settings: ThroughputSettings, rig: PointRig, label: string, hint: number | null,
  known?: { rate: number; point: RatePoint; sustained: boolean }, maxPoints = settings.maxPoints): Promise<RateSearch> {
  const measured: PointMeasurement[] = [];
  const outcome = await searchSustainedRate(async (rate) => {
    const windowS = windowFor(settings, rig.scheduledHopS, rate);
    ctx.progress.step(`throughput ${rig.layout} ${label}: ${rate} orders/s for ${settings.rampS + windowS} s, then settling`, settings.rampS + windowS + 6);
    let m = await measurePoint(rig, { rate, rampS: settings.rampS, windowS, deferLake: true });
    // A point the load generator could not keep to measured the machine, not the landscape: measure it again (twice
    // at most); the report says so, and a third such verdict stands.
    for (let retry = 1; retry <= GENERATOR_BEHIND_RETRIES && onlyGeneratorBehind(m.point); retry++) {
      noteForReport(ctx, `throughput ${rig.layout} ${label}: ${rate} orders/s measured again (${retry} of ${GENERATOR_BEHIND_RETRIES}): ${m.point.why.join('; ')}`);
      m = await measurePoint(rig, { rate, rampS: settings.rampS, windowS, deferLake: true });
    }
    measured.push(m);
    ctx.progress.note(describePoint(rig.layout, m.point));
    return { point: m.point, sustained: m.point.sustained };
  }, { start: settings.costRatePerS, hint, known, max: settings.maxRatePerS, precision: settings.precision, maxPoints, signal: ctx.signal });
  await checkLakeOf(rig, measured);
  for (const m of measured) if (!m.point.sustained && m.point.why.some((w) => /lake records/.test(w))) noteForReport(ctx, describePoint(rig.layout, m.point));
  const points = outcome.points.map((p) => p.point);
  const sustainedRates = points.filter((p) => p.sustained).map((p) => p.targetPerS);
  const sustainedPerS = sustainedRates.length === 0 ? null : Math.max(...sustainedRates);
  const failedAbove = points.filter((p) => !p.sustained && (sustainedPerS === null || p.targetPerS > sustainedPerS)).map((p) => p.targetPerS);
  const top = points.find((p) => p.sustained && p.targetPerS === sustainedPerS);
  if (outcome.stoppedBecause === 'points') noteForReport(ctx, `throughput ${rig.layout} ${label}: the search used its ${maxPoints} points before reaching the precision asked`);
  if (outcome.stoppedBecause === 'max') noteForReport(ctx, `throughput ${rig.layout} ${label}: sustained up to the search's ceiling of ${settings.maxRatePerS} orders/s: the limit is higher`);
  return { points, sustainedPerS, failedPerS: failedAbove.length === 0 ? null : Math.min(...failedAbove), bottleneck: top?.busiest ?? 'none sustained' };
}

/** A few orders through the whole landscape before measuring; their completion is checked, not counted. */
async function warmUp(ctx: RunnerContext, settings: ThroughputSettings, rig: PointRig): Promise<void> {
  ctx.progress.step(`throughput ${rig.layout}: warming up with ${WARMUP_ORDERS} orders`, 8);
  const orders = rig.feed.take(WARMUP_ORDERS);
  const sentAtMs = Date.now();
  const drive = await driveEvents(rig.landscape.ingressUrl, orders, 2);
  const failed = Object.values(drive.failures).reduce((a, b) => a + b, 0);
  if (failed > 0) {
    ctx.progress.note(`throughput ${rig.layout}: warm-up: ${failed} of ${orders.length} orders not accepted (${JSON.stringify(drive.failures)})`);
    return;
  }
  const expectation = expectStep(rig.landscape.topology, rig.layout, orders.map((event) => ({ event, sentAtMs })));
  // Until the systems have them: the lake exports of these few orders may still run during the idle window (a few records' worth).
  const settled = await settle({ landscape: rig.landscape, lake: rig.lake, expectation, deadlineMs: Date.now() + settings.settleS * 1000, signal: ctx.signal, until: 'systems' });
  const e = settled.evaluation;
  if (e.missingReceived > 0) ctx.progress.note(`throughput ${rig.layout}: warm-up: ${e.missingReceived} effects still missing in the systems after ${settings.settleS} s`);
}

/** CPU per second per process with no load (the warm-up drained first). */
export async function idleCost(rig: Pick<PointRig, 'procs'>, idleS: number, signal?: AbortSignal): Promise<IdleCost> {
  await sleep(1000, signal);
  const a = sampleCost(rig.procs);
  await sleep(idleS * 1000, signal);
  const b = sampleCost(rig.procs);
  const windowS = (b.atMs - a.atMs) / 1000;
  const c = costBetween(a, b);
  const perProcess = c.deltas.map((d) => ({ process: d.process, role: roleOf(d.process), cpuMsPerS: Math.round((d.seconds * 1000 / windowS) * 100) / 100 }));
  return { windowS: Math.round(windowS * 10) / 10, perProcess, totalCpuMsPerS: Math.round((c.totalCpuS * 1000 / windowS) * 100) / 100 };
}

/** The busiest system of run 1's cost point that is not the ingress (the load has one address: no balancer in front of it). */
function busiestSystem(topology: Topology, run: ThroughputRun): string | null {
  const ingress = topology.systems.find((s) => s.role === 'ingress')?.id;
  const bySystem = new Map<string, number>();
  for (const p of run.cost?.perProcess ?? []) {
    if (p.role !== 'system') continue;
    const id = p.process.split('.')[0];
    if (id !== ingress) bySystem.set(id, (bySystem.get(id) ?? 0) + p.msPerOrder);
  }
  return [...bySystem].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

async function runScaleOut(ctx: RunnerContext, settings: ThroughputSettings, layout: LayoutName, first: ThroughputRun, generator: OpenLoopGenerator): Promise<ScaleOut> {
  const topology = restrictTo(loadTopology(ctx.topologyFile), ctx.systems);
  const system = busiestSystem(topology, first);
  if (!system) throw new Error('run 1 has no cost point to find the busiest system from');
  const instances = settings.scaleOutInstances;
  const scaled: Topology = { ...topology, systems: topology.systems.map((s) => (s.id === system ? { ...s, instances } : s)) };
  const file = join(subDir(ctx, `scale-${layout}`), 'topology.yaml');
  writeFileSync(file, serializeTopology(scaled));
  ctx.progress.note(`throughput ${layout}: scale-out: ${system} at ${instances} instances`);
  const started = await startRig({ ...ctx, topologyFile: file }, settings, layout, `tput-${layout}-scaled`, generator);
  try {
    await warmUp(ctx, settings, started.rig);
    const search = await search_(ctx, settings, started.rig, `${system} x${instances}`, first.search.sustainedPerS, undefined, Math.min(settings.maxPoints, settings.repeatPoints));
    return {
      system, instances,
      sustainedPerS1: first.search.sustainedPerS, sustainedPerSN: search.sustainedPerS,
      bottleneck1: first.search.bottleneck, bottleneckN: search.bottleneck,
      search,
    };
  } finally {
    await started.stop().catch((err: Error) => ctx.progress.note(`throughput ${layout}: stopping the scaled landscape: ${err.message}`));
  }
}
