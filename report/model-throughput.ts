/**
 * The throughput and cost runner's results (report.json `runners.throughput`): per layout, N
 * repeated runs (`--repeat`), each with its idle cost, its open-loop rate search and its cost
 * point at a common rate; then a scale-out search with the busiest system at more instances. The
 * headline takes medians and intervals over the runs (report/stats.ts), never one run's figure.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();
const nullableMs = ms.nullable();
const layoutSchema = z.enum(['legacy', 'hub']);

export const latencyPercentilesSchema = z.object({ p50: nullableMs, p99: nullableMs, p999: nullableMs, max: nullableMs });

/** One open-loop point: the load generator sends at `targetPerS` on a fixed schedule for rampS + windowS. */
export const ratePointSchema = z.object({
  targetPerS: z.number().positive(),
  rampS: z.number().nonnegative().describe('Load before the measured window (pipelines fill); its orders are not measured.'),
  windowS: z.number().positive(),
  /** Orders scheduled in the window, and of those accepted (2xx) and failed. */
  sent: count,
  accepted: count,
  failed: count,
  acceptedPerS: z.number().nonnegative(),
  /** From each order's intended send time (its slot in the schedule) to its answer: a stall shows here even if nothing was sent during it. */
  ingressLatencyMs: latencyPercentilesSchema.describe('From each order\'s intended send time (its slot in the schedule) to its answer, accepted orders '
    + 'of the window: a stall cannot hide its queueing (no coordinated omission).'),
  /** From the intended send time until every downstream system had applied all of the order's effects. */
  toSystemsMs: z.object({ p50: nullableMs, p99: nullableMs }).describe('From the intended send time until every downstream system had applied all of the order\'s effects.'),
  /** From the intended send time until the lake held all of the order's records. */
  toLakeMs: z.object({ p50: nullableMs, p99: nullableMs }).describe('From the intended send time until the lake held all of the order\'s records.'),
  completionRate: z.number().min(0).max(1),
  /** Median time to systems of the window's last quarter minus its first quarter: > 0 and growing when a backlog builds. */
  backlogGrowthMs: z.number().nullable().describe('Median time to systems of the orders of the window\'s last quarter minus that of its first quarter: '
    + 'a backlog that grows shows as a growing delay.'),
  sustained: z.boolean(),
  /** Why the point is not sustained (each criterion it failed), empty when it is. */
  why: z.array(z.string()),
  /** The landscape process with the most CPU during the window. */
  busiest: z.string(),
});
export type RatePoint = z.infer<typeof ratePointSchema>;

export const processCpuSchema = z.object({
  process: z.string(),
  /** system, broker, rabbitmq, lake-sink. */
  role: z.enum(['system', 'broker', 'rabbitmq', 'lake-sink']),
  cpuMsPerS: z.number().nonnegative(),
});

/** The landscape at rest: CPU per second per process with no load, after the warm-up has drained. */
export const idleCostSchema = z.object({
  windowS: z.number().positive(),
  perProcess: z.array(processCpuSchema),
  totalCpuMsPerS: z.number().nonnegative(),
});
export type IdleCost = z.infer<typeof idleCostSchema>;

/** Where one order's CPU went (ms per order over the steady window), by part. */
export const cpuPartsSchema = z.object({
  /** The systems' declared per-message work (the busy loops), measured in each system around it. */
  declaredWork: z.number().nonnegative(),
  /** Validating records and running the rules (expressions), measured in each system. */
  rules: z.number().nonnegative(),
  /** Encoding and decoding records (JSON, XML, CSV, Kafka values), measured in each system and in the lake writer. */
  serialization: z.number().nonnegative(),
  /** Everything else inside the system processes: the transport clients (HTTP, AMQP, Kafka), sockets, timers, GC, the runtime. */
  transport: z.number().nonnegative(),
  /** The legacy systems' own lake exports (writing export files), measured in each system. */
  lakeExport: z.number().nonnegative(),
  /** The broker process(es) or RabbitMQ. */
  broker: z.number().nonnegative(),
  /** The hub's lake sink process (its serialization is in `serialization`). */
  lakeWriter: z.number().nonnegative(),
});
export type CpuParts = z.infer<typeof cpuPartsSchema>;

export const costPointSchema = z.object({
  ratePerS: z.number().positive(),
  rampS: z.number().nonnegative(),
  windowS: z.number().positive(),
  orders: count.describe('Orders scheduled in the window.'),
  accepted: count,
  /** All landscape processes' CPU (utime + stime) over the window, per order scheduled in it. */
  cpuMsPerOrder: z.number().nonnegative(),
  parts: cpuPartsSchema,
  /** Sum of the parts minus the total, ms per order (the parts are measured apart; this is their disagreement). */
  unattributedMsPerOrder: z.number(),
  perProcess: z.array(processCpuSchema.extend({
    msPerOrder: z.number().nonnegative(),
    parts: cpuPartsSchema.partial().optional(),
    /** Resident memory (VmRSS), the mean of the samples at the window's start and end. */
    rssBytes: count.optional().describe('Resident memory (VmRSS of /proc/PID/status), the mean of the samples at the window\'s start and end. '
      + 'Absent when it could not be read, and in reports made before it was measured.'),
  })),
  /** Sum of the processes' rssBytes: the landscape's resident memory at the cost rate. */
  rssBytesTotal: count.optional().describe('Sum of the processes\' rssBytes: the resident memory the landscape held at the cost rate (a process '
    + 'whose memory could not be read is left out, and the run\'s notes say which). Absent in reports made before it was measured.'),
  /** Records that crossed the integration per order (received by a system, or written to the lake). */
  recordsPerOrder: z.number().nonnegative(),
  /** Integration CPU (serialization, transport, lake export, broker, lake writer) per record crossing it. */
  integrationMsPerRecord: z.number().nonnegative(),
  /** write_bytes of /proc/PID/io: bytes the processes caused to be written to storage (pages dirtied), per order. */
  diskBytesPerOrder: z.number().nonnegative(),
  /** wchar minus write_bytes: writes to sockets and pipes (and file writes that never reached storage), per order. */
  socketBytesPerOrder: z.number().nonnegative(),
  /** The load generator's CPU per order: its own process, not part of the landscape's figures. */
  loadgenMsPerOrder: z.number().nonnegative(),
  point: ratePointSchema.describe('The cost point\'s latencies and checks, as a rate point.'),
});
export type CostPoint = z.infer<typeof costPointSchema>;

export const rateSearchSchema = z.object({
  /** Every measured point in the order it ran. */
  points: z.array(ratePointSchema),
  /** The highest rate sustained; null when even the lowest tried was not. */
  sustainedPerS: z.number().nullable(),
  /** The lowest rate tried that was not sustained (the limit lies between); null when none failed below the search's ceiling. */
  failedPerS: z.number().nullable(),
  /** The process with the most CPU at the highest sustained point: where the bottleneck is. */
  bottleneck: z.string(),
});
export type RateSearch = z.infer<typeof rateSearchSchema>;

export const throughputRunSchema = z.object({
  run: z.number().int().positive(),
  idle: idleCostSchema,
  search: rateSearchSchema,
  cost: costPointSchema.nullable().describe('Null when the cost rate was not sustained in this run (then the note says so).'),
});
export type ThroughputRun = z.infer<typeof throughputRunSchema>;

export const scaleOutSchema = z.object({
  /** The busiest system at the cost point of the first run, and the instances it ran with. */
  system: z.string(),
  instances: z.number().int().min(2),
  /** Sustained rate with one instance (the first run's search) and with `instances`. */
  sustainedPerS1: z.number().nullable(),
  sustainedPerSN: z.number().nullable(),
  bottleneck1: z.string(),
  bottleneckN: z.string(),
  search: rateSearchSchema,
});
export type ScaleOut = z.infer<typeof scaleOutSchema>;

export const throughputLayoutSchema = z.object({
  layout: layoutSchema,
  runs: z.array(throughputRunSchema).min(1),
  scaleOut: scaleOutSchema.nullable().describe('Null when scale-out was not measured (the note says why).'),
});
export type ThroughputLayoutResult = z.infer<typeof throughputLayoutSchema>;

/** One tuning knob of a layout's wiring, as the run used it. */
export const tuningKnobSchema = z.object({
  layout: layoutSchema,
  /** Where it applies: "kafkajs producer", "AMQP consumer", ... */
  part: z.string(),
  knob: z.string(),
  value: z.string(),
  why: z.string(),
});
export type TuningKnob = z.infer<typeof tuningKnobSchema>;

export const throughputResultSchema = z.object({
  /** How a point is judged and how long it lasts: the settings the runs used. */
  method: z.object({
    repeats: z.number().int().positive(),
    ingressP99BoundMs: z.number().positive(),
    minOrdersPerPoint: count,
    precision: z.number().positive().describe('The search stops when the gap between the highest sustained and the lowest failed rate is below this share.'),
    backlogGrowthBoundMs: z.number().nonnegative(),
    costRatePerS: z.number().positive(),
    idleS: z.number().positive(),
    /** What the time budget cut, in words (empty when nothing). */
    tradeOffs: z.array(z.string()),
  }),
  tuning: z.array(tuningKnobSchema),
  layouts: z.array(throughputLayoutSchema),
});
export type ThroughputResult = z.infer<typeof throughputResultSchema>;
