/**
 * The failures runner's figures, from what it recorded: the requests of the steady load, every
 * process's GET /state samples and the snapshots around each fault, when each system received each
 * record, the place's conclusion and the oracle's losses per fault. Blast radius follows the rule
 * in observe.ts, kill → service and the longest ingress outage those in recovery.ts, the loss
 * causes loss.ts; the single point of failure rule is here.
 */
import type { FailureMeasurement, FailuresResult } from '../../../report/model.ts';
import type { SteadyLoad } from '../../load/steady.ts';
import type { WindowLoss } from './loss.ts';
import { countAt, judgeProcess, RECEIVES_MIN_PER_S, STALL_FRACTION, type StateMonitor, type StateSample } from './observe.ts';
import { killToServiceMs, longestIngressOutageMs, outcomeTimeline, type OrderPath } from './recovery.ts';
import type { Location } from './locate.ts';
import type { FaultTarget } from './infra.ts';

/**
 * A single point of failure: its failure alone loses data, or stops the service for as long as it
 * is down. Measured as any of: records of orders in its fault window were lost (recordsLost > 0);
 * or, still in the second half of the time it was down (see stillStoppedHalfway), more than half of
 * the orders sent to the ingress were not accepted (> SPOF_ERROR_RATE), or every component
 * downstream of the ingress that normally receives was stalled (orders may still be taken, but
 * nothing moves anywhere). Judging the second half lets a layout that fails over (hub-cluster: a
 * new partition leader within a few seconds) show that it does, where a single broker or a
 * synchronous peer stays down until it is back; the scenarios keep components down well over the
 * failover time for that reason.
 */
export const SPOF_ERROR_RATE = 0.5;

/** One fault as the runner went through it. */
export interface Fault {
  target: FaultTarget;
  killAtMs: number;
  /** When the runner began restarting it: the end of the time it was kept down. */
  restartAtMs: number;
  readyAtMs: number;
  observeEndMs: number;
  pre: Map<string, StateSample>;
  post: Map<string, StateSample>;
  location: Location;
  /** hub-cluster: when every replica was in sync again after the restart (null: not within the wait); undefined elsewhere. */
  inSyncAtMs?: number | null;
  /** hub-cluster: when every partition was led by its preferred replica again (null: not within the wait); undefined elsewhere. */
  leadersBackAtMs?: number | null;
}

/**
 * The part of a fault's down time the single-point-of-failure rule judges: the second half of the
 * time the component was kept down (its restart, which may already serve, comes after).
 */
function secondHalf(killAtMs: number, restartAtMs: number): { fromMs: number; toMs: number } {
  return { fromMs: killAtMs + (restartAtMs - killAtMs) / 2, toMs: restartAtMs };
}

/**
 * Whether the service was still stopped in the second half of a fault's down time: the ingress
 * refused more than SPOF_ERROR_RATE of the orders sent then, or every other process that normally
 * receives (baseline >= RECEIVES_MIN_PER_S; the ingress and the killed process aside) received less
 * than STALL_FRACTION of its baseline then (a process that did not answer counts as stalled).
 */
export function stillStoppedHalfway(f: Pick<Fault, 'killAtMs' | 'restartAtMs' | 'pre'>, killed: string, x: Pick<FigureInputs, 'load' | 'monitor' | 'baselines' | 'ingressId'>): { stopped: boolean; why: string } {
  const { fromMs, toMs } = secondHalf(f.killAtMs, f.restartAtMs);
  const late = x.load.between(fromMs, toMs);
  const lateErrorRate = late.length > 0 ? late.filter((r) => !r.accepted).length / late.length : 0;
  if (lateErrorRate > SPOF_ERROR_RATE) return { stopped: true, why: `the ingress refused ${Math.round(lateErrorRate * 100)} % of orders in the second half of the down time` };
  const windowS = (toMs - fromMs) / 1000;
  const receivers = [...f.pre.keys()].filter((n) => n !== killed && n !== x.ingressId && (x.baselines.get(n) ?? 0) >= RECEIVES_MIN_PER_S);
  if (receivers.length === 0) return { stopped: false, why: '' };
  const stalled = receivers.filter((n) => {
    const pid = f.pre.get(n)?.pid;
    const samples = x.monitor.samplesOf(n).filter((s) => s.pid === pid);
    const a = countAt(samples, fromMs);
    const b = countAt(samples, toMs);
    return a === null || b === null || b - a < STALL_FRACTION * (x.baselines.get(n) ?? 0) * windowS;
  });
  return stalled.length === receivers.length
    ? { stopped: true, why: `nothing moved downstream in the second half of the down time (${receivers.join(', ')} stalled)` }
    : { stopped: false, why: '' };
}

export interface FigureInputs {
  load: SteadyLoad;
  monitor: StateMonitor;
  /** Received records per second of every process in the warm-up. */
  baselines: ReadonlyMap<string, number | null>;
  baselineAcceptedPerS: number;
  ingressId: string | undefined;
  losses: ReadonlyMap<string, WindowLoss>;
  /** Every order of the load with when each of its expected receptions arrived (recovery.ts orderPaths). */
  orders: readonly OrderPath[];
  /** Each system's normal delay from the warm-up (recovery.ts normalDelayBounds). */
  bounds: ReadonlyMap<string, number>;
}

/** The fault timeline's bucket, and how far before the kill it starts. */
export const TIMELINE_BUCKET_MS = 500;
export const TIMELINE_BEFORE_MS = 2000;

/** The measurement of one fault, and a line saying what happened. */
export function measureFault(f: Fault, x: FigureInputs): { m: FailureMeasurement; line: string } {
  const { name, kind, process: killed } = f.target;
  const down = x.load.between(f.killAtMs, f.readyAtMs);
  const failed = down.filter((r) => !r.accepted).length;
  const errorRate = down.length > 0 ? failed / down.length : 0;
  const blastRadius: string[] = [];
  const why: string[] = [];
  for (const other of f.pre.keys()) {
    if (other === killed) continue;
    const j = judgeProcess({ pre: f.pre.get(other), post: f.post.get(other), baselinePerS: x.baselines.get(other) ?? null, isIngress: other === x.ingressId, ingressFailed: failed });
    if (j.affected) {
      blastRadius.push(other);
      why.push(`${other} (${j.why.join('; ')})`);
    }
  }
  const requests = x.load.requests();
  const service = killToServiceMs({
    killAtMs: f.killAtMs, endMs: f.observeEndMs, requests, baselineAcceptedPerS: x.baselineAcceptedPerS, orders: x.orders, bounds: x.bounds,
  });
  const loss = x.losses.get(name)!;
  const halfway = stillStoppedHalfway(f, killed, x);
  const m: FailureMeasurement = {
    component: name,
    kind,
    downMs: f.readyAtMs - f.killAtMs,
    restartMs: f.readyAtMs - f.restartAtMs,
    killToServiceMs: service.ms,
    observedMs: f.observeEndMs - f.killAtMs,
    ingressOutageMs: longestIngressOutageMs(requests, f.killAtMs, f.observeEndMs),
    ingressSent: down.length,
    ingressFailed: failed,
    ingressErrorRate: errorRate,
    ...(f.inSyncAtMs !== undefined ? { replicasInSyncMs: f.inSyncAtMs === null ? null : Math.max(0, f.inSyncAtMs - f.readyAtMs) } : {}),
    ...(f.leadersBackAtMs !== undefined ? { leadersBackMs: f.leadersBackAtMs === null ? null : Math.max(0, f.leadersBackAtMs - f.readyAtMs) } : {}),
    ordersAccepted: loss.ordersAccepted,
    recordsExpected: loss.recordsExpected,
    recordsLost: loss.recordsLost,
    recordsDuplicated: loss.recordsDuplicated,
    ordersLost: loss.ordersLost,
    lostByCause: loss.lostByCause,
    blastRadius: blastRadius.sort(),
    locatable: f.location.named.length === 1 && f.location.named[0] === killed,
    locatedBy: f.location.locatedBy,
    resumedWhileDown: !halfway.stopped,
    singlePointOfFailure: loss.recordsLost > 0 || halfway.stopped,
    outcomeTimeline: {
      bucketMs: TIMELINE_BUCKET_MS,
      points: outcomeTimeline(requests, f.killAtMs - TIMELINE_BEFORE_MS, f.observeEndMs, f.killAtMs, TIMELINE_BUCKET_MS),
    },
  };
  const causes = Object.entries(loss.lostByCause).filter(([, n]) => n > 0).map(([c, n]) => `${n} ${c}`).join(', ');
  const at = (t: number | null): string => (t === null ? 'never' : `+${t - f.killAtMs} ms`);
  const line = `${name}: ready after ${m.downMs} ms, service after ${service.ms === null ? 'not within the observation' : `${service.ms} ms`} `
    + `(ingress back ${at(service.ingressBackAtMs)}, flow back ${at(service.flowBackAtMs)}), ingress ${failed}/${down.length} failed while down, `
    + `longest ingress outage ${m.ingressOutageMs} ms, ${m.recordsLost} record(s) of ${m.ordersLost} order(s) lost${causes ? ` (${causes})` : ''}, `
    + `${m.recordsDuplicated} duplicated, blast radius [${why.join(', ')}], `
    + `${m.replicasInSyncMs === undefined ? '' : `replicas in sync ${m.replicasInSyncMs === null ? 'not within the wait' : `after ${m.replicasInSyncMs} ms`}, `}`
    + `${m.leadersBackMs === undefined ? '' : `leaders back ${m.leadersBackMs === null ? 'not within the wait' : `after ${m.leadersBackMs} ms`}, `}`
    + `${m.locatable ? 'located' : 'not located'}`
    + `${m.singlePointOfFailure ? `, SINGLE POINT OF FAILURE (${[...(loss.recordsLost > 0 ? ['records lost'] : []), ...(halfway.stopped ? [halfway.why] : [])].join('; ')})` : ''}`;
  return { m, line };
}

/** A layout's summary over every component it failed (the report compares layouts over the components they share). */
export function summarize(components: readonly FailureMeasurement[]): FailuresResult['layouts'][number]['summary'] {
  const back = components.map((c) => c.killToServiceMs).filter((x): x is number => x !== null && x !== undefined);
  return {
    components: components.map((c) => c.component),
    singlePointsOfFailure: components.filter((c) => c.singlePointOfFailure).map((c) => c.component),
    meanBlastRadius: components.length > 0 ? components.reduce((a, c) => a + c.blastRadius.length, 0) / components.length : 0,
    totalRecordsLost: components.reduce((a, c) => a + c.recordsLost, 0),
    totalRecordsDuplicated: components.reduce((a, c) => a + c.recordsDuplicated, 0),
    totalOrdersLost: components.reduce((a, c) => a + c.ordersLost, 0),
    // Over the components whose service came back within their observation; null when none did.
    meanKillToServiceMs: back.length > 0 ? back.reduce((a, b) => a + b, 0) / back.length : null,
    longestIngressOutageMs: components.reduce((a, c) => Math.max(a, c.ingressOutageMs ?? 0), 0),
  };
}
