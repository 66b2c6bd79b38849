/**
 * The headline: one row per compared metric, legacy and hub side by side, derived from the runners'
 * raw results. Rows appear only for runners that ran; a layout a runner did not measure is null.
 * The failures runner may also measure hub-cluster: its rows then carry a third value.
 */
import { formatNumber, formatRatio } from './format.ts';
import { formatTextTable } from './text-table.ts';
import type { ConnectionsPoint, ConnectionsResult, FailuresLayoutName, FailuresResult, HeadlineRow, Layout, OnboardingResult, Report, RunnerName, ThroughputResult, ThroughputStep } from './model.ts';

type Runners = Report['runners'];
type FailuresLayout = FailuresResult['layouts'][number];
type ThroughputLayout = ThroughputResult['layouts'][number];
type OnboardingLayout = OnboardingResult['layouts'][number];

/** hub / legacy; null when legacy is 0 or either side is missing. */
export function headlineRatio(legacy: number | null, hub: number | null): number | null {
  if (legacy === null || hub === null || legacy === 0) return null;
  return hub / legacy;
}

/**
 * Rows for one runner from a per-layout value (null when that layout was not measured); a
 * 'hub-cluster' value only when the runner measured that layout.
 */
function rowsFrom<T>(runner: RunnerName, byLayout: (layout: FailuresLayoutName) => T | undefined,
  metrics: readonly { metric: string; unit: string; better: 'lower' | 'higher'; value: (t: T) => number | null }[]): HeadlineRow[] {
  const legacy = byLayout('legacy');
  const hub = byLayout('hub');
  const cluster = byLayout('hub-cluster');
  return metrics.map((m) => {
    const l = legacy === undefined ? null : m.value(legacy);
    const h = hub === undefined ? null : m.value(hub);
    const row: HeadlineRow = { runner, metric: m.metric, unit: m.unit, legacy: l, hub: h, ratio: headlineRatio(l, h), better: m.better };
    if (cluster !== undefined) row['hub-cluster'] = m.value(cluster);
    return row;
  });
}

/** Whether any row carries a hub-cluster value (then tables show that column). */
export function hasClusterColumn(rows: readonly HeadlineRow[]): boolean {
  return rows.some((r) => r['hub-cluster'] !== undefined);
}

/**
 * The single points of failure among the integration's own components (RabbitMQ, the broker, the
 * cluster's brokers and quorum leader, the lake sink), not the systems: what the choice of
 * integration adds or removes.
 */
export function integrationSinglePointsOfFailure(l: FailuresLayout): string[] {
  return l.components.filter((c) => c.kind !== 'system' && c.singlePointOfFailure).map((c) => c.component);
}

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

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

function failuresRows(f: FailuresResult): HeadlineRow[] {
  return rowsFrom<FailuresLayout>('failures', (layout) => f.layouts.find((l) => l.layout === layout), [
    { metric: 'single points of failure', unit: 'components', better: 'lower', value: (l) => l.summary.singlePointsOfFailure.length },
    { metric: 'single points of failure in the integration', unit: 'components', better: 'lower', value: (l) => integrationSinglePointsOfFailure(l).length },
    { metric: 'mean blast radius', unit: 'systems', better: 'lower', value: (l) => l.summary.meanBlastRadius },
    { metric: 'records lost', unit: 'records', better: 'lower', value: (l) => l.summary.totalRecordsLost },
    { metric: 'orders lost', unit: 'orders', better: 'lower', value: (l) => l.summary.totalOrdersLost },
    { metric: 'mean recovery time', unit: 'ms', better: 'lower', value: (l) => l.summary.meanRecoveryMs },
    {
      metric: 'mean ingress error rate during faults', unit: '%', better: 'lower',
      value: (l) => { const m = mean(l.components.map((c) => c.ingressErrorRate)); return m === null ? null : m * 100; },
    },
  ]);
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

/** The headline as a plain-text table for the terminal (metric | legacy | hub | [hub-cluster |] hub/legacy | better). */
export function formatHeadlineTable(rows: readonly HeadlineRow[]): string {
  if (rows.length === 0) return 'no runner ran, so there is no headline';
  const cluster = hasClusterColumn(rows);
  return formatTextTable(
    [{ label: 'runner', align: 'left' }, { label: 'metric', align: 'left' }, { label: 'legacy', align: 'right' }, { label: 'hub', align: 'right' },
      ...(cluster ? [{ label: 'hub-cluster', align: 'right' as const }] : []), { label: 'hub/legacy', align: 'right' }, { label: 'better', align: 'left' }],
    rows.map((h) => [h.runner, metricLabel(h), formatNumber(h.legacy), formatNumber(h.hub), ...(cluster ? [formatNumber(h['hub-cluster'])] : []), formatRatio(h.ratio), h.better]),
  );
}

/** "declared links" + "links" stays as it is; "mean recovery time" + "ms" → "mean recovery time (ms)". */
export function metricLabel(row: Pick<HeadlineRow, 'metric' | 'unit'>): string {
  const words = row.metric.toLowerCase().split(/[^a-z0-9%/-]+/);
  return words.includes(row.unit.toLowerCase()) ? row.metric : `${row.metric} (${row.unit})`;
}
