/**
 * Comparing failures layouts like with like: over the same components only. Components map across
 * layouts by role (roleOf): every system is its own role (its id is the same in every layout);
 * RabbitMQ (legacy), the broker (hub) and each node of the HA layouts (rabbitmq-N, broker-N) are a
 * messaging node; the quorum leader exists in the HA layouts only, the lake sink in the hub layouts
 * only (elsewhere "not applicable", which is not "not tested"). The report compares two pairs,
 * legacy against hub (one RabbitMQ node against one broker) and legacy-ha against hub-cluster; each
 * pair over the roles tested in both of its layouts, so a layout that failed more components never
 * looks worse (or better) for it. A role tested in one layout and not the other is "not tested"
 * there, never a 0.
 */
import type { FailureMeasurement, FailuresLayoutName, FailuresResult, LossCauses } from './model.ts';

type FailuresLayout = FailuresResult['layouts'][number];

export const FAILURES_LAYOUTS: readonly FailuresLayoutName[] = ['legacy', 'legacy-ha', 'hub', 'hub-cluster'];

export const MESSAGING_NODE = 'messaging node';
export const QUORUM_LEADER_ROLE = 'quorum leader';
export const LAKE_SINK_ROLE = 'lake sink';
const INTEGRATION_ROLES = [MESSAGING_NODE, QUORUM_LEADER_ROLE, LAKE_SINK_ROLE] as const;

/** The role a failed component plays, the same across layouts (see the file's header). */
export function roleOf(c: Pick<FailureMeasurement, 'component' | 'kind'>): string {
  switch (c.kind) {
    case 'system': return c.component;
    case 'rabbitmq':
    case 'broker': return MESSAGING_NODE;
    case 'quorum-leader': return QUORUM_LEADER_ROLE;
    case 'lake-sink': return LAKE_SINK_ROLE;
  }
}

/**
 * Where a component sits in charts across layouts: its role, and for the nodes of a cluster their
 * number (rabbitmq-2 and broker-2 share "messaging node 2").
 */
export function slotOf(c: Pick<FailureMeasurement, 'component' | 'kind'>): string {
  const role = roleOf(c);
  const n = role === MESSAGING_NODE ? /-(\d+)$/.exec(c.component)?.[1] : undefined;
  return n === undefined ? role : `${role} ${n}`;
}

/** Whether a role exists in a layout at all: the quorum leader in the HA layouts, the lake sink in the hub layouts. */
export function applicable(role: string, layout: FailuresLayoutName): boolean {
  if (role === QUORUM_LEADER_ROLE) return layout === 'legacy-ha' || layout === 'hub-cluster';
  if (role === LAKE_SINK_ROLE) return layout === 'hub' || layout === 'hub-cluster';
  return true;
}

export type Coverage = 'tested' | 'not tested' | 'not applicable' | 'not measured';

/** Every role any layout of the run failed: systems in the order first met, then the integration's own. */
export function rolesOf(f: FailuresResult): string[] {
  const seen = new Set<string>();
  for (const layout of FAILURES_LAYOUTS) for (const c of f.layouts.find((l) => l.layout === layout)?.components ?? []) seen.add(roleOf(c));
  const integration = new Set<string>(INTEGRATION_ROLES);
  return [...[...seen].filter((r) => !integration.has(r)), ...INTEGRATION_ROLES.filter((r) => seen.has(r))];
}

/** Whether a role was tested in a layout, not tested there, does not exist there, or the layout was not measured at all. */
export function coverage(f: FailuresResult, role: string, layout: FailuresLayoutName): Coverage {
  const l = f.layouts.find((x) => x.layout === layout);
  if (!l) return 'not measured';
  if (!applicable(role, layout)) return 'not applicable';
  return l.components.some((c) => roleOf(c) === role) ? 'tested' : 'not tested';
}

export interface Pair {
  left: FailuresLayoutName;
  right: FailuresLayoutName;
  /** What is compared, in words. */
  label: string;
}

/** The two comparisons the report makes: like against like. */
export const PAIRS: readonly Pair[] = [
  { left: 'legacy', right: 'hub', label: 'one RabbitMQ node against one broker' },
  { left: 'legacy-ha', right: 'hub-cluster', label: 'a 3-node RabbitMQ cluster with quorum queues against 3 replicating brokers' },
];

/** One layout's figures over the compared components; null figures when nothing was compared. */
export interface SideFigures {
  layout: FailuresLayoutName;
  measured: boolean;
  /** The components compared (those whose role is among the pair's roles). */
  components: FailureMeasurement[];
  singlePointsOfFailure: string[] | null;
  integrationSinglePointsOfFailure: string[] | null;
  meanBlastRadius: number | null;
  recordsLost: number | null;
  /** Summed over the compared components; null when one of them did not record its causes (an older report). */
  lostByCause: LossCauses | null;
  recordsDuplicated: number | null;
  ordersLost: number | null;
  /** Mean kill → ready. */
  meanKillToReadyMs: number | null;
  /**
   * Mean kill → service; a fault whose service was not back within its observation counts with its
   * whole observed span (a lower bound). Null when no compared component measured it (older reports).
   */
  meanKillToServiceMs: number | null;
  /** Faults whose service was not back within their observation. */
  serviceNotBack: string[];
  /** The longest ingress outage of any compared fault; null when none measured it. */
  longestIngressOutageMs: number | null;
  meanIngressErrorRate: number | null;
}

export interface PairComparison {
  pair: Pair;
  /** The roles compared: tested in both layouts; in the one measured when only one was. */
  roles: string[];
  /** Roles failed in one layout of the pair and not compared, with the other layout's coverage ("not tested", "not applicable"). */
  leftOut: { role: string; in: FailuresLayoutName; other: Coverage }[];
  left: SideFigures;
  right: SideFigures;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : sum(xs) / xs.length);

/** The integration's own components among the single points of failure (RabbitMQ, brokers, the quorum leader, the lake sink): what the choice of integration adds or removes. */
export function integrationSinglePointsOfFailure(components: readonly FailureMeasurement[]): string[] {
  return components.filter((c) => c.kind !== 'system' && c.singlePointOfFailure).map((c) => c.component);
}

/** A layout's figures over the components of the given roles (every component when roles is null). */
export function sideFigures(layout: FailuresLayoutName, l: FailuresLayout | undefined, roles: readonly string[] | null): SideFigures {
  const components = l ? l.components.filter((c) => roles === null || roles.includes(roleOf(c))) : [];
  const none = components.length === 0;
  const causes = components.map((c) => c.lostByCause);
  const service = components.flatMap((c) => (c.killToServiceMs !== undefined ? [c.killToServiceMs ?? c.observedMs ?? null] : [])).filter((x): x is number => x !== null);
  const outages = components.flatMap((c) => (c.ingressOutageMs !== undefined ? [c.ingressOutageMs] : []));
  return {
    layout,
    measured: l !== undefined,
    components,
    singlePointsOfFailure: none ? null : components.filter((c) => c.singlePointOfFailure).map((c) => c.component),
    integrationSinglePointsOfFailure: none ? null : integrationSinglePointsOfFailure(components),
    meanBlastRadius: mean(components.map((c) => c.blastRadius.length)),
    recordsLost: none ? null : sum(components.map((c) => c.recordsLost)),
    lostByCause: none || causes.some((c) => c === undefined) ? null : (Object.fromEntries(
      (Object.keys(causes[0]!) as (keyof LossCauses)[]).map((k) => [k, sum(causes.map((c) => c![k]))])) as LossCauses),
    recordsDuplicated: none ? null : sum(components.map((c) => c.recordsDuplicated)),
    ordersLost: none ? null : sum(components.map((c) => c.ordersLost)),
    meanKillToReadyMs: mean(components.map((c) => c.downMs)),
    meanKillToServiceMs: mean(service),
    serviceNotBack: components.filter((c) => c.killToServiceMs === null).map((c) => c.component),
    longestIngressOutageMs: outages.length === 0 ? null : Math.max(...outages),
    meanIngressErrorRate: mean(components.map((c) => c.ingressErrorRate)),
  };
}

/**
 * One pair compared: over the roles tested in both layouts when both were measured (nothing when
 * they share none), over every role of the one measured when only one was.
 */
export function comparePair(f: FailuresResult, pair: Pair): PairComparison {
  const left = f.layouts.find((l) => l.layout === pair.left);
  const right = f.layouts.find((l) => l.layout === pair.right);
  const tested = (l: FailuresLayout | undefined): Set<string> => new Set((l?.components ?? []).map(roleOf));
  const all = rolesOf(f);
  const roles = left && right
    ? all.filter((r) => tested(left).has(r) && tested(right).has(r))
    : all.filter((r) => tested(left ?? right).has(r));
  const leftOut = left && right
    ? all.flatMap((role) => {
      const l = coverage(f, role, pair.left);
      const r = coverage(f, role, pair.right);
      if (l === 'tested' && r !== 'tested') return [{ role, in: pair.left, other: r }];
      if (r === 'tested' && l !== 'tested') return [{ role, in: pair.right, other: l }];
      return [];
    })
    : [];
  return { pair, roles, leftOut, left: sideFigures(pair.left, left, roles), right: sideFigures(pair.right, right, roles) };
}

/** Both pairs. */
export function comparePairs(f: FailuresResult): PairComparison[] {
  return PAIRS.map((p) => comparePair(f, p));
}

/** The components compared, by role, in words: "A, B, C, messaging node (rabbitmq; broker)". */
export function comparedText(c: PairComparison): string {
  if (c.roles.length === 0) return 'no component';
  return c.roles.map((role) => {
    const names = (side: SideFigures): string[] => side.components.filter((x) => roleOf(x) === role).map((x) => x.component);
    const l = names(c.left);
    const r = names(c.right);
    const same = l.length === 1 && r.length <= 1 && (r.length === 0 || r[0] === l[0]) && l[0] === role;
    return same || (l.length === 0 && r.length === 1 && r[0] === role) ? role : `${role} (${[l.join(', '), r.join(', ')].filter((x) => x !== '').join('; ')})`;
  }).join(', ');
}
