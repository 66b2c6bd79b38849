/**
 * The headline: one row per compared metric, legacy and hub side by side, derived from the runners'
 * raw results. Rows appear only for runners that ran; a layout a runner did not measure is null.
 * The failures rows compare two pairs, each over the components both its layouts tested
 * (failures-compare.ts): legacy against hub (one RabbitMQ node against one broker), and legacy-ha
 * against hub-cluster; they always carry the second pair's values (null when not measured).
 */
import { formatNumber, formatRatio } from './format.ts';
import { formatTextTable } from './text-table.ts';
import { comparePairs, type SideFigures } from './failures-compare.ts';
import type { ConnectionsPoint, ConnectionsResult, FailuresResult, HeadlineRow, Layout, OnboardingResult, Report, RunnerName, ThroughputResult, ThroughputStep } from './model.ts';

type Runners = Report['runners'];
type ThroughputLayout = ThroughputResult['layouts'][number];
type OnboardingLayout = OnboardingResult['layouts'][number];

/** hub / legacy; null when legacy is 0 or either side is missing. */
export function headlineRatio(legacy: number | null, hub: number | null): number | null {
  if (legacy === null || hub === null || legacy === 0) return null;
  return hub / legacy;
}

/** Rows for one runner from a per-layout value (null when that layout was not measured). */
function rowsFrom<T>(runner: RunnerName, byLayout: (layout: Layout) => T | undefined,
  metrics: readonly { metric: string; unit: string; better: 'lower' | 'higher'; value: (t: T) => number | null }[]): HeadlineRow[] {
  const legacy = byLayout('legacy');
  const hub = byLayout('hub');
  return metrics.map((m) => {
    const l = legacy === undefined ? null : m.value(legacy);
    const h = hub === undefined ? null : m.value(hub);
    return { runner, metric: m.metric, unit: m.unit, legacy: l, hub: h, ratio: headlineRatio(l, h), better: m.better };
  });
}

/** Whether any row carries a value of the second failures pair (legacy-ha, hub-cluster): then tables show that pair. */
export function hasClusterColumn(rows: readonly HeadlineRow[]): boolean {
  return rows.some((r) => r['hub-cluster'] !== undefined || r['legacy-ha'] !== undefined);
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
    { metric: 'declared links', unit: 'links', better: 'lower', value: (p) => p.declaredLinks },
    { metric: 'live TCP connections', unit: 'connections', better: 'lower', value: (p) => p.liveTcpTotal },
    { metric: 'protocols', unit: 'protocols', better: 'lower', value: (p) => p.protocols.length },
    { metric: 'formats', unit: 'formats', better: 'lower', value: (p) => p.formats.length },
    { metric: 'adapters (all systems)', unit: 'adapters', better: 'lower', value: (p) => p.adaptersTotal },
  ]);
}

/** The failures metrics, each from one side of a pair (failures-compare.ts sideFigures). */
export const FAILURES_METRICS: readonly { metric: string; unit: string; better: 'lower' | 'higher'; value: (s: SideFigures) => number | null }[] = [
  { metric: 'single points of failure', unit: 'components', better: 'lower', value: (s) => s.singlePointsOfFailure?.length ?? null },
  { metric: 'single points of failure in the integration', unit: 'components', better: 'lower', value: (s) => s.integrationSinglePointsOfFailure?.length ?? null },
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
      ratio: headlineRatio(legacy, hub), clusterRatio: headlineRatio(legacyHa, cluster), better: m.better,
    };
  });
}

/** The step the saturation names (highest accepted rate), and the step with the fewest connections. */
export function saturationStep(l: ThroughputLayout): ThroughputStep | undefined {
  return l.steps.find((s) => s.connections === l.saturation.connections);
}
export function lowestStep(l: ThroughputLayout): ThroughputStep | undefined {
  return l.steps.reduce<ThroughputStep | undefined>((lo, s) => (lo === undefined || s.connections < lo.connections ? s : lo), undefined);
}

function throughputRows(t: ThroughputResult): HeadlineRow[] {
  return rowsFrom<ThroughputLayout>('throughput', (layout) => t.layouts.find((l) => l.layout === layout), [
    { metric: 'accepted orders/s at saturation', unit: 'orders/s', better: 'higher', value: (l) => l.saturation.acceptedPerS },
    { metric: 'ingress p99 at saturation', unit: 'ms', better: 'lower', value: (l) => saturationStep(l)?.ingressLatencyMs.p99 ?? null },
    { metric: 'end-to-end p50 at the lowest load', unit: 'ms', better: 'lower', value: (l) => lowestStep(l)?.e2eLatencyMs.p50 ?? null },
    { metric: 'end-to-end p99 at the lowest load', unit: 'ms', better: 'lower', value: (l) => lowestStep(l)?.e2eLatencyMs.p99 ?? null },
    { metric: 'CPU per 1,000 orders at saturation', unit: 'CPU-s', better: 'lower', value: (l) => saturationStep(l)?.cpuSecondsPer1000Orders ?? null },
    { metric: 'bytes written per order at saturation', unit: 'bytes', better: 'lower', value: (l) => saturationStep(l)?.bytesPerOrder ?? null },
  ]);
}

function onboardingRows(o: OnboardingResult): HeadlineRow[] {
  return rowsFrom<OnboardingLayout>('onboarding', (layout) => o.layouts.find((l) => l.layout === layout), [
    { metric: 'existing systems restarted', unit: 'systems', better: 'lower', value: (l) => l.restartedSystems.length },
    { metric: 'existing systems reconfigured', unit: 'systems', better: 'lower', value: (l) => l.reconfiguredSystems.length },
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
 * the failures runner ran, legacy-ha against hub-cluster.
 */
export function formatHeadlineTable(rows: readonly HeadlineRow[]): string {
  if (rows.length === 0) return 'no runner ran, so there is no headline';
  const first = formatTextTable(
    [{ label: 'runner', align: 'left' }, { label: 'metric', align: 'left' }, { label: 'legacy', align: 'right' }, { label: 'hub', align: 'right' },
      { label: 'hub/legacy', align: 'right' }, { label: 'better', align: 'left' }],
    rows.map((h) => [h.runner, metricLabel(h), formatNumber(h.legacy), formatNumber(h.hub), formatRatio(h.ratio), h.better]),
  );
  const failures = rows.filter((r) => r.runner === 'failures');
  if (!hasClusterColumn(failures)) return first;
  const second = formatTextTable(
    [{ label: 'runner', align: 'left' }, { label: 'metric', align: 'left' }, { label: 'legacy-ha', align: 'right' }, { label: 'hub-cluster', align: 'right' },
      { label: 'hub-cluster/legacy-ha', align: 'right' }, { label: 'better', align: 'left' }],
    failures.map((h) => [h.runner, metricLabel(h), formatNumber(h['legacy-ha']), formatNumber(h['hub-cluster']), formatRatio(clusterRatioOf(h)), h.better]),
  );
  return `legacy against hub (one RabbitMQ node against one broker)\n${first}\n\nlegacy-ha against hub-cluster (failures only)\n${second}`;
}

/** "declared links" + "links" stays as it is; "mean recovery time" + "ms" → "mean recovery time (ms)". */
export function metricLabel(row: Pick<HeadlineRow, 'metric' | 'unit'>): string {
  const words = row.metric.toLowerCase().split(/[^a-z0-9%/-]+/);
  return words.includes(row.unit.toLowerCase()) ? row.metric : `${row.metric} (${row.unit})`;
}
