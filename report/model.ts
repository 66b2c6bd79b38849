/**
 * The shape of one run's results (results/<run-id>/report.json): every raw measurement the runners
 * took, plus where and how they were taken. The zod schemas are the single definition: the runners'
 * types are inferred from them, and report/report.schema.json is generated from them
 * (`npm run generate:report-schema`) so anyone can validate a report without this code.
 */
import { z } from 'zod';

export const REPORT_SCHEMA_VERSION = 1;

export const layoutSchema = z.enum(['legacy', 'hub']);
export type Layout = z.infer<typeof layoutSchema>;

/**
 * The failures runner's layouts: the two of every runner, plus hub-cluster (the hub on a cluster
 * of three of our brokers, replicated topics, producers with acks=all).
 */
export const failuresLayoutNameSchema = z.enum(['legacy', 'legacy-ha', 'hub', 'hub-cluster']);
export type FailuresLayoutName = z.infer<typeof failuresLayoutNameSchema>;

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();
const nullableMs = ms.nullable();

export const machineSchema = z.object({
  hostname: z.string(),
  cpuModel: z.string(),
  cores: count,
  memoryBytes: count,
  os: z.string().describe('Distribution and kernel, e.g. "Debian GNU/Linux 12 (bookworm), Linux 6.1.0"'),
  arch: z.string(),
});
export type Machine = z.infer<typeof machineSchema>;

export const versionsSchema = z.object({
  untangle: z.string(),
  node: z.string(),
  kafkajs: z.string(),
  amqplib: z.string(),
  autocannon: z.string(),
  rabbitmq: z.string().nullable().describe('Server version announced by the RabbitMQ used; null when the run used none'),
  hub: z.string().describe('The hub the run used: our broker (with its version) or the KAFKA_BROKERS cluster'),
});
export type Versions = z.infer<typeof versionsSchema>;

export const linkSchema = z.object({
  id: z.string(),
  from: z.string(),
  to: z.string(),
  protocol: z.string(),
  format: z.string(),
  /** Data kinds carried. */
  data: z.array(z.string()).describe('Data kinds carried.'),
});
export type ReportLink = z.infer<typeof linkSchema>;

/** The topology both layouts were built from, as drawn in the report's diagrams. */
export const topologySummarySchema = z.object({
  name: z.string(),
  file: z.string(),
  systems: z.array(z.object({ id: z.string(), name: z.string(), role: z.string() })),
  legacyLinks: z.array(linkSchema),
  hubLinks: z.array(linkSchema),
});

// ---- connections -----------------------------------------------------------------------------

export const connectionsPointSchema = z.object({
  layout: layoutSchema,
  n: count,
  systems: z.array(z.string()),
  /** Integration links the topology declares for this layout (lake links included). */
  declaredLinks: count.describe('Integration links the topology declares for this layout (lake links included).'),
  /** Live ESTABLISHED TCP connections between the landscape's processes, from /proc. */
  liveTcpTotal: count.describe('Live ESTABLISHED TCP connections between the landscape\'s processes, from /proc.'),
  liveTcpPairs: z.array(z.object({ client: z.string(), server: z.string(), connections: count })),
  liveTcpPerProcess: z.array(z.object({ process: z.string(), connections: count })),
  protocols: z.array(z.string()),
  formats: z.array(z.string()),
  /** Sum over systems of the (transport, format) adapters each needs. */
  adaptersTotal: count.describe('Sum over systems of the (transport, format) adapters each needs.'),
  adapters: z.array(z.object({ system: z.string(), adapters: count, speaks: z.array(z.string()) })),
  /** Light load during the sample: orders posted and how many the ingress accepted. */
  ordersSent: count.describe('Light load during the sample: orders posted.'),
  ordersAccepted: count.describe('Of the orders posted during the sample, how many the ingress accepted.'),
});
export type ConnectionsPoint = z.infer<typeof connectionsPointSchema>;

export const connectionsResultSchema = z.object({
  points: z.array(connectionsPointSchema),
  /** Reference curves, a model not a measurement: n(n-1)/2 point-to-point links and n hub links. */
  model: z.array(z.object({ n: count, pointToPoint: count, hub: count })).describe('Reference curves, a model not a measurement: n(n-1)/2 point-to-point links and n hub links.'),
});
export type ConnectionsResult = z.infer<typeof connectionsResultSchema>;

// ---- failures --------------------------------------------------------------------------------

/** quorum-leader: the hub-cluster node that led the controller quorum when it was killed (also a broker). */
export const componentKindSchema = z.enum(['system', 'rabbitmq', 'broker', 'quorum-leader', 'lake-sink']);

export const failureSchema = z.object({
  component: z.string(),
  kind: componentKindSchema,
  /** How long it was down: from kill -9 to its restart being ready. */
  downMs: ms.describe('How long it was down: from kill -9 to its restart being ready.'),
  /** Ingress requests sent while it was down, and how many were not accepted (non-2xx or no answer). */
  ingressSent: count.describe('Ingress requests sent while it was down.'),
  ingressFailed: count.describe('Of those, how many were not accepted (non-2xx or no answer).'),
  ingressErrorRate: z.number().min(0).max(1),
  /** From the oracle over the orders accepted in this fault's window, after settling. */
  ordersAccepted: count.describe('Orders accepted in this fault\'s window; this and the record and order counts that follow are from the oracle, after settling.'),
  recordsExpected: count,
  recordsLost: count,
  recordsDuplicated: count,
  ordersLost: count,
  /** Other systems that saw errors or stalls during the fault. */
  blastRadius: z.array(z.string()).describe('Other systems that saw errors or stalls during the fault.'),
  /** From the restart until ingress and downstream throughput were back to 90 % of the baseline; null if never within the window. */
  recoveryMs: nullableMs.describe('From the restart until ingress and downstream throughput were back to 90 % of the baseline; null if never within the window.'),
  /** Longest time while it was down that no order was accepted at the ingress (by answer time); hub-cluster: the failover's interruption. */
  ingressGapMs: nullableMs.optional().describe('Longest time while it was down that the ingress answered no order as accepted (by answer time): the interruption the '
    + 'ingress\'s clients saw, the whole down time when nothing was accepted. Absent in reports made before it was measured.'),
  /** hub-cluster: from the restart until every partition had all its replicas in sync again; null if not within the wait. */
  replicasInSyncMs: nullableMs.optional().describe('hub-cluster only: from the restart until every partition had all its replicas in sync again; null if not '
    + 'within the wait.'),
  /** hub-cluster: from the restart until every partition was led by its preferred replica again; null if not within the wait. */
  leadersBackMs: nullableMs.optional().describe('hub-cluster only: from the restart until every partition was led by its preferred replica again '
    + '(leadership moved back by the controller\'s leader rebalance); null if not within the wait. Absent in reports made before it was measured.'),
  /** Whether one place (hub: the broker's metrics; legacy: RabbitMQ's queue stats) named the failed component. */
  locatable: z.boolean().describe('Whether one place (hub: the broker\'s metrics; hub-cluster: the cluster\'s quorum, metadata and metrics; legacy: '
    + 'RabbitMQ\'s queue stats) named the failed component.'),
  locatedBy: z.string().describe('What that one place showed, or why it could not tell'),
  /** Whether the service worked again while it was still down: halfway through its down time orders were taken and something moved downstream. */
  resumedWhileDown: z.boolean().optional().describe('Whether the service worked again while the component was still down: in the second half of its down '
    + 'time the ingress accepted at least half of the orders sent and not every downstream component was stalled (a failover). Absent in reports made '
    + 'before it was measured.'),
  /** A failure that loses data, or stops the service for as long as the component is down. */
  singlePointOfFailure: z.boolean().describe('A failure that loses data, or stops the service for as long as the component is down: records lost, or '
    + 'still in the second half of its down time the ingress refused more than half of the orders or nothing moved downstream.'),
  /** Accepted orders per second, 1 s buckets, from the window's start (for charts). */
  ingressTimeline: z.array(z.object({ tS: z.number(), accepted: count, failed: count })).describe('Accepted orders per second, 1 s buckets, from the window\'s start (for charts).'),
});
export type FailureMeasurement = z.infer<typeof failureSchema>;

/** hub-cluster: how the cluster was set up. */
export const clusterSetupSchema = z.object({
  brokers: count,
  /** Controller quorum voters among the brokers. */
  controllers: count.describe('Controller quorum voters among the brokers.'),
  replicationFactor: count,
  minInsyncReplicas: count,
  /** The producers' acks (-1: all in-sync replicas). */
  acks: z.number().int().describe('The producers\' acks (-1: all in-sync replicas).'),
  /** How long the controller waits for a broker's heartbeat before fencing it and moving its leaderships. */
  brokerSessionTimeoutMs: ms.optional().describe('How long the controller waited for a broker\'s heartbeat before fencing it and electing new leaders '
    + 'for its partitions. Absent in reports made before it was recorded.'),
  /** How often the controller moved leadership back to preferred replicas (auto leader rebalance); 0 = never. */
  leaderRebalanceIntervalMs: ms.optional().describe('How often the controller checked for partitions not led by their preferred replica and moved '
    + 'their leadership back (Kafka\'s auto leader rebalance); 0 = never. Absent in reports made before it was recorded.'),
});
export type ClusterSetup = z.infer<typeof clusterSetupSchema>;

export const failuresLayoutSchema = z.object({
  layout: failuresLayoutNameSchema,
  cluster: clusterSetupSchema.optional(),
  baselineOrdersPerS: z.number().nonnegative(),
  components: z.array(failureSchema),
  /** Components that could not be failed in this run, with the reason. */
  skipped: z.array(z.object({ component: z.string(), reason: z.string() })).describe('Components that could not be failed in this run, with the reason.'),
  summary: z.object({
    singlePointsOfFailure: z.array(z.string()),
    meanBlastRadius: z.number().nonnegative(),
    totalRecordsLost: count,
    totalOrdersLost: count,
    meanRecoveryMs: nullableMs,
  }),
});
export const failuresResultSchema = z.object({
  /** How long each killed system was kept down. */
  downMs: ms.describe('How long each killed system was kept down.'),
  /** How long each of the integration's own components (RabbitMQ, a broker, the quorum leader, the lake sink) was kept down, when not downMs. */
  infraDownMs: ms.optional().describe('How long each of the integration\'s own components (RabbitMQ, a broker, the quorum leader, the lake sink) was kept '
    + 'down; absent when that was downMs.'),
  loadOrdersPerS: z.number().positive(),
  layouts: z.array(failuresLayoutSchema),
});
export type FailuresResult = z.infer<typeof failuresResultSchema>;

// ---- throughput and cost --------------------------------------------------------------------

export const latencySchema = z.object({ p50: ms, p99: ms, p999: ms });

export const throughputStepSchema = z.object({
  /** autocannon connections (concurrent requests in flight). */
  connections: count.describe('autocannon connections (concurrent requests in flight).'),
  durationS: z.number().positive(),
  requests: count,
  acceptedPerS: z.number().nonnegative(),
  errors: count,
  non2xx: count,
  ingressLatencyMs: latencySchema,
  /** Orders whose every expected effect (lake and each downstream system) was present after settling. */
  completionRate: z.number().min(0).max(1).describe('Orders whose every expected effect (lake and each downstream system) was present after settling.'),
  e2eLatencyMs: z.object({ p50: nullableMs, p99: nullableMs }),
  cpuSecondsPer1000Orders: z.number().nonnegative(),
  cpuSecondsPerProcess: z.array(z.object({ process: z.string(), seconds: z.number().nonnegative() })),
  /** Bytes written by all processes (sockets, pipes, files: /proc/PID/io wchar) per accepted order. */
  bytesPerOrder: z.number().nonnegative().describe('Bytes written by all processes (sockets, pipes, files: /proc/PID/io wchar) per accepted order.'),
  /** The process with the most CPU time in this step. */
  bottleneck: z.string().describe('The process with the most CPU time in this step.'),
});
export type ThroughputStep = z.infer<typeof throughputStepSchema>;

export const throughputLayoutSchema = z.object({
  layout: layoutSchema,
  steps: z.array(throughputStepSchema),
  /** The step with the highest accepted rate. */
  saturation: z.object({ connections: count, acceptedPerS: z.number().nonnegative() }).describe('The step with the highest accepted rate.'),
});
export const throughputResultSchema = z.object({
  stepDurationS: z.number().positive(),
  layouts: z.array(throughputLayoutSchema),
});
export type ThroughputResult = z.infer<typeof throughputResultSchema>;

// ---- onboarding ------------------------------------------------------------------------------

export const onboardingLayoutSchema = z.object({
  layout: layoutSchema,
  initialSystems: z.array(z.string()),
  addedSystems: z.array(z.string()),
  /** Existing systems whose configuration had to change / that had to restart. */
  reconfiguredSystems: z.array(z.string()).describe('Existing systems whose configuration had to change.'),
  restartedSystems: z.array(z.string()).describe('Existing systems that had to restart.'),
  newLinks: count,
  newLinkIds: z.array(z.string()),
  /** Ingress: longest run of failed requests during the change, and how many failed. */
  ingressDowntimeMs: ms.describe('Ingress: the longest run of failed requests during the change.'),
  ingressFailed: count.describe('Ingress requests that failed during the change.'),
  ingressSent: count,
  /** Time from the start of the change until every newcomer was healthy. */
  onboardingMs: ms.describe('Time from the start of the change until every newcomer was healthy.'),
  newcomers: z.array(z.object({
    system: z.string(),
    /** Records of orders accepted before it joined that it received (its expected share, if it had been there). */
    historyReceived: count.describe('Records of orders accepted before it joined that it received (its expected share, if it had been there).'),
    historyExpected: count,
    receivedHistory: z.boolean(),
  })),
});
export const onboardingResultSchema = z.object({
  layouts: z.array(onboardingLayoutSchema),
});
export type OnboardingResult = z.infer<typeof onboardingResultSchema>;

// ---- the whole run ---------------------------------------------------------------------------

export const runnerNameSchema = z.enum(['connections', 'failures', 'throughput', 'onboarding']);
export type RunnerName = z.infer<typeof runnerNameSchema>;

export const headlineRowSchema = z.object({
  runner: runnerNameSchema,
  metric: z.string(),
  unit: z.string(),
  legacy: z.number().nullable(),
  hub: z.number().nullable(),
  /** Only in rows of runners that measured the hub-cluster layout (failures). */
  'hub-cluster': z.number().nullable().optional().describe('Only in rows of runners that measured the hub-cluster layout (the failures runner).'),
  /** hub / legacy; null when legacy is 0 or either is missing. */
  ratio: z.number().nullable().describe('hub / legacy; null when legacy is 0 or either is missing.'),
  better: z.enum(['lower', 'higher']),
});
export type HeadlineRow = z.infer<typeof headlineRowSchema>;

export const reportSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  runId: z.string(),
  scenario: z.object({
    name: z.string(),
    file: z.string(),
    quick: z.boolean(),
    /** The scenario as run (after --quick and defaults), every setting. */
    settings: z.record(z.string(), z.unknown()).describe('The scenario as run (after --quick and defaults), every setting.'),
  }),
  seed: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationS: z.number().nonnegative(),
  machine: machineSchema,
  versions: versionsSchema,
  topology: topologySummarySchema,
  runners: z.object({
    connections: connectionsResultSchema.optional(),
    failures: failuresResultSchema.optional(),
    throughput: throughputResultSchema.optional(),
    onboarding: onboardingResultSchema.optional(),
  }),
  /** One row per compared metric, legacy and hub (and hub-cluster where measured) side by side (derived from runners). */
  headline: z.array(headlineRowSchema).describe('One row per compared metric, legacy and hub (and hub-cluster where measured) side by side (derived from runners).'),
  /** Anything the reader must know: skipped parts and why, deviations. */
  notes: z.array(z.string()).describe('Anything the reader must know: skipped parts and why, deviations.'),
});
export type Report = z.infer<typeof reportSchema>;
