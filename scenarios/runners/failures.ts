/**
 * The failures runner: in each layout, under a steady open-loop order load, kill -9 one component
 * at a time (every system, RabbitMQ or the broker, the lake sink), keep it down, restart it, watch
 * what happens, and at the end ask the oracle what the faults cost.
 *
 * Per layout: the infrastructure (legacy: a private RabbitMQ node, never the machine's shared one;
 * hub: our broker as its own process under the landscape's Supervisor), the landscape of the run's
 * systems under a run id of its own, SteadyLoad at loadOrdersPerS on the ingress, a warm-up (the
 * baselines: accepted orders/s at the ingress, received records/s of every process), then for each
 * component: snapshot every process's GET /state, kill -9, sample the one place an operator would
 * look while it is down (observe the landscape's /state about once a second throughout), restart,
 * snapshot again, observe observeS. After the last fault the load stops, the oracle checks every
 * accepted order (waitForOutcome, settleS at most) and each lost or duplicated record is charged to
 * the fault whose window (kill → end of its observation) its order was sent in.
 *
 * The definitions of each figure are next to the code that computes it: blast radius and recovery
 * in failures/observe.ts (judgeProcess, recoveryMs), locatability in failures/locate.ts
 * (concludeLocation), loss attribution in failures/loss.ts, single point of failure below.
 */
import { join } from 'node:path';
import type { FailureMeasurement, FailuresResult, Layout } from '../../report/model.ts';
import type { FailuresSettings } from '../settings.ts';
import { BROKER_PROCESS, noteForReport, startHubProcess, subDir, throwIfAborted, type RunnerContext } from './context.ts';
import { sleep } from './landscape.ts';
import { Supervisor, type ExitEvent } from '../../systems/process/supervisor.ts';
import { startLandscape, type Landscape } from '../../systems/runtime/landscape.ts';
import { waitForOutcome } from '../../systems/runtime/run-check.ts';
import { generateOrders } from '../../systems/orders/index.ts';
import { loadTopology, restrictTo, type Topology } from '../../systems/topology/index.ts';
import { formatVerifyReport } from '../../systems/oracle/index.ts';
import { SteadyLoad } from '../load/steady.ts';
import { findRabbitmqServer, startRabbitNode, type RabbitNode } from '../../infra/rabbitmq-node.ts';
import { redactAmqpUrl } from '../../infra/rabbitmq.ts';
import type { ResolvedHub } from '../../infra/kafka.ts';
import { planComponents, type PlannedComponent } from './failures/components.ts';
import {
  StateMonitor, baselineRate, judgeProcess, recoveryMs, RECEIVES_MIN_PER_S, type StateSample,
} from './failures/observe.ts';
import { brokerMetricsLocator, concludeLocation, rabbitQueuesLocator, type Locator, type LocatorSample } from './failures/locate.ts';
import { attributeLoss, OUTSIDE } from './failures/loss.ts';

type FailuresLayout = FailuresResult['layouts'][number];

/**
 * A single point of failure: its failure alone takes the service down or loses data. Measured as
 * any of: while it was down more than half of the orders sent to the ingress were not accepted
 * (ingressErrorRate > SPOF_ERROR_RATE); records of orders in its fault window were lost
 * (recordsLost > 0); or every other component downstream of the ingress was affected (orders may
 * still be taken, but nothing moves anywhere).
 */
export const SPOF_ERROR_RATE = 0.5;

/** Every other component except the ingress was affected: orders may still be taken, but nothing moves. */
function stoppedEverythingDownstream(failed: string, blastRadius: readonly string[], components: readonly string[], ingressId: string | undefined): boolean {
  const downstream = components.filter((c) => c !== failed && c !== ingressId);
  return downstream.length > 1 && downstream.every((c) => blastRadius.includes(c));
}

/** How far before a kill an order's records can still sit in the killed process: the longest schedule (batch, poll, lake export) plus a second. */
function lossLookbackMs(t: Topology): number {
  const schedules = [...t.flows.map((f) => f.legacy.scheduleMs ?? 0), ...t.systems.map((s) => s.lakeExport?.scheduleMs ?? 0)];
  return Math.max(0, ...schedules) + 1000;
}

/** Lag or depth growth a place must show to name a component: at least this many records... */
const LOCATE_GROWTH_MIN = 3;
/** ...and at least this fraction of the orders sent over the sampled span. */
const LOCATE_GROWTH_FRACTION = 0.25;

export async function runFailures(ctx: RunnerContext, settings: FailuresSettings, layouts: Layout[]): Promise<FailuresResult> {
  const out: FailuresLayout[] = [];
  for (const layout of layouts) {
    throwIfAborted(ctx);
    out.push(await runLayout(ctx, settings, layout));
  }
  return { downMs: settings.downS * 1000, loadOrdersPerS: settings.loadOrdersPerS, layouts: out };
}

interface Fault {
  component: PlannedComponent;
  killAtMs: number;
  readyAtMs: number;
  observeEndMs: number;
  pre: Map<string, StateSample>;
  post: Map<string, StateSample>;
  location: { named: string[]; locatedBy: string };
}

interface Actions {
  kill(): Promise<void>;
  restart(): Promise<void>;
}

async function runLayout(ctx: RunnerContext, settings: FailuresSettings, layout: Layout): Promise<FailuresLayout> {
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
    let amqpUrl: string | undefined;
    let rabbit: RabbitNode | null = null;
    let rabbitmqUnavailable: string | null = null;
    let hub: ResolvedHub | null = null;
    let brokerUnavailable: string | null = null;
    if (layout === 'legacy') {
      const usesAmqp = topology.flows.some((f) => f.legacy.transport === 'amqp');
      const shared = `the run used the shared RabbitMQ at ${redactAmqpUrl(ctx.amqpUrl)}, which is not ours to kill`;
      const killsRabbit = settings.components === 'all' || settings.components.includes('rabbitmq');
      if (!usesAmqp) {
        rabbitmqUnavailable = `no AMQP flow among this run's systems (${ctx.systems.join(', ')}): RabbitMQ is not part of this landscape`;
        amqpUrl = ctx.amqpUrl;
      } else if (!killsRabbit) {
        // Nothing kills RabbitMQ in this run: the shared one will do, and saves the node's start.
        amqpUrl = ctx.amqpUrl;
      } else if (!findRabbitmqServer()) {
        rabbitmqUnavailable = `rabbitmq-server is not on PATH, so ${shared}`;
        amqpUrl = ctx.amqpUrl;
      } else {
        ctx.progress.step(`failures ${layout}: starting a private RabbitMQ node`, 8);
        try {
          rabbit = await startRabbitNode({ log: note });
          const node = rabbit;
          teardown.push({ label: 'private RabbitMQ node', run: () => node.stop() });
          amqpUrl = rabbit.url;
        } catch (err) {
          rabbitmqUnavailable = `the private RabbitMQ node did not start (${firstLine(err)}), so ${shared}`;
          reportNote(rabbitmqUnavailable);
          amqpUrl = ctx.amqpUrl;
        }
      }
    } else {
      ctx.progress.step(`failures ${layout}: starting the broker`, 3);
      hub = await startHubProcess(ctx, supervisor, join(dir, 'broker'));
      const h = hub;
      teardown.push({ label: 'broker', run: () => h.stop() });
      if (hub.source !== 'process' || hub.pid === null) brokerUnavailable = `the hub is ${hub.brokers.join(',')} (${hub.source}), not our broker process: not ours to kill`;
    }
    throwIfAborted(ctx);

    // ---- landscape ----
    ctx.progress.step(`failures ${layout}: starting systems ${ctx.systems.join(', ')}`, 8);
    const landscape = await startLandscape({
      topologyFile: ctx.topologyFile, layout, workDir: join(dir, 'landscape'), systems: ctx.systems, runId, supervisor,
      amqpUrl: layout === 'legacy' ? amqpUrl : undefined, kafkaBrokers: hub?.brokers,
    });
    teardown.push({ label: 'landscape', run: () => landscape.stop() });
    const ingressId = landscape.topology.systems.find((s) => s.role === 'ingress')!.id;

    const { planned, skipped } = planComponents(settings.components, {
      layout, systems: landscape.topology.systems.map((s) => s.id), rabbitmqUnavailable, brokerUnavailable,
    });
    for (const s of skipped) note(`skipping ${s.component}: ${s.reason}`);
    const actionsOf = (c: PlannedComponent): Actions => {
      if (c.kind === 'rabbitmq') return { kill: () => rabbit!.kill(), restart: () => rabbit!.restart() };
      return {
        kill: async () => { await supervisor.kill(c.name, 'SIGKILL'); },
        restart: async () => {
          const started = await supervisor.restart(c.name);
          // The lake sink listens on a port of its own choosing: it may come back elsewhere.
          if (c.kind !== 'broker') landscape.urls[c.name] = started.readyMatch[3];
        },
      };
    };
    let locator: Locator | null = null;
    let noLocator = '';
    if (layout === 'hub') {
      if (hub?.metricsUrl) locator = brokerMetricsLocator(hub.metricsUrl, landscape.topology, runId);
      else noLocator = `no broker metrics endpoint: the hub is ${hub?.brokers.join(',')} (${hub?.source}), not our broker`;
    } else if (amqpUrl) {
      locator = rabbitQueuesLocator(amqpUrl, landscape.topology, runId);
    }

    // ---- load and warm-up ----
    const plannedS = settings.warmupS + planned.reduce((a, c) => a + settings.downS + settings.observeS + (c.kind === 'rabbitmq' ? 30 : 15), 0) + 30;
    const orders = generateOrders({ seed: ctx.seed, count: Math.ceil(settings.loadOrdersPerS * plannedS * 1.5) + 100 });
    const load = new SteadyLoad({ ingressUrl: landscape.ingressUrl, orders, ratePerS: settings.loadOrdersPerS });
    const monitor = new StateMonitor(landscape);
    teardown.push({ label: 'load', run: async () => { await load.stop(); await monitor.stop(); } });

    ctx.progress.step(`failures ${layout}: warm-up at ${settings.loadOrdersPerS} orders/s`, settings.warmupS);
    monitor.start();
    const loadStartMs = Date.now();
    load.start();
    await sleep(loadStartMs + settings.warmupS * 1000 - Date.now(), ctx.signal);
    const warmEndMs = Date.now();

    // ---- the faults ----
    const faults: Fault[] = [];
    for (const component of planned) {
      throwIfAborted(ctx);
      const name = component.name;
      const actions = actionsOf(component);
      ctx.progress.step(`failures ${layout}: kill -9 ${name}, down ${settings.downS} s, observe ${settings.observeS} s`, settings.downS + settings.observeS + (component.kind === 'rabbitmq' ? 8 : 2));
      const pre = await monitor.snapshot();
      const killAtMs = Date.now();
      await actions.kill();
      const downUntil = killAtMs + settings.downS * 1000;
      const samples: LocatorSample[] = [];
      if (locator) {
        for (;;) {
          samples.push(await locator.sample());
          if (Date.now() >= downUntil) break;
          await sleep(Math.min(downUntil, samples[samples.length - 1].atMs + 1000) - Date.now(), ctx.signal);
        }
      }
      await sleep(downUntil - Date.now(), ctx.signal);
      try {
        await actions.restart();
      } catch (err) {
        throw new Error(`failures ${layout}: ${name} did not come back after kill -9: ${(err as Error).message}`, { cause: err });
      }
      const readyAtMs = Date.now();
      const post = await monitor.snapshot();
      await sleep(readyAtMs + settings.observeS * 1000 - Date.now(), ctx.signal);
      await monitor.snapshot();
      const observeEndMs = Date.now();
      const location = locator
        ? concludeLocation(locator, samples, locateGrowthMin(samples, settings.loadOrdersPerS))
        : { named: [], locatedBy: noLocator || 'no place to look' };
      faults.push({ component, killAtMs, readyAtMs, observeEndMs, pre, post, location });
      note(`${name}: down ${readyAtMs - killAtMs} ms; ${location.locatedBy}`);
      await reviveCrashed(supervisor, unexpected, landscape, note);
    }

    // ---- loss ----
    await load.stop();
    await monitor.stop();
    if (load.sent >= orders.length) reportNote(`the load ran out of orders (${orders.length}) before the faults were over`);
    ctx.progress.step(`failures ${layout}: waiting for the oracle (at most ${settings.settleS} s)`, settings.settleS);
    const accepted = load.acceptedOrders();
    // Lost records never arrive: once nothing new has come for two schedule periods, stop waiting.
    const check = await waitForOutcome(landscape, accepted, settings.settleS * 1000, { quietMs: 2 * lossLookbackMs(landscape.topology) });
    if (!check.report.ok) note(`oracle after ${check.waitedMs} ms:\n${formatVerifyReport(check.report, 5)}`);
    const requests = load.requests();
    const losses = attributeLoss(
      check.report, check.expected,
      requests.filter((r) => r.accepted).map((r) => ({ orderId: r.orderId, sentAtMs: r.sentAtMs })),
      faults.map((f) => ({ component: f.component.name, fromMs: f.killAtMs, toMs: f.observeEndMs })),
      lossLookbackMs(landscape.topology),
    );
    const outside = losses.get(OUTSIDE)!;
    if (outside.recordsLost > 0 || outside.recordsDuplicated > 0) {
      reportNote(`orders sent outside any fault window (warm-up): ${outside.recordsLost} record(s) of ${outside.ordersLost} order(s) lost, ${outside.recordsDuplicated} duplicated (not in any component's figures)`);
    }

    // ---- figures ----
    const warmS = (warmEndMs - loadStartMs) / 1000;
    const baselineAccepted = load.between(loadStartMs, warmEndMs).filter((r) => r.accepted).length / warmS;
    // Rates from 1 s into the warm-up (consumers joining, connections opening) to its end.
    const baselineFrom = loadStartMs + Math.min(1000, (warmEndMs - loadStartMs) / 2);
    const baselines = new Map<string, number | null>(monitor.names().map((n) => [n, baselineRate(monitor.samplesOf(n), baselineFrom, warmEndMs)]));

    const components: FailureMeasurement[] = faults.map((f) => {
      const name = f.component.name;
      const down = load.between(f.killAtMs, f.readyAtMs);
      const failed = down.filter((r) => !r.accepted).length;
      const errorRate = down.length > 0 ? failed / down.length : 0;
      const blastRadius: string[] = [];
      const why: string[] = [];
      for (const other of f.pre.keys()) {
        if (other === name) continue;
        const j = judgeProcess({ pre: f.pre.get(other), post: f.post.get(other), baselinePerS: baselines.get(other) ?? null, isIngress: other === ingressId, ingressFailed: failed });
        if (j.affected) {
          blastRadius.push(other);
          why.push(`${other} (${j.why.join('; ')})`);
        }
      }
      const ownBaseline = f.component.kind === 'system' || f.component.kind === 'lake-sink' ? baselines.get(name) ?? null : null;
      const newPid = f.post.get(name)?.pid ?? null;
      const own = ownBaseline !== null && ownBaseline >= RECEIVES_MIN_PER_S && newPid !== null
        ? { samples: monitor.samplesOf(name).filter((s) => s.ok && s.pid === newPid && s.atMs >= f.readyAtMs), baselinePerS: ownBaseline }
        : undefined;
      const recovery = recoveryMs({
        readyAtMs: f.readyAtMs, observeEndMs: f.observeEndMs, ingress: load.timeline(f.readyAtMs, f.observeEndMs),
        baselineAcceptedPerS: baselineAccepted, own,
      });
      const loss = losses.get(name)!;
      const m: FailureMeasurement = {
        component: name,
        kind: f.component.kind,
        downMs: f.readyAtMs - f.killAtMs,
        ingressSent: down.length,
        ingressFailed: failed,
        ingressErrorRate: errorRate,
        ordersAccepted: loss.ordersAccepted,
        recordsExpected: loss.recordsExpected,
        recordsLost: loss.recordsLost,
        recordsDuplicated: loss.recordsDuplicated,
        ordersLost: loss.ordersLost,
        blastRadius: blastRadius.sort(),
        recoveryMs: recovery,
        locatable: f.location.named.length === 1 && f.location.named[0] === name,
        locatedBy: f.location.locatedBy,
        singlePointOfFailure: errorRate > SPOF_ERROR_RATE || loss.recordsLost > 0 || stoppedEverythingDownstream(name, blastRadius, [...f.pre.keys()], ingressId),
        ingressTimeline: load.timeline(f.killAtMs, f.observeEndMs).map((b) => ({ tS: b.tS, accepted: b.accepted, failed: b.failed })),
      };
      note(`${name}: ingress ${failed}/${down.length} failed while down, ${m.recordsLost} record(s) of ${m.ordersLost} order(s) lost, ${m.recordsDuplicated} duplicated, `
        + `blast radius [${why.join(', ')}], recovery ${recovery === null ? 'not within the observation' : `${recovery} ms`}, `
        + `${m.locatable ? 'located' : 'not located'}${m.singlePointOfFailure ? ', SINGLE POINT OF FAILURE' : ''}`);
      return m;
    });

    const recoveries = components.map((c) => c.recoveryMs).filter((x): x is number => x !== null);
    return {
      layout,
      baselineOrdersPerS: baselineAccepted,
      components,
      skipped,
      summary: {
        singlePointsOfFailure: components.filter((c) => c.singlePointOfFailure).map((c) => c.component),
        meanBlastRadius: components.length > 0 ? components.reduce((a, c) => a + c.blastRadius.length, 0) / components.length : 0,
        totalRecordsLost: components.reduce((a, c) => a + c.recordsLost, 0),
        totalOrdersLost: components.reduce((a, c) => a + c.ordersLost, 0),
        // Over the components that recovered within their observation; null when none did.
        meanRecoveryMs: recoveries.length > 0 ? recoveries.reduce((a, b) => a + b, 0) / recoveries.length : null,
      },
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

/** Stops the systems and the lake sink first, then the rest of the landscape (the broker shares its Supervisor). */
function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
