/**
 * TEST FIXTURE: the throughput runner's result for the sample report (fixture.ts). Each layout ran
 * three times with a slightly different capacity; each run's rate search is played out against that
 * capacity by the runner's rules (start at 50/s, double while sustained, halve while not, then
 * bisect until the precision or the point budget), so the points, the limits and the bottlenecks
 * agree with each other. The figures are made up to look like the shop topology A–I on two cores;
 * product code never uses this.
 */
import type { CostPoint, CpuParts, IdleCost, RatePoint, RateSearch, ScaleOut, ThroughputLayoutResult, ThroughputResult, ThroughputRun, TuningKnob } from '../../report/model-throughput.ts';

type Layout = 'legacy' | 'hub';

const START_PER_S = 50;
const MAX_POINTS = 7;
const RAMP_S = 2;
const COST_RAMP_S = 12;

export const THROUGHPUT_METHOD: ThroughputResult['method'] = {
  repeats: 3, ingressP99BoundMs: 500, minOrdersPerPoint: 1000, precision: 0.1, backlogGrowthBoundMs: 500, costRatePerS: 40, idleS: 10,
  tradeOffs: [
    '3 runs per layout, not 5: each run takes about 4 minutes, and 5 would narrow the intervals only a little',
    'at most 7 points per search: a search that ran out of points reports a sustained rate below its true limit',
    'scale-out was measured once per layout, not repeated',
  ],
};

/** What a figure is at light load and how much it grows towards the limit (u⁶: flat, then steep). */
interface Figure { base: number; growth: number }
interface Profile {
  /** The shortest window: legacy four of its 5 s batch periods, so a backlog is told from the schedule. */
  minWindowS: number;
  ingress: { p50: Figure; p99: Figure; p999: Figure };
  toSystems: { p50: Figure; p99: Figure };
  toLake: { p50: Figure; p99: Figure };
  /** The busiest process at a load (share of capacity) in a run. */
  busiest: (u: number, run: number) => string;
  /** Deterministic wobble of the backlog growth when there is no backlog. */
  wobbleMs: number;
}

const f = (base: number, growth: number): Figure => ({ base, growth });

const PROFILES: Record<Layout, Profile> = {
  legacy: {
    minWindowS: 20,
    ingress: { p50: f(18, 40), p99: f(45, 180), p999: f(80, 320) },
    // The batch hops (5 s) set the delay to the systems and the lake exports the delay to the lake.
    toSystems: { p50: f(2600, 300), p99: f(5400, 900) },
    toLake: { p50: f(3100, 200), p99: f(6200, 600) },
    busiest: () => 'C',
    wobbleMs: 30,
  },
  hub: {
    minWindowS: 5,
    ingress: { p50: f(4, 6), p99: f(11, 60), p999: f(20, 140) },
    toSystems: { p50: f(35, 80), p99: f(120, 400) },
    toLake: { p50: f(70, 90), p99: f(260, 500) },
    busiest: (u, run) => (run === 3 && u > 0.9 ? 'broker' : 'G'),
    wobbleMs: 3,
  },
};

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;
/** Runs differ a little even at light load (another moment on the same machine). */
const LATENCY_SCALE = [1, 1.06, 0.95];
const grown = (x: Figure, u: number, run: number): number => x.base * LATENCY_SCALE[run - 1] + x.growth * Math.min(u, 1) ** 6;

/** One open-loop point at `target` against a landscape that keeps up with `capacity` orders/s. */
function ratePoint(p: Profile, target: number, capacity: number, run: number, windowS = Math.max(p.minWindowS, Math.ceil(THROUGHPUT_METHOD.minOrdersPerPoint / target)),
  rampS = RAMP_S): RatePoint {
  const u = target / capacity;
  // Beyond the capacity the queue grows through the window: late orders wait for all before them.
  const queueMs = Math.max(0, u - 1) * windowS * 1000 * 0.6;
  const sent = Math.round(target * windowS);
  const failed = u > 1.15 ? Math.round(sent * (u - 1.15) * 0.5) : 0;
  const acceptedPerS = round(Math.min(target, capacity * 1.01) * (1 - failed / sent));
  const ingress = { p50: round(grown(p.ingress.p50, u, run) + queueMs / 2), p99: round(grown(p.ingress.p99, u, run) + queueMs), p999: round(grown(p.ingress.p999, u, run) + queueMs * 1.1) };
  const backlog = u > 1 ? round(queueMs * 0.75) : round(((target * 7) % 11 - 5) / 5 * p.wobbleMs);
  const { ingressP99BoundMs: p99Bound, backlogGrowthBoundMs: growthBound } = THROUGHPUT_METHOD;
  const why = [
    ...(ingress.p99 > p99Bound ? [`ingress p99 ${Math.round(ingress.p99)} ms > ${p99Bound} ms`] : []),
    ...(backlog > growthBound ? [`backlog grew ${Math.round(backlog)} ms over the window > ${growthBound} ms`] : []),
    ...(failed > 0 ? [`${failed} orders failed`] : []),
    ...(acceptedPerS < target * 0.99 ? [`accepted ${acceptedPerS}/s of ${target}/s`] : []),
  ];
  return {
    targetPerS: target, rampS, windowS, sent, accepted: Math.min(sent - failed, Math.round(acceptedPerS * windowS)), failed, acceptedPerS,
    ingressLatencyMs: { ...ingress, max: round(ingress.p999 * 1.4) },
    toSystemsMs: { p50: round(grown(p.toSystems.p50, u, run) + queueMs / 2), p99: round(grown(p.toSystems.p99, u, run) + queueMs) },
    toLakeMs: { p50: round(grown(p.toLake.p50, u, run) + queueMs / 2), p99: round(grown(p.toLake.p99, u, run) + queueMs) },
    completionRate: u > 1 ? round(1 / u, 3) : 1,
    backlogGrowthMs: backlog, sustained: why.length === 0, why, busiest: p.busiest(u, run),
  };
}

/** The runner's search: double while sustained, halve while not, then bisect until the precision or the budget. */
function rateSearch(point: (target: number) => RatePoint): RateSearch {
  const points: RatePoint[] = [];
  let sustained: number | null = null;
  let failed: number | null = null;
  let next = START_PER_S;
  while (points.length < MAX_POINTS) {
    const pt = point(next);
    points.push(pt);
    if (pt.sustained) sustained = Math.max(sustained ?? 0, next);
    else failed = Math.min(failed ?? Infinity, next);
    if (failed === null) next *= 2;
    else if (sustained === null) next = Math.round(next / 2);
    else if ((failed - sustained) / sustained < THROUGHPUT_METHOD.precision) break;
    else next = Math.round((sustained + failed) / 2);
  }
  const best = points.find((pt) => pt.targetPerS === sustained);
  return { points, sustainedPerS: sustained, failedPerS: failed, bottleneck: best?.busiest ?? points[0].busiest };
}

/** ms per order at the cost rate, run 1; the other runs scale it a little. */
const PARTS: Record<Layout, CpuParts> = {
  legacy: { declaredWork: 4.6, rules: 0.9, serialization: 2.3, transport: 5.6, lakeExport: 1.5, broker: 1.9, lakeWriter: 0 },
  hub: { declaredWork: 4.6, rules: 0.9, serialization: 1.4, transport: 3.3, lakeExport: 0, broker: 1.7, lakeWriter: 0.5 },
};
/** Each system's share of the systems' CPU. */
const SYSTEM_WEIGHTS: Readonly<Record<string, number>> = { A: 0.2, B: 0.1, C: 0.16, D: 0.08, E: 0.09, F: 0.07, G: 0.14, H: 0.09, I: 0.07 };
/** The hub's lake sink decodes what it writes: its share of `serialization`. */
const SINK_SERIALIZATION = 0.3;
const RUN_SCALE = [1, 1.04, 0.97];
/** [disk bytes, socket and pipe bytes, load generator ms] per order, run 1. */
const BYTES: Record<Layout, [number, number, number]> = { legacy: [14_200, 21_400, 0.32], hub: [9_650, 30_800, 0.31] };
const RECORDS_PER_ORDER = 24;

function costPoint(layout: Layout, capacity: number, run: number): CostPoint {
  const scale = RUN_SCALE[run - 1];
  const parts = Object.fromEntries(Object.entries(PARTS[layout]).map(([k, v], i) => [k, round(v * scale * (1 + 0.01 * (((i * 3 + run) % 5) - 2)), 3)])) as CpuParts;
  const sum = Object.values(parts).reduce((a, b) => a + b, 0);
  const total = round(sum + 0.25 * scale, 3);
  const sink = layout === 'hub' ? round(parts.lakeWriter + SINK_SERIALIZATION, 3) : 0;
  const systemsTotal = total - parts.broker - sink;
  const rate = THROUGHPUT_METHOD.costRatePerS;
  const proc = (process: string, role: 'system' | 'broker' | 'rabbitmq' | 'lake-sink', msPerOrder: number, own?: Partial<CpuParts>): CostPoint['perProcess'][number] =>
    ({ process, role, msPerOrder: round(msPerOrder, 3), cpuMsPerS: round(msPerOrder * rate, 2), ...(own ? { parts: own } : {}) });
  const systemParts = (w: number): Partial<CpuParts> => ({
    declaredWork: round(parts.declaredWork * w, 3), rules: round(parts.rules * w, 3), serialization: round((parts.serialization - (layout === 'hub' ? SINK_SERIALIZATION : 0)) * w, 3),
    transport: round(parts.transport * w, 3), ...(layout === 'legacy' ? { lakeExport: round(parts.lakeExport * w, 3) } : {}),
  });
  const [disk, socket, loadgen] = BYTES[layout];
  const integration = parts.serialization + parts.transport + parts.lakeExport + parts.broker + parts.lakeWriter;
  const windowS = 25;
  return {
    ratePerS: rate, rampS: COST_RAMP_S, windowS, orders: rate * windowS, accepted: rate * windowS, cpuMsPerOrder: total, parts,
    unattributedMsPerOrder: round(sum - total, 3),
    perProcess: [
      ...Object.entries(SYSTEM_WEIGHTS).map(([id, w]) => proc(id, 'system', systemsTotal * w, systemParts(w))),
      layout === 'legacy' ? proc('rabbitmq', 'rabbitmq', parts.broker, { broker: parts.broker }) : proc('broker', 'broker', parts.broker, { broker: parts.broker }),
      ...(layout === 'hub' ? [proc('lake-sink', 'lake-sink', sink, { serialization: SINK_SERIALIZATION, lakeWriter: parts.lakeWriter })] : []),
    ],
    recordsPerOrder: RECORDS_PER_ORDER, integrationMsPerRecord: round(integration / RECORDS_PER_ORDER, 4),
    diskBytesPerOrder: Math.round(disk * scale), socketBytesPerOrder: Math.round(socket * scale), loadgenMsPerOrder: round(loadgen * scale, 3),
    point: ratePoint(PROFILES[layout], rate, capacity, run, windowS, COST_RAMP_S),
  };
}

/** CPU ms per second with no load, run 1: the pollers, export timers and fetch loops that run anyway. */
const IDLE: Record<Layout, [string, 'system' | 'broker' | 'rabbitmq' | 'lake-sink', number][]> = {
  legacy: [['A', 'system', 1.8], ['B', 'system', 2.4], ['C', 'system', 2.1], ['D', 'system', 0.9], ['E', 'system', 1.6], ['F', 'system', 3.2],
    ['G', 'system', 3.5], ['H', 'system', 0.9], ['I', 'system', 0.8], ['rabbitmq', 'rabbitmq', 14.5]],
  hub: [['A', 'system', 4.1], ['B', 'system', 4.3], ['C', 'system', 4.2], ['D', 'system', 4], ['E', 'system', 4.1], ['F', 'system', 4.2],
    ['G', 'system', 4.4], ['H', 'system', 4], ['I', 'system', 4.1], ['broker', 'broker', 6.3], ['lake-sink', 'lake-sink', 3.9]],
};
const IDLE_SCALE = [1, 1.05, 0.96];

function idleCost(layout: Layout, run: number): IdleCost {
  const perProcess = IDLE[layout].map(([process, role, v]) => ({ process, role, cpuMsPerS: round(v * IDLE_SCALE[run - 1], 2) }));
  return { windowS: THROUGHPUT_METHOD.idleS, perProcess, totalCpuMsPerS: round(perProcess.reduce((a, p) => a + p.cpuMsPerS, 0), 2) };
}

/** Orders/s each run keeps up with, and with the scaled-out system at `scaleOut.instances`. */
const CAPACITY: Record<Layout, { runs: number[]; scaleOut: { system: string; instances: number; capacity: number; busiest: string } }> = {
  legacy: { runs: [180, 170, 195], scaleOut: { system: 'C', instances: 3, capacity: 230, busiest: 'A' } },
  hub: { runs: [640, 560, 720], scaleOut: { system: 'G', instances: 3, capacity: 980, busiest: 'broker' } },
};

function layoutResult(layout: Layout): ThroughputLayoutResult {
  const p = PROFILES[layout];
  const c = CAPACITY[layout];
  const runs: ThroughputRun[] = c.runs.map((capacity, i) => ({
    run: i + 1, idle: idleCost(layout, i + 1), search: rateSearch((target) => ratePoint(p, target, capacity, i + 1)), cost: costPoint(layout, capacity, i + 1),
  }));
  const scaled = rateSearch((target) => ({ ...ratePoint(p, target, c.scaleOut.capacity, 1), busiest: c.scaleOut.busiest }));
  const scaleOut: ScaleOut = {
    system: c.scaleOut.system, instances: c.scaleOut.instances, sustainedPerS1: runs[0].search.sustainedPerS, sustainedPerSN: scaled.sustainedPerS,
    bottleneck1: runs[0].search.bottleneck, bottleneckN: scaled.bottleneck, search: scaled,
  };
  return { layout, runs, scaleOut };
}

const TUNING: TuningKnob[] = [
  { layout: 'legacy', part: 'HTTP client', knob: 'keep-alive sockets per peer', value: '16', why: 'A\'s synchronous calls reuse connections instead of opening one per order' },
  { layout: 'legacy', part: 'AMQP consumer', knob: 'prefetch', value: '50', why: 'enough unacknowledged messages in flight to keep a consumer busy, few enough that a crash redelivers little' },
  { layout: 'legacy', part: 'batch export', knob: 'period', value: '5 s', why: 'as grown: the landscape\'s schedule, not tuned' },
  { layout: 'hub', part: 'kafkajs producer', knob: 'acks', value: '1', why: 'one broker: the leader\'s acknowledgement is all there is' },
  { layout: 'hub', part: 'kafkajs consumer', knob: 'maxWaitTimeInMs', value: '25', why: 'a fetch with little to read returns within 25 ms, so time to systems is not a fetch wait' },
  { layout: 'hub', part: 'kafkajs consumer', knob: 'partitionsConsumedConcurrently', value: '3', why: 'one partition per instance when a system is scaled out' },
  { layout: 'hub', part: 'lake sink', knob: 'flush', value: '200 records or 500 ms', why: 'fewer, larger lake files without holding records for long' },
];

export function throughput(): ThroughputResult {
  return { method: structuredClone(THROUGHPUT_METHOD), tuning: structuredClone(TUNING), layouts: [layoutResult('legacy'), layoutResult('hub')] };
}
