/**
 * The shape of one run's results (results/<run-id>/report.json): every raw measurement the runners
 * took, plus where and how they were taken. The zod schemas are the single definition: the runners'
 * types are inferred from them, and report/report.schema.json is generated from them
 * (`npm run generate:report-schema`) so anyone can validate a report without this code.
 */
import { z } from 'zod';
import { failuresResultSchema, practicesSchema } from './model-failures.ts';
import { throughputResultSchema } from './model-throughput.ts';

export const REPORT_SCHEMA_VERSION = 2;

export const layoutSchema = z.enum(['legacy', 'hub']);
export type Layout = z.infer<typeof layoutSchema>;

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();

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
  /** Which way the data goes: from → to, to → from, or both ways. */
  direction: z.enum(['from-to', 'to-from', 'both']).optional().describe('Which way the data goes: from → to, to → from (a hub link of a system that '
    + 'only consumes, and the lake sink\'s), or both (a system that publishes and consumes). Absent in reports made before it was recorded: a legacy '
    + 'link\'s data goes from → to (for rest-poll the receiver `to` polls `from`); a hub link\'s direction then follows from the legacy links.'),
});
export type ReportLink = z.infer<typeof linkSchema>;
/** Which way the data goes on a link. */
export type LinkDirection = NonNullable<ReportLink['direction']>;

/** Hex SHA-256 of a file's bytes: tells two runs' files apart even when their names are the same. */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The longest file text a report carries (the topology's and the scenario's, each): the loaders refuse
 * bigger files before a run starts (a topology 1 MiB, a scenario 256 KiB), so a run's files always fit.
 */
export const FILE_TEXT_CHARS_MAX = 1024 * 1024;

/** A file's full text as the run read it: the bytes its sha256 is of, decoded as UTF-8. */
const fileText = (what: string): z.ZodOptional<z.ZodString> => z.string().max(FILE_TEXT_CHARS_MAX).optional()
  .describe(`The ${what} file's full text as the run read it: the bytes sha256 is of, as UTF-8. Absent in reports made before it was recorded, `
    + 'or when the file could not be read at the start of the run (a note then says why).');

/**
 * Where the code that ran came from: the git commit of the untangle checkout and whether its working
 * tree had changes, read at the start of the run. Nulls, with the reason, when they could not be read.
 */
export const sourceSchema = z.object({
  commit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/).nullable()
    .describe('The commit (git rev-parse HEAD) of the untangle checkout that ran, in full hex; null when it could not be read (reason says why).'),
  dirty: z.boolean().nullable().describe('Whether the working tree had uncommitted changes at the start of the run: any tracked file changed, staged '
    + 'or deleted, or any untracked file that git does not ignore (git status --porcelain); null when it could not be read (reason says why).'),
  reason: z.string().optional().describe('Why commit or dirty is null, e.g. the code is not a git checkout or git is not installed; absent when both were read.'),
});
export type ReportSource = z.infer<typeof sourceSchema>;

/** The topology both layouts were built from, as drawn in the report's diagrams. */
export const topologySummarySchema = z.object({
  name: z.string(),
  file: z.string(),
  /** SHA-256 of the topology file's bytes as the run read them. */
  sha256: sha256.optional().describe('Hex SHA-256 of the topology file\'s bytes as the run read them. Absent in reports made before it was recorded.'),
  text: fileText('topology'),
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
  /** Earlier reference curves (n(n-1)/2 and n); the report now derives its model from the points (report/projection.ts). */
  model: z.array(z.object({ n: count, pointToPoint: count, hub: count })).optional().describe('Earlier reference curves, a model not a measurement: '
    + 'n(n-1)/2 point-to-point links and n hub links. Absent in reports made after the report began deriving its model (growth to large landscapes) '
    + 'from the measured points; ignored by the report.'),
});
export type ConnectionsResult = z.infer<typeof connectionsResultSchema>;

// ---- failures (model-failures.ts) -----------------------------------------------------------

export {
  componentKindSchema, failureSchema, failuresLayoutNameSchema, failuresLayoutSchema, failuresResultSchema, clusterSetupSchema, lossCausesSchema,
  practicesSchema, type ClusterSetup, type FailureMeasurement, type FailuresLayoutName, type FailuresResult, type LossCauses, type ReportPractices,
} from './model-failures.ts';

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
    text: fileText('scenario'),
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
  /** The commit of the code that ran and whether its tree was dirty; always written, optional for older reports. */
  source: sourceSchema.optional().describe('The git commit of the code that ran and whether its working tree had uncommitted changes. '
    + 'Absent in reports made before it was recorded.'),
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
