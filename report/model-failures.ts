/**
 * The failures runner's results (report.json `runners.failures`): per layout, every component
 * killed with what it cost, and a summary; re-exported by model.ts.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();
const nullableMs = ms.nullable();

/**
 * The failures runner's layouts: the two of every runner, plus legacy-ha (legacy on a 3-node
 * RabbitMQ cluster with quorum queues) and hub-cluster (the hub on a cluster of three of our
 * brokers, replicated topics, producers with acks=all). Compared in pairs: legacy against hub,
 * legacy-ha against hub-cluster.
 */
export const failuresLayoutNameSchema = z.enum(['legacy', 'legacy-ha', 'hub', 'hub-cluster']);
export type FailuresLayoutName = z.infer<typeof failuresLayoutNameSchema>;

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
