/**
 * The shape of one run's results (results/<run-id>/report.json): every raw measurement the runners
 * took, plus where and how they were taken. The zod schemas are the single definition: the runners'
 * types are inferred from them, and report/report.schema.json is generated from them
 * (`npm run generate:report-schema`) so anyone can validate a report without this code.
 */
import { z } from 'zod';
import { throughputResultSchema } from './model-throughput.ts';

export const REPORT_SCHEMA_VERSION = 2;

export const layoutSchema = z.enum(['legacy', 'hub']);
export type Layout = z.infer<typeof layoutSchema>;

/**
 * The failures runner's layouts: the two of every runner, plus legacy-ha (legacy on a 3-node
 * RabbitMQ cluster with quorum queues) and hub-cluster (the hub on a cluster of three of our
 * brokers, replicated topics, producers with acks=all). Compared in pairs: legacy against hub,
 * legacy-ha against hub-cluster.
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
  /** Reports made before the open-loop generator replaced it for the throughput runner. */
  autocannon: z.string().optional().describe('Reports made before the throughput runner\'s own open-loop generator replaced autocannon.'),
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

/** Hex SHA-256 of a file's bytes: tells two runs' files apart even when their names are the same. */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** The topology both layouts were built from, as drawn in the report's diagrams. */
export const topologySummarySchema = z.object({
  name: z.string(),
  file: z.string(),
  /** SHA-256 of the topology file's bytes as the run read them. */
  sha256: sha256.optional().describe('Hex SHA-256 of the topology file\'s bytes as the run read them. Absent in reports made before it was recorded.'),
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

/** quorum-leader: the node that led the quorum (the controllers', or RabbitMQ's quorum queues') when it was killed. */
export const componentKindSchema = z.enum(['system', 'rabbitmq', 'broker', 'quorum-leader', 'lake-sink']);

/**
 * The integration practices a layout ran with (systems/runtime/practices.ts defines them; the values
 * are repeated here so the report depends on nothing outside report/, and a test keeps them equal).
 */
export const practicesSchema = z.object({
  outbox: z.enum(['memory', 'durable']).describe('What a legacy system has produced but not yet handed over on a schedule: in memory (lost at a kill) or in a durable outbox'),
  peers: z.enum(['fixed', 'reload']).describe('Where a legacy system learns its peers: fixed at start, or re-read from a watched file'),
  formats: z.enum(['declared', 'json']).describe('Legacy links in the formats the topology declares, or JSON everywhere'),
  delivery: z.enum(['at-least-once', 'idempotent']).describe('at-least-once applies a redelivered record again; idempotent skips records already applied'),
});
export type ReportPractices = z.infer<typeof practicesSchema>;

/**
 * Where each lost record went missing (failures/loss.ts has the rule). The categories add up to
 * recordsLost.
 */
export const lossCausesSchema = z.object({
  bufferAtKill: count.describe('Held in the killed system\'s memory (a lake export, batch, poll feed or publish not yet handed over) when it was killed'),
  inFlightCall: count.describe('In a synchronous call or a request in progress to or from the killed system at the kill'),
  rabbitmq: count.describe('Lost while RabbitMQ (a node, or the quorum leader of legacy-ha) was down'),
  broker: count.describe('Lost while the broker (a broker, or the quorum leader of hub-cluster) was down'),
  lakeSink: count.describe('Lake records lost while the lake sink was down'),
  unexplained: count.describe('Lost in the window but not next to the killed component on its path, and no other loss of the same order explains it'),
});
export type LossCauses = z.infer<typeof lossCausesSchema>;

export const failureSchema = z.object({
  component: z.string(),
  kind: componentKindSchema,
  /** kill → ready: from kill -9 to its restart being ready (includes the time it was kept down on purpose). */
  downMs: ms.describe('kill → ready: from kill -9 until its restart was ready again (the time it was kept down on purpose included).'),
  /** From the restart command to ready: how long it took to start. */
  restartMs: ms.optional().describe('From the restart command until it was ready: how long it took to start. Absent in reports made before it was measured.'),
  /** kill → service: see failures/recovery.ts; null when the service was not back within the observation. */
  killToServiceMs: nullableMs.optional().describe('kill → service, in 100 ms steps: from the kill until the ingress accepted orders at 90 % of its warm-up rate '
    + 'again and an order sent then reached every system due to receive it as fast as in the warm-up (the glossary has the exact rule); null when the '
    + 'service was not back within the observation. Absent in reports made before it was measured.'),
  /** From the kill to the end of the observation after the restart. */
  observedMs: ms.optional().describe('From the kill to the end of the observation after the restart (the span kill → service is looked for in). '
    + 'Absent in reports made before it was recorded.'),
  /** Longest gap between consecutive accepted ingress answers (by answer time) from the last one before the kill to the end of the observation. */
  ingressOutageMs: ms.optional().describe('Longest ingress outage: the longest gap between consecutive accepted ingress answers, by the time each answer '
    + 'came, from the last one before the kill (within a second of it) to the end of the observation (a gap still open then ends there). Absent in reports '
    + 'made before it was measured.'),
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
  /** recordsLost by where each record went missing. */
  lostByCause: lossCausesSchema.optional().describe('recordsLost by where each record went missing. Absent in reports made before it was measured.'),
  /** Other systems that saw errors or stalls during the fault. */
  blastRadius: z.array(z.string()).describe('Other systems that saw errors or stalls during the fault.'),
  /** Earlier measure, replaced by killToServiceMs: from the restart, in 1 s buckets. */
  recoveryMs: nullableMs.optional().describe('Earlier measure (reports made before killToServiceMs): from the restart until ingress and downstream throughput '
    + 'were back to 90 % of the baseline, in 1 s buckets; null if never within the window.'),
  /** Earlier measure, replaced by ingressOutageMs: the longest gap while it was down. */
  ingressGapMs: nullableMs.optional().describe('Earlier measure (reports made before ingressOutageMs): the longest time while it was down that the ingress '
    + 'answered no order as accepted, by answer time.'),
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
  /** Ingress answers by the time each came (accepted, failed), from before the kill to the end of the observation (for the fault timeline). */
  outcomeTimeline: z.object({
    bucketMs: z.number().positive(),
    points: z.array(z.object({ tS: z.number(), accepted: count, failed: count })),
  }).optional().describe('Ingress answers counted by the time each came, accepted and failed, per bucketMs bucket; tS is the bucket\'s start in seconds '
    + 'from the kill (negative before it). Absent in reports made before it was measured.'),
  /** Earlier chart data: accepted orders per second by send time, 1 s buckets from the kill. */
  ingressTimeline: z.array(z.object({ tS: z.number(), accepted: count, failed: count })).optional()
    .describe('Earlier chart data (reports made before outcomeTimeline): requests per 1 s bucket by the time they were sent, from the kill.'),
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
  /** The integration practices every system of this layout ran with. */
  practices: practicesSchema.optional().describe('The integration practices every system of this layout ran with. Absent in reports made before they were recorded.'),
  baselineOrdersPerS: z.number().nonnegative(),
  components: z.array(failureSchema),
  /** Components that could not be failed in this run, with the reason. */
  skipped: z.array(z.object({ component: z.string(), reason: z.string() })).describe('Components that could not be failed in this run, with the reason.'),
  /** Over every component of this layout (the report compares layouts over the components they share). */
  summary: z.object({
    /** The components this summary was computed over. */
    components: z.array(z.string()).optional().describe('The components this summary was computed over: every one failed in this layout. Absent in reports '
      + 'made before it was recorded.'),
    singlePointsOfFailure: z.array(z.string()),
    meanBlastRadius: z.number().nonnegative(),
    totalRecordsLost: count,
    totalRecordsDuplicated: count.optional(),
    totalOrdersLost: count,
    /** Mean kill → service over the components whose service came back within their observation; null when none did. */
    meanKillToServiceMs: nullableMs.optional().describe('Mean kill → service over the components whose service came back within their observation; null '
      + 'when none did. Absent in reports made before it was measured.'),
    longestIngressOutageMs: ms.optional().describe('The longest ingress outage of any fault. Absent in reports made before it was measured.'),
    /** Earlier measure: mean recovery from the restart. */
    meanRecoveryMs: nullableMs.optional().describe('Earlier measure (reports made before meanKillToServiceMs): mean recovery from the restart.'),
  }).describe('Over every component of this layout (the report compares layouts over the components they share).'),
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

// ---- throughput and cost (model-throughput.ts) -----------------------------------------------

export { throughputResultSchema, type ThroughputResult } from './model-throughput.ts';

// ---- onboarding ------------------------------------------------------------------------------

export const onboardingLayoutSchema = z.object({
  layout: layoutSchema,
  initialSystems: z.array(z.string()),
  addedSystems: z.array(z.string()),
  /** Existing systems whose configuration had to change / that had to restart. */
  reconfiguredSystems: z.array(z.string()).describe('Existing systems whose configuration had to change.'),
  restartedSystems: z.array(z.string()).describe('Existing systems that had to restart.'),
  /** Existing systems that took their new configuration while running (legacy with peers=reload), without a restart. */
  reloadedSystems: z.array(z.string()).optional().describe('Existing systems that took their new configuration while running (legacy with peers=reload): '
    + 'reconfigured without a restart. Absent in reports made before it was measured.'),
  /** Summed over the restarted existing systems: from each one's old process exiting until its new one was healthy. */
  restartDowntimeMs: ms.optional().describe('Summed over the restarted existing systems: from each one\'s old process exiting until its new one was healthy; '
    + '0 when none restarted. Absent in reports made before it was measured.'),
  /** The integration practices every system of this layout ran with. */
  practices: practicesSchema.optional().describe('The integration practices every system of this layout ran with. Absent in reports made before they were recorded.'),
  newLinks: count,
  newLinkIds: z.array(z.string()),
  /** Ingress: longest run of failed requests during the change, and how many failed. */
  ingressDowntimeMs: ms.describe('Ingress: the longest run of failed requests during the change.'),
  ingressFailed: count.describe('Ingress requests that failed during the change.'),
  ingressSent: count,
  /** Time from the start of the change until every newcomer was healthy and every existing system that had to change had (restarted or rewired). */
  onboardingMs: ms.describe('Time from the start of the change until every newcomer was healthy and every existing system that had to change had changed '
    + '(restarted, or rewired without a restart).'),
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
  /**
   * Failures rows only: the second comparison pair, legacy-ha against hub-cluster (null: that layout
   * was not measured, or shares no tested component with the other of its pair).
   */
  'legacy-ha': z.number().nullable().optional().describe('Failures rows only: legacy-ha, compared with hub-cluster over the components both tested '
    + '(null: not measured, or no component in common). Absent in reports made before the pairs.'),
  'hub-cluster': z.number().nullable().optional().describe('Failures rows only: hub-cluster, compared with legacy-ha over the components both tested '
    + '(null: not measured, or no component in common). Older reports: hub-cluster over its own components.'),
  /** hub / legacy; null when legacy is 0 or either is missing. */
  ratio: z.number().nullable().describe('hub / legacy; null when legacy is 0 or either is missing.'),
  /** Failures rows: hub-cluster / legacy-ha; null when legacy-ha is 0 or either is missing. */
  clusterRatio: z.number().nullable().optional().describe('Failures rows only: hub-cluster / legacy-ha; null when legacy-ha is 0 or either is missing.'),
  better: z.enum(['lower', 'higher']),
  /** Runs the figures come from (repeated runners); absent: one run. */
  runs: z.number().int().positive().optional().describe('Runs the figures come from (repeated measurements); absent: one run.'),
  /** 95 % intervals over the runs (median in legacy/hub/ratio); absent with one run. */
  intervals: z.object({
    legacy: z.tuple([z.number(), z.number()]).nullable(),
    hub: z.tuple([z.number(), z.number()]).nullable(),
    ratio: z.tuple([z.number(), z.number()]).nullable(),
  }).optional().describe('95 % intervals over the runs (the row\'s legacy, hub and ratio are then medians); the ratio\'s from the per-run ratios. '
    + 'Absent with one run.'),
  /** Counted from the topology or the wiring, not measured: exact, no noise. */
  exact: z.boolean().optional().describe('Counted from the topology or the wiring, not measured: exact, no noise.'),
});
export type HeadlineRow = z.infer<typeof headlineRowSchema>;

export const reportSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  runId: z.string(),
  scenario: z.object({
    name: z.string(),
    file: z.string(),
    /** SHA-256 of the scenario file's bytes as run. */
    sha256: sha256.optional().describe('Hex SHA-256 of the scenario file\'s bytes as run. Absent in reports made before it was recorded.'),
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
  /** One row per compared metric, legacy and hub side by side, and for failures also legacy-ha and hub-cluster (derived from runners). */
  headline: z.array(headlineRowSchema).describe('One row per compared metric, legacy against hub side by side, and in the failures rows also legacy-ha '
    + 'against hub-cluster (derived from runners).'),
  /** Anything the reader must know: skipped parts and why, deviations. */
  notes: z.array(z.string()).describe('Anything the reader must know: skipped parts and why, deviations.'),
});
export type Report = z.infer<typeof reportSchema>;
