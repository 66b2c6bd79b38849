/**
 * The failures runner: in each layout, under a steady open-loop order load, kill -9 one component
 * at a time (every system, RabbitMQ or the broker, the lake sink), keep it down, restart it, watch
 * what happens, and at the end ask the oracle what the faults cost.
 *
 * Per layout: the infrastructure (failures/infra.ts: legacy: a private RabbitMQ node, never the
 * machine's shared one; hub: our broker as its own process under the landscape's Supervisor;
 * hub-cluster: three of our brokers as processes, replicated topics), the landscape of the run's
 * systems under a run id of its own, SteadyLoad at loadOrdersPerS on the ingress, a warm-up (the
 * baselines: accepted orders/s at the ingress, received records/s of every process), then for each
 * component: snapshot every process's GET /state, kill -9, sample the one place an operator would
 * look while it is down (observe the landscape's /state about once a second throughout), restart,
 * snapshot again, observe observeS (hub-cluster, after a broker: and until every replica is back
 * in sync, so the next broker is killed in a whole cluster). After the last fault the load stops,
 * the oracle checks every accepted order (waitForOutcome, settleS at most), each lost or
 * duplicated record is charged to the fault whose window (kill → end of its observation) its order
 * was sent in and each lost one to its cause, and the systems' journals say when each record
 * arrived (for kill → service).
 *
 * Each layout runs with the integration practices the settings give it (practicesFor: legacy as
 * grown, legacy-ha with every best practice, the hub layouts as grown but idempotent delivery),
 * recorded with its results. legacy and legacy-ha run the legacy wiring, hub and hub-cluster the hub's.
 *
 * The definitions of each figure are next to the code that computes it: blast radius in
 * failures/observe.ts (judgeProcess), kill → service and the longest ingress outage in
 * failures/recovery.ts, locatability in failures/locate.ts (concludeLocation; hub-cluster's place in
 * failures/cluster-locate.ts), loss attribution and its causes in failures/loss.ts, single point of
 * failure in failures/figures.ts.
 */
import { join } from 'node:path';
import type { FailuresLayoutName, FailuresResult } from '../../report/model.ts';
import { practicesFor, type FailuresSettings } from '../settings.ts';
import { BROKER_PROCESS, noteForReport, subDir, throwIfAborted, type RunnerContext } from './context.ts';
import { sleep } from './landscape.ts';
import { Supervisor, type ExitEvent } from '../../systems/process/supervisor.ts';
import { startLandscape, type Landscape } from '../../systems/runtime/landscape.ts';
import { waitForOutcome } from '../../systems/runtime/run-check.ts';
import { ingressEvents } from '../load/ingress-feed.ts';
import { ingressRootKey } from '../../systems/oracle/index.ts';
import { loadTopology, restrictTo, type Topology } from '../../systems/topology/index.ts';
import { formatVerifyReport } from '../../systems/oracle/index.ts';
import { SteadyLoad } from '../load/steady.ts';
import { planComponents } from './failures/components.ts';
import { StateMonitor, baselineRate, collectArrivals } from './failures/observe.ts';
import { concludeLocation, type LocatorSample } from './failures/locate.ts';
import { attributeLoss, OUTSIDE, type FamilyName, type LossPaths } from './failures/loss.ts';
import { normalDelayBounds, orderPaths } from './failures/recovery.ts';
import type { ReportPractices } from '../../report/model.ts';
import { firstLine, startLayoutInfra, type FaultTarget } from './failures/infra.ts';
import { measureFault, summarize, type Fault } from './failures/figures.ts';

export { SPOF_ERROR_RATE } from './failures/figures.ts';

type FailuresLayout = FailuresResult['layouts'][number];

/** How far before a kill an order's records can still sit in the killed process: the longest schedule (batch, poll, lake export) plus a second. */
function lossLookbackMs(t: Topology): number {
  const schedules = [...t.flows.map((f) => f.legacy.scheduleMs ?? 0), ...t.systems.map((s) => s.lakeExport?.scheduleMs ?? 0)];
  return Math.max(0, ...schedules) + 1000;
}

/** The wiring a failures layout runs: legacy-ha is legacy on a RabbitMQ cluster, hub-cluster the hub on a broker cluster. */
export function familyOf(layout: FailuresLayoutName): FamilyName {
  return layout === 'legacy' || layout === 'legacy-ha' ? 'legacy' : 'hub';
}

/** What the loss causes need to know about a landscape (failures/loss.ts). */
function lossPaths(t: Topology, family: FamilyName): LossPaths {
  const producers = new Map<string, string[]>();
  for (const s of t.systems) for (const kind of s.produces) producers.set(kind, [...(producers.get(kind) ?? []), s.id]);
  return { family, flows: t.flows.map((f) => ({ id: f.id, from: f.from, to: f.to, data: f.data, transport: f.legacy.transport })), producers };
}

/** Lag or depth growth a place must show to name a component: at least this many records... */
const LOCATE_GROWTH_MIN = 3;
/** ...and at least this fraction of the orders sent over the sampled span. */
const LOCATE_GROWTH_FRACTION = 0.25;

export async function runFailures(ctx: RunnerContext, settings: FailuresSettings, layouts: readonly FailuresLayoutName[]): Promise<FailuresResult> {
  const out: FailuresLayout[] = [];
  for (const layout of layouts) {
    throwIfAborted(ctx);
    out.push(await runLayout(ctx, settings, layout));
  }
  return {
    downMs: settings.downS * 1000,
    ...(settings.infraDownS !== undefined ? { infraDownMs: settings.infraDownS * 1000 } : {}),
    loadOrdersPerS: settings.loadOrdersPerS,
    layouts: out,
  };
}

/** How long a component of this kind is kept down: systems downS, the integration's own components infraDownS. */
function downSecondsOf(settings: FailuresSettings, kind: FaultTarget['kind']): number {
  return kind === 'system' ? settings.downS : settings.infraDownS ?? settings.downS;
}

/** Extra seconds a fault takes on top of down and observe: a restart, and in hub-cluster the replicas catching up. */
function faultOverheadS(kind: FaultTarget['kind'] | 'rabbitmq'): number {
  return kind === 'rabbitmq' ? 8 : kind === 'quorum-leader' ? 6 : kind === 'broker' ? 4 : 2;
}

async function runLayout(ctx: RunnerContext, settings: FailuresSettings, layout: FailuresLayoutName): Promise<FailuresLayout> {
  const runId = `${ctx.runId}-fail-${layout}`;
  const dir = subDir(ctx, `failures-${layout}`);
  const topology = restrictTo(loadTopology(ctx.topologyFile), ctx.systems);
  const note = (line: string): void => ctx.progress.note(`failures ${layout}: ${line}`);
  const reportNote = (line: string): void => noteForReport(ctx, `failures ${layout}: ${line}`);
  const supervisor = new Supervisor();
  const unexpected: ExitEvent[] = [];
  supervisor.on('unexpected-exit', (e: ExitEvent) => unexpected.push(e));
  const teardown: { label: string; run: () => Promise<unknown> }[] = [];

  try {
    // ---- infrastructure ----
    const infra = await startLayoutInfra(ctx, settings, layout, { dir, supervisor, topology, runId, teardown });
    throwIfAborted(ctx);

    // ---- landscape ----
    ctx.progress.step(`failures ${layout}: starting systems ${ctx.systems.join(', ')}`, 8);
    // legacy-ha runs the legacy systems against the RabbitMQ cluster, hub-cluster the hub's against every broker of the cluster.
    const family = familyOf(layout);
    const practices = practicesFor(settings, layout);
    // The practices the systems run with are the ones the report records (its schema repeats their values).
    const recorded: ReportPractices = practices;
    const landscape = await startLandscape({
      topologyFile: ctx.topologyFile, layout: family, workDir: join(dir, 'landscape'), systems: ctx.systems, runId, seed: ctx.seed, supervisor,
      amqpUrl: family === 'legacy' ? infra.amqpUrl : undefined, kafkaBrokers: infra.kafkaBrokers, practices,
    });
    teardown.push({ label: 'landscape', run: () => landscape.stop() });
    const ingressId = landscape.topology.systems.find((s) => s.role === 'ingress')!.id;

    const { planned, skipped } = planComponents(settings.components, { layout, systems: landscape.topology.systems.map((s) => s.id), ...infra.parts });
    for (const s of skipped) note(`skipping ${s.component}: ${s.reason}`);
    const { locator, noLocator } = infra.locator(landscape);

    // ---- load and warm-up ----
    const plannedS = settings.warmupS + planned.reduce((a, c) => a + downSecondsOf(settings, c.kind) + settings.observeS + (c.kind === 'rabbitmq' ? 30 : 15), 0) + 30;
    const orders = ingressEvents(landscape.topology, ctx.seed, Math.ceil(settings.loadOrdersPerS * plannedS * 1.5) + 100);
    const load = new SteadyLoad({ ingressUrl: landscape.ingressUrl, events: orders, ratePerS: settings.loadOrdersPerS });
    const monitor = new StateMonitor(landscape);
    teardown.push({ label: 'load', run: async () => { await load.stop(); await monitor.stop(); } });

    ctx.progress.step(`failures ${layout}: warm-up at ${settings.loadOrdersPerS} orders/s`, settings.warmupS);
    monitor.start();
    const loadStartMs = Date.now();
    load.start();
    await sleep(loadStartMs + settings.warmupS * 1000 - Date.now(), ctx.signal);
    const warmEndMs = Date.now();
    if (infra.whole) {
      const w = await infra.whole();
      if (w.leadersBackAtMs === null) reportNote(`the cluster was not whole before the first fault: ${w.problem}`);
    }

    // ---- the faults ----
    const faults: Fault[] = [];
    for (const component of planned) {
      throwIfAborted(ctx);
      const target = await infra.target(component, landscape);
      if ('skip' in target) {
        skipped.push({ component: component.name, reason: target.skip });
        note(`skipping ${component.name}: ${target.skip}`);
        continue;
      }
      const name = target.name;
      if (target.remark) reportNote(target.remark);
      const downS = downSecondsOf(settings, target.kind);
      ctx.progress.step(`failures ${layout}: kill -9 ${name}, down ${downS} s, observe ${settings.observeS} s`, downS + settings.observeS + faultOverheadS(target.kind));
      const pre = await monitor.snapshot();
      const killAtMs = Date.now();
      await target.kill();
      const downUntil = killAtMs + downS * 1000;
      const samples: LocatorSample[] = [];
      if (locator) {
        for (;;) {
          samples.push(await locator.sample());
          if (Date.now() >= downUntil) break;
          await sleep(Math.min(downUntil, samples[samples.length - 1].atMs + 1000) - Date.now(), ctx.signal);
        }
      }
      await sleep(downUntil - Date.now(), ctx.signal);
      const restartAtMs = Date.now();
      try {
        await target.restart();
      } catch (err) {
        throw new Error(`failures ${layout}: ${name} did not come back after kill -9: ${(err as Error).message}`, { cause: err });
      }
      const readyAtMs = Date.now();
      // A cluster node restarted (hub-cluster's broker, legacy-ha's RabbitMQ node): watch its replicas catch up from now, and keep observing until they have.
      const whole = target.kind !== 'system' && target.kind !== 'lake-sink' ? infra.whole?.() : undefined;
      const post = await monitor.snapshot();
      await sleep(readyAtMs + settings.observeS * 1000 - Date.now(), ctx.signal);
      const w = whole ? await whole : undefined;
      if (w?.leadersBackAtMs === null) reportNote(`${name}: the cluster was not whole again within the wait: ${w.problem}`);
      await monitor.snapshot();
      const observeEndMs = Date.now();
      const minGrowth = locateGrowthMin(samples, settings.loadOrdersPerS);
      const location = locator
        ? locator.conclude?.(samples, minGrowth) ?? concludeLocation(locator, samples, minGrowth)
        : { named: [], locatedBy: noLocator || 'no place to look' };
      faults.push({ target, killAtMs, restartAtMs, readyAtMs, observeEndMs, pre, post, location, ...(w ? { inSyncAtMs: w.inSyncAtMs, leadersBackAtMs: w.leadersBackAtMs } : {}) });
      note(`${name}: down ${readyAtMs - killAtMs} ms; ${location.locatedBy}`);
      await reviveCrashed(supervisor, unexpected, landscape, note);
    }

    // ---- loss ----
    await load.stop();
    await monitor.stop();
    if (load.sent >= orders.length) reportNote(`the load ran out of orders (${orders.length}) before the faults were over`);
    ctx.progress.step(`failures ${layout}: waiting for the oracle (at most ${settings.settleS} s)`, settings.settleS);
    const accepted = load.acceptedEvents();
    // Lost records never arrive: once nothing new has come for two schedule periods, stop waiting.
    const check = await waitForOutcome(landscape, accepted, settings.settleS * 1000, { quietMs: 2 * lossLookbackMs(landscape.topology), seed: ctx.seed });
    if (!check.report.ok) note(`oracle after ${check.waitedMs} ms:\n${formatVerifyReport(check.report, 5)}`);
    const losses = attributeLoss(
      check.report, check.expected,
      load.requests().filter((r) => r.accepted).map((r) => ({ root: ingressRootKey(r.kind, r.id), sentAtMs: r.sentAtMs })),
      faults.map((f) => ({ component: f.target.name, kind: f.target.kind, fromMs: f.killAtMs, toMs: f.observeEndMs })),
      lossPaths(landscape.topology, family),
      lossLookbackMs(landscape.topology),
    );
    const outside = losses.get(OUTSIDE)!;
    if (outside.recordsLost > 0 || outside.recordsDuplicated > 0) {
      reportNote(`orders sent outside any fault window (warm-up): ${outside.recordsLost} record(s) of ${outside.ordersLost} order(s) lost, ${outside.recordsDuplicated} duplicated (not in any component's figures)`);
    }

    // ---- figures ----
    const warmS = (warmEndMs - loadStartMs) / 1000;
    const baselineAcceptedPerS = load.between(loadStartMs, warmEndMs).filter((r) => r.accepted).length / warmS;
    // Rates from 1 s into the warm-up (consumers joining, connections opening) to its end.
    const baselineFrom = loadStartMs + Math.min(1000, (warmEndMs - loadStartMs) / 2);
    const baselines = new Map<string, number | null>(monitor.names().map((n) => [n, baselineRate(monitor.samplesOf(n), baselineFrom, warmEndMs)]));
    // When every accepted order's records reached each system, and each system's normal delay in the warm-up (for kill → service).
    const journeys = orderPaths(load.requests(), check.expected, await collectArrivals(landscape));
    const bounds = normalDelayBounds(journeys, baselineFrom, warmEndMs);
    note(`normal delays from the warm-up: ${[...bounds].map(([system, ms]) => `${system} ${Math.round(ms)} ms`).join(', ') || 'none measured'}`);
    const components = faults.map((f) => {
      const { m, line } = measureFault(f, { load, monitor, baselines, baselineAcceptedPerS, ingressId, losses, orders: journeys, bounds });
      note(line);
      return m;
    });
    return {
      layout,
      ...(infra.cluster ? { cluster: infra.cluster } : {}),
      practices: recorded,
      baselineOrdersPerS: baselineAcceptedPerS,
      components,
      skipped,
      summary: summarize(components),
    };
  } finally {
    for (const t of teardown.reverse()) {
      try {
        await t.run();
      } catch (err) {
        note(`stopping the ${t.label} failed: ${firstLine(err)}`);
      }
    }
    await supervisor.stopAll({ timeoutMs: 10_000 }).catch((err: Error) => note(`stopping leftovers failed: ${firstLine(err)}`));
  }
}

/** Growth a watched lag/depth must show over the samples to name its owner (see concludeLocation). */
function locateGrowthMin(samples: readonly LocatorSample[], ratePerS: number): number {
  const ok = samples.filter((s) => s.reachable);
  const spanS = ok.length >= 2 ? (ok[ok.length - 1].atMs - ok[0].atMs) / 1000 : 0;
  return Math.max(LOCATE_GROWTH_MIN, Math.ceil(LOCATE_GROWTH_FRACTION * ratePerS * spanS));
}

/** Restarts processes that died on their own (not the one killed on purpose), so the next fault starts from a whole landscape. */
async function reviveCrashed(supervisor: Supervisor, unexpected: ExitEvent[], landscape: Landscape, note: (l: string) => void): Promise<void> {
  const crashed = [...new Set(unexpected.splice(0).map((e) => e.name))];
  for (const name of crashed) {
    if (supervisor.status(name).state !== 'crashed') continue;
    note(`${name} died on its own during the fault (code ${supervisor.status(name).exitCode}, signal ${supervisor.status(name).signal}); restarting it`);
    const started = await supervisor.restart(name);
    if (name !== BROKER_PROCESS && landscape.urls[name] !== undefined) landscape.urls[name] = started.readyMatch[3];
  }
}
