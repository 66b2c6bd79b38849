/**
 * The throughput and cost runner. Per layout: start the landscape of the run's systems as OS
 * processes (hub: with our broker as one more process under the same supervisor; legacy: on the
 * machine's RabbitMQ), warm it up, then step through the connection counts. Each step drives the
 * ingress closed-loop with autocannon for `stepS`, every request a different order of the run's
 * seeded stream, then waits (at most `settleS`) until the accepted orders' effects are all there,
 * and measures:
 *  - accepted orders/s, errors, non-2xx, ingress latency (autocannon's histogram of 2xx answers);
 *  - completion: the share of accepted orders with every expected lake record and every expected
 *    receipt (the oracle over this step's orders only), and end-to-end latency per order (arrival
 *    of its last effect minus its send time);
 *  - CPU seconds per process and bytes written (/proc/PID/stat and /proc/PID/io wchar) over the
 *    step and its settling, per 1,000 accepted orders / per accepted order, and the busiest process.
 *    The window ends when the last effect is seen (or settleS runs out), so idle work while
 *    settling (pollers, export timers, fetch loops) is part of the cost; the runner's own GET
 *    /state reads are kept out of it.
 * Stepping stops once a step's accepted rate falls below `saturationDrop` × the best so far.
 */
import type { ThroughputResult, ThroughputStep } from '../../report/model.ts';
import type { ResolvedHub } from '../../infra/kafka.ts';
import { driveEvents } from '../../systems/runtime/run-check.ts';
import { modelOf } from '../../systems/model/landscape-model.ts';
import type { Landscape } from '../../systems/runtime/landscape.ts';
import type { ThroughputSettings } from '../settings.ts';
import { noteForReport, throwIfAborted, type RunnerContext } from './context.ts';
import { startRunnerLandscape } from './landscape.ts';
import { costBetween, findRabbitMq, measuredProcesses, round, sampleCost, type CostSample, type MeasuredProcess } from './throughput/cost.ts';
import { expectStep, LakeWatcher, percentile, settle, type Settled } from './throughput/effects.ts';
import { runLoadStep, type LoadStepResult } from './throughput/load.ts';
import { IngressFeed } from '../load/ingress-feed.ts';

type LayoutName = 'legacy' | 'hub';
type ThroughputLayout = ThroughputResult['layouts'][number];

/** Orders posted (and waited for) before the first step: connection pools, JITs and consumer groups warm up. */
export const WARMUP_ORDERS = 20;

export async function runThroughput(ctx: RunnerContext, settings: ThroughputSettings, layouts: LayoutName[]): Promise<ThroughputResult> {
  const out: ThroughputLayout[] = [];
  for (const layout of layouts) {
    throwIfAborted(ctx);
    out.push(await runLayout(ctx, settings, layout));
  }
  return { stepDurationS: settings.stepS, layouts: out };
}

interface Running {
  landscape: Landscape;
  hub: ResolvedHub | null;
  procs: MeasuredProcess[];
  stop(): Promise<void>;
}

async function start(ctx: RunnerContext, layout: LayoutName): Promise<Running> {
  let rabbitPid: number | null = null;
  if (layout === 'legacy' && ctx.amqpUrl) {
    const rabbit = findRabbitMq(ctx.amqpUrl);
    rabbitPid = rabbit.pid;
    noteForReport(ctx, `throughput legacy: ${rabbit.note}`);
  }
  const rl = await startRunnerLandscape(ctx, { layout, name: `tput-${layout}`, systems: ctx.systems });
  if (rl.hub && rl.hub.pid === null) noteForReport(ctx, `throughput hub: the broker is not ours (${rl.hub.brokers.join(',')}): its CPU and bytes are not measured`);
  return { landscape: rl.landscape, hub: rl.hub, procs: measuredProcesses(rl.landscape.supervisor, rabbitPid), stop: () => rl.stop() };
}

async function runLayout(ctx: RunnerContext, settings: ThroughputSettings, layout: LayoutName): Promise<ThroughputLayout> {
  ctx.progress.step(`throughput ${layout}: starting ${ctx.systems.length} systems`, 15);
  const running = await start(ctx, layout);
  const { landscape } = running;
  const lake = new LakeWatcher(landscape.lakeDir, layout, modelOf(landscape.topology).kinds);
  // The same events in both layouts: each layout's landscape starts empty.
  const feed = new IngressFeed(landscape.topology, ctx.seed);
  const steps: ThroughputStep[] = [];
  try {
    await warmUp(ctx, settings, layout, running, lake, feed);
    let best: ThroughputStep | null = null;
    for (const connections of settings.connections) {
      throwIfAborted(ctx);
      ctx.progress.step(`throughput ${layout}: ${connections} connection(s) for ${settings.stepS} s, then settling`, settings.stepS + 10);
      const step = await runStep(ctx, settings, layout, running, lake, feed, connections);
      steps.push(step);
      ctx.progress.note(describeStep(layout, step));
      if (!best || step.acceptedPerS > best.acceptedPerS) best = step;
      else if (step.acceptedPerS < settings.saturationDrop * best.acceptedPerS) {
        ctx.progress.note(`throughput ${layout}: saturated (${fmt(step.acceptedPerS)} orders/s < ${settings.saturationDrop} × best ${fmt(best.acceptedPerS)} at ${best.connections} connection(s))`);
        break;
      }
    }
    if (!best) throw new Error(`throughput ${layout}: no step ran`);
    return { layout, steps, saturation: { connections: best.connections, acceptedPerS: best.acceptedPerS } };
  } finally {
    await running.stop().catch((err: Error) => ctx.progress.note(`throughput ${layout}: stopping the landscape: ${err.message}`));
  }
}

/** A few orders through the whole landscape before measuring; their completion is checked, not counted. */
async function warmUp(ctx: RunnerContext, settings: ThroughputSettings, layout: LayoutName, running: Running, lake: LakeWatcher, feed: IngressFeed): Promise<void> {
  ctx.progress.step(`throughput ${layout}: warming up with ${WARMUP_ORDERS} orders`, 8);
  const orders = feed.take(WARMUP_ORDERS);
  const sentAtMs = Date.now();
  const drive = await driveEvents(running.landscape.ingressUrl, orders, 2);
  const failed = Object.values(drive.failures).reduce((a, b) => a + b, 0);
  // Only accepted orders are expected; driveOrders does not say which failed, so only go on when none did.
  if (failed > 0) {
    ctx.progress.note(`throughput ${layout}: warm-up: ${failed} of ${orders.length} orders not accepted (${JSON.stringify(drive.failures)})`);
    return;
  }
  const expectation = expectStep(running.landscape.topology, layout, orders.map((event) => ({ event, sentAtMs })));
  const settled = await settle({ landscape: running.landscape, lake, expectation, deadlineMs: Date.now() + settings.settleS * 1000, signal: ctx.signal });
  const e = settled.evaluation;
  if (e.complete < e.accepted) {
    ctx.progress.note(`throughput ${layout}: warm-up: only ${e.complete} of ${e.accepted} orders complete after ${settings.settleS} s (${e.missingLake} lake records, ${e.missingReceived} receipts missing)`);
  }
}

async function runStep(
  ctx: RunnerContext, settings: ThroughputSettings, layout: LayoutName, running: Running, lake: LakeWatcher, feed: IngressFeed, connections: number,
): Promise<ThroughputStep> {
  const before = sampleCost(running.procs);
  const clientCpu = process.cpuUsage();
  const load: LoadStepResult = await runLoadStep({ ingressUrl: running.landscape.ingressUrl, connections, durationS: settings.stepS, feed, topology: running.landscape.topology, signal: ctx.signal });
  const client = process.cpuUsage(clientCpu);
  // autocannon runs in this process, on the same cores as the landscape: not part of the cost, but worth knowing at saturation.
  const clientCpuS = (client.user + client.system) / 1e6;
  let end: CostSample = sampleCost(running.procs);
  const expectation = expectStep(running.landscape.topology, layout, load.accepted);
  const settled: Settled = await settle({
    landscape: running.landscape, lake, expectation,
    deadlineMs: load.endedAtMs + settings.settleS * 1000,
    beforeStateRound: () => { end = sampleCost(running.procs); },
    signal: ctx.signal,
  });
  const cost = costBetween(before, end, settled.stateBytesInWindow);
  const e = settled.evaluation;
  const accepted = load.accepted.length;
  const label = `throughput ${layout} ${connections} connection(s)`;
  for (const p of cost.problems) noteForReport(ctx, `${label}: ${p}`);
  if (load.misattributed > 0) ctx.progress.note(`${label}: ${load.misattributed} answers did not echo the order they were attributed to`);
  if (settled.truncated.length > 0) noteForReport(ctx, `${label}: received ids truncated at ${settled.truncated.join(', ')}: completion undercounts`);
  if (settled.lakeBadLines > 0) noteForReport(ctx, `${label}: ${settled.lakeBadLines} unreadable lake line(s)`);
  if (e.complete < e.accepted) {
    const t = e.report?.totals;
    noteForReport(ctx, `${label}: ${e.accepted - e.complete} of ${e.accepted} accepted orders incomplete after ${settings.settleS} s ` +
      `(${e.missingLake} lake records and ${e.missingReceived} receipts missing${t ? `; lake ${t.lake.duplicated} duplicated, ${t.lake.mismatched} mismatched` : ''})`);
  }
  if (accepted === 0) noteForReport(ctx, `${label}: no order accepted: completion, CPU and bytes per order are reported as 0`);
  ctx.progress.note(`${label}: the load generator (autocannon, in the runner's process) used ${clientCpuS.toFixed(2)} CPU-s in ${load.durationS.toFixed(1)} s; settled ${((settled.settledAtMs - load.endedAtMs) / 1000).toFixed(1)} s after the load`);
  return {
    connections,
    durationS: round(load.durationS, 3),
    requests: load.sent.length,
    acceptedPerS: round(accepted / load.durationS, 2),
    errors: load.errors,
    non2xx: load.non2xx,
    ingressLatencyMs: load.latencyMs,
    completionRate: e.completionRate, // not rounded: 0.99996 must not read as 1
    e2eLatencyMs: { p50: percentile(e.e2eMs, 50), p99: percentile(e.e2eMs, 99) },
    cpuSecondsPer1000Orders: accepted === 0 ? 0 : round((cost.totalCpuS / accepted) * 1000, 3),
    cpuSecondsPerProcess: cost.perProcess,
    bytesPerOrder: accepted === 0 ? 0 : Math.round(cost.bytesWritten / accepted),
    bottleneck: cost.bottleneck || 'none measured',
  };
}

const fmt = (x: number | null, digits = 1): string => (x === null ? '-' : x.toFixed(digits));

export function describeStep(layout: LayoutName, s: ThroughputStep): string {
  return `throughput ${layout} c=${s.connections}: ${fmt(s.acceptedPerS)} orders/s accepted (${s.requests} requests, ${s.errors} errors, ${s.non2xx} non-2xx), ` +
    `ingress p50/p99/p99.9 ${s.ingressLatencyMs.p50}/${s.ingressLatencyMs.p99}/${s.ingressLatencyMs.p999} ms, ` +
    `completion ${fmt(s.completionRate * 100)} %, e2e p50/p99 ${fmt(s.e2eLatencyMs.p50, 0)}/${fmt(s.e2eLatencyMs.p99, 0)} ms, ` +
    `${fmt(s.cpuSecondsPer1000Orders, 2)} CPU-s per 1,000 orders (bottleneck ${s.bottleneck}), ${s.bytesPerOrder} bytes written per order`;
}
