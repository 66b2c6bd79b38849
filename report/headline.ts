/**
 * The headline: one row per compared metric, legacy and hub side by side, derived from the runners'
 * raw results. Rows appear only for runners that ran; a layout a runner did not measure is null.
 * The failures rows compare two pairs, each over the components both its layouts tested
 * (failures-compare.ts): legacy against hub (one RabbitMQ node against one broker), and legacy-ha
 * against hub-cluster; they always carry the second pair's values (null when not measured).
 */
import { formatTextTable, type TextColumn } from './text-table.ts';
import { plainPairCells, ratioCell, runsCell, figureCell, verdictCell } from './headline-cells.ts';
import { comparePairs, type SideFigures } from './failures-compare.ts';
import type { ConnectionsPoint, ConnectionsResult, FailuresResult, HeadlineRow, Layout, OnboardingResult, Report, RunnerName, ThroughputResult } from './model.ts';
import type { ThroughputRun } from './model-throughput.ts';
import { repeatedFigures } from './stats.ts';

type Runners = Report['runners'];
type OnboardingLayout = OnboardingResult['layouts'][number];

/** hub / legacy; null when legacy is 0 or either side is missing. */
export function headlineRatio(legacy: number | null, hub: number | null): number | null {
  if (legacy === null || hub === null || legacy === 0) return null;
  return hub / legacy;
}

/**
 * Rows for one runner from a per-layout value (null when that layout was not measured). `exact`
 * marks a metric counted from the topology or the wiring: the same every run, no noise.
 */
function rowsFrom<T>(runner: RunnerName, byLayout: (layout: Layout) => T | undefined,
  metrics: readonly { metric: string; unit: string; better: 'lower' | 'higher'; exact?: true; value: (t: T) => number | null }[]): HeadlineRow[] {
  const legacy = byLayout('legacy');
  const hub = byLayout('hub');
  return metrics.map((m) => {
    const l = legacy === undefined ? null : m.value(legacy);
    const h = hub === undefined ? null : m.value(hub);
    return { runner, metric: m.metric, unit: m.unit, legacy: l, hub: h, ratio: headlineRatio(l, h), better: m.better, ...(m.exact ? { exact: true } : {}) };
  });
}

/** Whether any row carries a value of the second failures pair (legacy-ha, hub-cluster): then tables show that pair. */
export function hasClusterColumn(rows: readonly HeadlineRow[]): boolean {
  return rows.some((r) => (r['hub-cluster'] ?? null) !== null || (r['legacy-ha'] ?? null) !== null);
}

/**
 * The n the connections headline compares at: the largest n measured in both layouts, or, when the
 * layouts share no n, the largest n measured at all. Null when there are no points.
 */
export function connectionsHeadlineN(c: ConnectionsResult): number | null {
  const ns = (layout: Layout): Set<number> => new Set(c.points.filter((p) => p.layout === layout).map((p) => p.n));
  const legacy = ns('legacy');
  const common = [...ns('hub')].filter((n) => legacy.has(n));
  const candidates = common.length > 0 ? common : c.points.map((p) => p.n);
  return candidates.length === 0 ? null : Math.max(...candidates);
}

function connectionsRows(c: ConnectionsResult): HeadlineRow[] {
  const n = connectionsHeadlineN(c);
  return rowsFrom<ConnectionsPoint>('connections', (layout) => c.points.find((p) => p.layout === layout && p.n === n), [
    // Live connections are sampled from /proc while the landscape runs; the rest is counted from the topology.
    { metric: 'declared links', unit: 'links', better: 'lower', exact: true, value: (p) => p.declaredLinks },
    { metric: 'live TCP connections', unit: 'connections', better: 'lower', value: (p) => p.liveTcpTotal },
    { metric: 'protocols', unit: 'protocols', better: 'lower', exact: true, value: (p) => p.protocols.length },
    { metric: 'formats', unit: 'formats', better: 'lower', exact: true, value: (p) => p.formats.length },
    { metric: 'adapters (all systems)', unit: 'adapters', better: 'lower', exact: true, value: (p) => p.adaptersTotal },
  ]);
}

/**
 * The failures metrics, each from one side of a pair (failures-compare.ts sideFigures). The single
 * points of failure are counts of components, taken as exact: which components they are follows from
 * the wiring; the rest are measured during the faults.
 */
export const FAILURES_METRICS: readonly { metric: string; unit: string; better: 'lower' | 'higher'; exact?: true; value: (s: SideFigures) => number | null }[] = [
  { metric: 'single points of failure', unit: 'components', better: 'lower', exact: true, value: (s) => s.singlePointsOfFailure?.length ?? null },
  { metric: 'single points of failure in the integration', unit: 'components', better: 'lower', exact: true,
    value: (s) => s.integrationSinglePointsOfFailure?.length ?? null },
  { metric: 'mean blast radius', unit: 'systems', better: 'lower', value: (s) => s.meanBlastRadius },
  { metric: 'records lost', unit: 'records', better: 'lower', value: (s) => s.recordsLost },
  { metric: 'records duplicated', unit: 'records', better: 'lower', value: (s) => s.recordsDuplicated },
  { metric: 'orders lost', unit: 'orders', better: 'lower', value: (s) => s.ordersLost },
  { metric: 'mean time from kill to ready', unit: 'ms', better: 'lower', value: (s) => s.meanKillToReadyMs },
  { metric: 'mean time from kill to service', unit: 'ms', better: 'lower', value: (s) => s.meanKillToServiceMs },
  { metric: 'longest ingress outage', unit: 'ms', better: 'lower', value: (s) => s.longestIngressOutageMs },
  { metric: 'mean ingress error rate during faults', unit: '%', better: 'lower', value: (s) => (s.meanIngressErrorRate === null ? null : s.meanIngressErrorRate * 100) },
];

/** The failures rows: legacy against hub, legacy-ha against hub-cluster, each pair over the components both tested. */
function failuresRows(f: FailuresResult): HeadlineRow[] {
  const [plain, ha] = comparePairs(f);
  const value = (s: SideFigures, m: (typeof FAILURES_METRICS)[number]): number | null => (s.measured ? m.value(s) : null);
  return FAILURES_METRICS.map((m) => {
    const legacy = value(plain.left, m);
    const hub = value(plain.right, m);
    const legacyHa = value(ha.left, m);
    const cluster = value(ha.right, m);
    return {
      runner: 'failures', metric: m.metric, unit: m.unit, legacy, hub, 'legacy-ha': legacyHa, 'hub-cluster': cluster,
      ratio: headlineRatio(legacy, hub), clusterRatio: headlineRatio(legacyHa, cluster), better: m.better, ...(m.exact ? { exact: true } : {}),
    };
  });
}

/** The throughput metrics, each from one run of a layout (null: not measured in that run). */
export const THROUGHPUT_METRICS: readonly { metric: string; unit: string; better: 'lower' | 'higher'; value: (r: ThroughputRun) => number | null }[] = [
  { metric: 'highest sustained rate', unit: 'orders/s', better: 'higher', value: (r) => r.search.sustainedPerS },
  { metric: 'ingress p99 at the cost rate', unit: 'ms', better: 'lower', value: (r) => r.cost?.point.ingressLatencyMs.p99 ?? null },
  { metric: 'time to systems p99 at the cost rate', unit: 'ms', better: 'lower', value: (r) => r.cost?.point.toSystemsMs.p99 ?? null },
  { metric: 'time to lake p99 at the cost rate', unit: 'ms', better: 'lower', value: (r) => r.cost?.point.toLakeMs.p99 ?? null },
  { metric: 'CPU per order at the cost rate', unit: 'CPU-ms', better: 'lower', value: (r) => r.cost?.cpuMsPerOrder ?? null },
  { metric: 'integration CPU per record crossing it', unit: 'CPU-ms', better: 'lower', value: (r) => r.cost?.integrationMsPerRecord ?? null },
  { metric: 'idle CPU, no load', unit: 'CPU-ms/s', better: 'lower', value: (r) => r.idle.totalCpuMsPerS },
  { metric: 'disk bytes per order (write_bytes)', unit: 'bytes', better: 'lower', value: (r) => r.cost?.diskBytesPerOrder ?? null },
  { metric: 'socket and pipe bytes per order', unit: 'bytes', better: 'lower', value: (r) => r.cost?.socketBytesPerOrder ?? null },
];

/** Medians over the runs with their intervals; the ratio's from the per-run ratios (run i of legacy with run i of hub). */
function throughputRows(t: ThroughputResult): HeadlineRow[] {
  const runsOf = (layout: Layout): ThroughputRun[] => t.layouts.find((l) => l.layout === layout)?.runs ?? [];
  return THROUGHPUT_METRICS.map((m) => ({
    runner: 'throughput' as const, metric: m.metric, unit: m.unit, better: m.better,
    ...repeatedFigures(runsOf('legacy').map(m.value), runsOf('hub').map(m.value)),
  }));
}

function onboardingRows(o: OnboardingResult): HeadlineRow[] {
  return rowsFrom<OnboardingLayout>('onboarding', (layout) => o.layouts.find((l) => l.layout === layout), [
    // Which existing systems must restart or change follows from the wiring; the downtime and the history are measured.
    { metric: 'existing systems restarted', unit: 'systems', better: 'lower', exact: true, value: (l) => l.restartedSystems.length },
    { metric: 'existing systems reconfigured', unit: 'systems', better: 'lower', exact: true, value: (l) => l.reconfiguredSystems.length },
    { metric: 'ingress downtime', unit: 'ms', better: 'lower', value: (l) => l.ingressDowntimeMs },
    { metric: 'newcomers that received history', unit: 'systems', better: 'higher', value: (l) => l.newcomers.filter((n) => n.receivedHistory).length },
  ]);
}

/** The headline rows, in runner order (connections, failures, throughput, onboarding), for the runners present. */
export function headlineRows(runners: Runners): HeadlineRow[] {
  return [
    ...(runners.connections ? connectionsRows(runners.connections) : []),
    ...(runners.failures ? failuresRows(runners.failures) : []),
    ...(runners.throughput ? throughputRows(runners.throughput) : []),
    ...(runners.onboarding ? onboardingRows(runners.onboarding) : []),
  ];
}

/** hub-cluster / legacy-ha of a failures row (computed when an older row has no clusterRatio). */
export function clusterRatioOf(row: HeadlineRow): number | null {
  return row.clusterRatio !== undefined ? row.clusterRatio : headlineRatio(row['legacy-ha'] ?? null, row['hub-cluster'] ?? null);
}

/**
 * The headline as plain-text tables for the terminal: legacy against hub (every runner), then, when
 * the failures runner ran, legacy-ha against hub-cluster. A figure measured over several runs shows
 * its median and 95 % interval; "runs" says what a row stands on (exact, 1, or the runs), and the
 * verdict whether the difference is clear (headline-cells.ts).
 */
export function formatHeadlineTable(rows: readonly HeadlineRow[]): string {
  if (rows.length === 0) return 'no runner ran, so there is no headline';
  const columns = (left: string, right: string): TextColumn[] => [
    { label: 'runner', align: 'left' }, { label: 'metric', align: 'left' }, { label: left, align: 'right' }, { label: right, align: 'right' },
    { label: `${right}/${left}`, align: 'right' }, { label: 'better', align: 'left' }, { label: 'runs', align: 'right' }, { label: 'verdict', align: 'left' },
  ];
  const first = formatTextTable(columns('legacy', 'hub'), rows.map((h) => {
    const c = plainPairCells(h);
    return [h.runner, metricLabel(h), c.legacy, c.hub, c.ratio, h.better, c.runs, c.verdict];
  }));
  const failures = rows.filter((r) => r.runner === 'failures');
  if (!hasClusterColumn(failures)) return first;
  // The second pair has no intervals of its own: its figures show as they are.
  const second = formatTextTable(columns('legacy-ha', 'hub-cluster'), failures.map((h) => [
    h.runner, metricLabel(h), figureCell(h['legacy-ha'], null), figureCell(h['hub-cluster'], null), ratioCell(clusterRatioOf(h), null), h.better,
    runsCell(h), verdictCell(h, h['legacy-ha'], h['hub-cluster'], clusterRatioOf(h)),
  ]));
  return `legacy against hub (one RabbitMQ node against one broker)\n${first}\n\nlegacy-ha against hub-cluster (failures only)\n${second}`;
}

/** "declared links" + "links" stays as it is; "mean recovery time" + "ms" → "mean recovery time (ms)". */
export function metricLabel(row: Pick<HeadlineRow, 'metric' | 'unit'>): string {
  const words = row.metric.toLowerCase().split(/[^a-z0-9%/-]+/);
  return words.includes(row.unit.toLowerCase()) ? row.metric : `${row.metric} (${row.unit})`;
}
