/**
 * Each runner's settings as a scenario file gives them (zod schemas, so a scenario file is checked
 * before anything starts and every problem is reported at its line). Defaults are what
 * `npm run compare` uses on a 2-core machine; a scenario's `quick:` block overrides them for --quick.
 * Defaults that depend on the landscape (the systems onboarding adds, how far the connections sweep
 * goes) are filled in from the topology by scenario.ts: no system id is written here.
 */
import { z } from 'zod';
import { failuresLayoutNameSchema, type FailuresLayoutName } from '../report/model.ts';
import { DEFAULT_PROJECT_TO } from '../report/projection.ts';
import { PRICE_FIELDS } from '../report/money.ts';
import { RESERVED_SYSTEM_ID_PATTERN, RESERVED_SYSTEM_IDS, SYSTEM_ID_PATTERN } from '../systems/topology/schema.ts';
import { AS_GROWN, BEST_PRACTICE, PRACTICE_OPTIONS, type PracticeName, type Practices } from '../systems/runtime/practices.ts';

const positiveInt = z.number().int().positive();
const seconds = z.number().positive().max(3600);
const rate = z.number().positive().max(10_000);
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
const NOT_RESERVED = `(?!(?:${RESERVED_SYSTEM_IDS.map(escapeRegExp).join('|')})$)(?!${RESERVED_SYSTEM_ID_PATTERN.source.replace(/^\^/, '')})`;
/**
 * A system's id as topologies allow it (A, C2, core-banking), never one of the names of the
 * integration's own components (rabbitmq, broker, broker-2, quorum-leader, lake-sink, ...), which
 * systems may not take: so a name in a list that mixes both is told apart by this pattern alone.
 */
export const SYSTEM_ID = new RegExp(`^${NOT_RESERVED}${SYSTEM_ID_PATTERN.source.replace(/^\^/, '')}`);
const systemId = z.string().regex(SYSTEM_ID, 'a system id: a letter, then letters, digits, "_" or "-" (A, C2, core-banking)');

/** The integration's own components the failures runner can kill besides systems; `broker-<n>` names one broker of hub-cluster. */
export const FAILURE_COMPONENT_NAMES = ['rabbitmq', 'broker', 'quorum-leader', 'lake-sink'] as const;
export const CLUSTER_BROKER_NAME = /^broker-\d+$/;

/** Is `name` one of the integration's component names (not a system)? */
export function isComponentName(name: string): boolean {
  return (FAILURE_COMPONENT_NAMES as readonly string[]).includes(name) || CLUSTER_BROKER_NAME.test(name);
}

export const layoutsSchema = z.array(z.enum(['legacy', 'hub'])).min(1).max(2);

export const connectionsSettingsSchema = z.strictObject({
  /** Sweep n over the first n systems of the run's systems, from `from` to `to` (both included). */
  from: positiveInt.min(2).default(3),
  /** Default: every system of the run (filled in by scenario.ts from the topology). */
  to: positiveInt.max(64).optional(),
  /** Light load while sampling, orders/s. */
  loadOrdersPerS: rate.default(5),
  /** Load time before the sample is taken (connection pools fill, consumers join). */
  steadyS: seconds.default(4),
  /**
   * How far the report's model of larger landscapes extrapolates the measured points (systems);
   * at least `to` (scenario.ts checks it against the sweep).
   */
  projectTo: positiveInt.max(100_000).default(DEFAULT_PROJECT_TO),
});
/** As the runner gets them: `to` always set. */
export type ConnectionsSettings = Omit<z.infer<typeof connectionsSettingsSchema>, 'to'> & { to: number };

export const failureComponentsSchema = z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]);

/**
 * The integration practices of one failures layout as a scenario writes them: `as-grown`,
 * `best-practice`, or any of the options (outbox, peers, formats, delivery), the rest being the
 * layout's default (DEFAULT_FAILURES_PRACTICES).
 */
const practiceOptionsSchema = z.strictObject({
  outbox: z.enum(PRACTICE_OPTIONS.outbox.values).optional(),
  peers: z.enum(PRACTICE_OPTIONS.peers.values).optional(),
  formats: z.enum(PRACTICE_OPTIONS.formats.values).optional(),
  delivery: z.enum(PRACTICE_OPTIONS.delivery.values).optional(),
} satisfies Record<PracticeName, z.ZodType>);
export const layoutPracticesSchema = z.union([z.literal('as-grown'), z.literal('best-practice'), practiceOptionsSchema]);

/**
 * Each failures layout's practices unless the scenario says otherwise, so that each comparison
 * pair is like for like: legacy and hub as they grew (in-memory buffers, fixed peers, declared
 * formats, at-least-once delivery: what the second pair's practices save shows against them), and
 * legacy-ha and hub-cluster at their best (legacy-ha: durable outboxes, peer reload, JSON, idempotent
 * delivery; hub-cluster: idempotent delivery, the one practice that applies to the hub).
 */
export const DEFAULT_FAILURES_PRACTICES: Readonly<Record<FailuresLayoutName, Practices>> = {
  legacy: AS_GROWN,
  'legacy-ha': BEST_PRACTICE,
  hub: AS_GROWN,
  'hub-cluster': { ...AS_GROWN, delivery: 'idempotent' },
};

export const failuresSettingsSchema = z.strictObject({
  loadOrdersPerS: rate.default(10),
  /** Load before the first fault (the baseline rate is measured here). */
  warmupS: seconds.default(5),
  /** How long each killed system stays down. */
  downS: seconds.default(5),
  /**
   * How long each of the integration's own components (RabbitMQ, a broker, the quorum leader, the
   * lake sink) stays down; default downS. Long enough, the second half of it shows whether a
   * layout fails over without the component (the single-point-of-failure rule judges that half).
   */
  infraDownS: seconds.optional(),
  /** Observation after the restart (recovery is timed within it). */
  observeS: seconds.default(8),
  /** Longest wait for the oracle to see every accepted order's effects after the load stops. */
  settleS: seconds.default(60),
  /**
   * Which components to kill: 'all' (every system, RabbitMQ or the broker, the lake sink; in
   * hub-cluster every broker and then the quorum leader, the rest being the hub's) or names
   * ('broker' in hub-cluster: each of its brokers; 'broker-2', 'quorum-leader': those only).
   */
  components: failureComponentsSchema.default('all'),
  /**
   * The layouts this runner measures; default the scenario's. Only this runner knows hub-cluster:
   * the hub on a local cluster of 3 of our brokers, topics replicated 3 times, acks=all.
   */
  layouts: z.array(failuresLayoutNameSchema).min(1).max(4).optional(),
  /**
   * The integration practices per layout (`legacy: best-practice`, `hub: { delivery: at-least-once }`);
   * a layout not named, and any option not named, keeps its default (DEFAULT_FAILURES_PRACTICES).
   */
  practices: z.partialRecord(failuresLayoutNameSchema, layoutPracticesSchema).optional(),
});
export type FailuresSettings = z.infer<typeof failuresSettingsSchema>;

/** The practices one failures layout runs with: the scenario's for it over the layout's default. */
export function practicesFor(settings: Pick<FailuresSettings, 'practices'>, layout: FailuresLayoutName): Practices {
  const written = settings.practices?.[layout];
  if (written === 'as-grown') return AS_GROWN;
  if (written === 'best-practice') return BEST_PRACTICE;
  const chosen = Object.fromEntries(Object.entries(written ?? {}).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_FAILURES_PRACTICES[layout], ...chosen };
}

/**
 * The throughput and cost runner (open-loop rate search, cost at a common rate, idle cost,
 * scale-out). Every point is judged by the same criteria (see runners/throughput/point.ts).
 */
export const throughputSettingsSchema = z.strictObject({
  /** The search's first rate is the cost point's (costRatePerS); it doubles while sustained, halves while not, then bisects. */
  /** The search never goes above this rate. */
  maxRatePerS: rate.default(5000),
  /** Stop when the gap between the highest sustained and the lowest failed rate is below this share. */
  precision: z.number().min(0.01).max(1).default(0.1),
  /** A point lasts long enough for its p99 to rest on this many orders. */
  minOrdersPerPoint: positiveInt.max(1_000_000).default(1000),
  /** ...and at least this long. */
  minWindowS: seconds.default(5),
  /**
   * ...and this many of the landscape's slowest scheduled hops to a system (legacy batch drops and
   * polls), so the backlog check compares whole schedule periods and does not take a batch
   * schedule's saw-tooth for a backlog (4: each quarter of the window holds a period).
   */
  hopsPerWindow: z.number().min(0).max(20).default(4),
  /** Load before each window (not measured): pipelines and pools fill. */
  rampS: z.number().min(0).max(600).default(2),
  /** A point is sustained only while the ingress p99 (from the intended send time) stays under this bound. */
  ingressP99BoundMs: z.number().positive().max(600_000).default(500),
  /** ...and the delay to the systems grows less than this over the window (last quarter's median minus the first's). */
  backlogGrowthBoundMs: z.number().min(0).max(600_000).default(500),
  /** Longest wait after a point for every effect of its orders (systems and lake). */
  settleS: seconds.default(30),
  /** Most points per search (the budget), the cost point included. */
  maxPoints: positiveInt.max(50).default(10),
  /** Runs after the first, and scale-out, search from the first run's result with at most this many points (besides the cost point). */
  repeatPoints: positiveInt.max(50).default(3),
  /** CPU, bytes and their attribution are measured at this rate in every layout (the same for all: like for like). */
  costRatePerS: rate.default(40),
  /**
   * Load at the cost rate before its window, so every scheduled step runs in steady state through
   * the window. Default per layout: 1.2 × its slowest schedule (legacy lake exports, batch drops,
   * polls; the hub's lake sink flushes every second), at least rampS.
   */
  costRampS: z.number().min(0).max(600).optional(),
  /** The landscape with no load, after warming up: CPU per second per process. */
  idleS: seconds.default(10),
  /** Scale-out: the busiest system at this many instances (1 = not measured). */
  scaleOutInstances: z.number().int().min(1).max(16).default(3),
});
export type ThroughputSettings = z.infer<typeof throughputSettingsSchema>;

export const onboardingSettingsSchema = z.strictObject({
  /** Systems running before the change; default all but `add`. */
  initial: z.array(systemId).min(1).optional(),
  /** Systems added to the running landscape; default the topology's systems with joinsLate: true (filled in by scenario.ts). */
  add: z.array(systemId).min(1).optional(),
  loadOrdersPerS: rate.default(10),
  /** Load before the change (history the newcomers may or may not receive). */
  beforeS: seconds.default(5),
  /** Load after the change. */
  afterS: seconds.default(5),
  settleS: seconds.default(60),
  /**
   * The integration practices per layout, written as for the failures runner (`legacy: { peers: reload }`,
   * `legacy: best-practice`); a layout or option not named is as grown. With peers=reload the legacy
   * systems whose flows change rewire while running instead of being restarted.
   */
  practices: z.partialRecord(z.enum(['legacy', 'hub']), layoutPracticesSchema).optional(),
});
/** As the runner gets them: `add` always set. */
export type OnboardingSettings = Omit<z.infer<typeof onboardingSettingsSchema>, 'add'> & { add: string[] };

/** The practices one onboarding layout runs with: the scenario's for it over AS_GROWN. */
export function onboardingPracticesFor(settings: Pick<OnboardingSettings, 'practices'>, layout: 'legacy' | 'hub'): Practices {
  const written = settings.practices?.[layout];
  if (written === 'as-grown') return AS_GROWN;
  if (written === 'best-practice') return BEST_PRACTICE;
  const chosen = Object.fromEntries(Object.entries(written ?? {}).filter(([, v]) => v !== undefined));
  return { ...AS_GROWN, ...chosen };
}

const price = z.number().nonnegative().max(1e9);
/**
 * Unit prices the report turns the measured cost into money with (report/money.ts): all optional,
 * nothing bundled; without them the report shows no money. Written at the top of a scenario file
 * (`prices:`), not per runner: they price the throughput runner's cost point.
 */
export const pricesSchema = z.strictObject({
  /** ISO 4217 code the prices are in (EUR, USD, ...). */
  currency: z.string().regex(/^[A-Z]{3}$/, 'a three-letter ISO 4217 currency code such as EUR').optional(),
  /** Per CPU core-hour. */
  cpuCoreHour: price.optional(),
  /** Per GiB of memory held for a month. */
  memoryGiBMonth: price.optional(),
  /** Per GiB written to disk. */
  diskWrittenGiB: price.optional(),
  /** Per GiB sent over the network. */
  networkGiB: price.optional(),
  /** The monthly volume priced; default the cost point's rate sustained for 30 days. */
  ordersPerMonth: z.number().positive().max(1e15).optional(),
} satisfies Record<(typeof PRICE_FIELDS)[number], z.ZodType>);
export type Prices = z.infer<typeof pricesSchema>;
