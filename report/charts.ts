/**
 * The charts of report.html, one group per runner present, as Vega-Lite specs over the runners' raw
 * results (rendered to SVG by chart-render.ts).
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderChart, layoutScale, LAYOUT_SCALE, type Chart } from './chart-render.ts';
import type { FigureGroup } from './document-model.ts';
import type { ConnectionsResult, FailuresResult, OnboardingResult, Report, ThroughputResult } from './model.ts';

const WIDE = 620;
const HEIGHT = 280;

const layoutColor = { field: 'layout', type: 'nominal', title: 'layout', scale: LAYOUT_SCALE } as const;

async function connectionsCharts(c: ConnectionsResult): Promise<Chart[]> {
  const values = [
    ...c.points.flatMap((p) => [
      { n: p.n, value: p.declaredLinks, series: `${p.layout}: declared links`, source: 'measured' },
      { n: p.n, value: p.liveTcpTotal, series: `${p.layout}: live TCP connections`, source: 'measured' },
    ]),
    ...c.model.flatMap((m) => [
      { n: m.n, value: m.pointToPoint, series: 'model: n(n-1)/2 point to point', source: 'model (not measured)' },
      { n: m.n, value: m.hub, series: 'model: n hub links', source: 'model (not measured)' },
    ]),
  ];
  const spec: TopLevelSpec = {
    width: WIDE, height: HEIGHT, data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'n', type: 'quantitative', title: 'systems (n)', axis: { tickMinStep: 1 }, scale: { zero: false } },
      y: { field: 'value', type: 'quantitative', title: 'links / connections' },
      color: {
        field: 'series', type: 'nominal', title: null,
        scale: {
          domain: ['legacy: declared links', 'legacy: live TCP connections', 'hub: declared links', 'hub: live TCP connections', 'model: n(n-1)/2 point to point', 'model: n hub links'],
          range: ['#c0504d', '#e6a09e', '#2f6fb0', '#8fb6e0', '#777777', '#bbbbbb'],
        },
        legend: { columns: 2, labelLimit: 280 },
      },
      strokeDash: { field: 'source', type: 'nominal', legend: null, scale: { domain: ['measured', 'model (not measured)'], range: [[1, 0], [6, 4]] } },
    },
  };
  return [await renderChart('chart-connections', 'Connections against the number of systems: measured declared links and live TCP connections per layout '
    + '(solid), and the n(n-1)/2 and n curves (dashed), which are a model, not measurements.', spec)];
}

async function failuresCharts(f: FailuresResult): Promise<Chart[]> {
  const rows = f.layouts.flatMap((l) => l.components.map((c) => ({ layout: l.layout, component: c.component, errorRate: c.ingressErrorRate, recoveryMs: c.recoveryMs })));
  const components = [...new Set(rows.map((r) => r.component))];
  const scale = layoutScale(f.layouts.some((l) => l.layout === 'hub-cluster'));
  const color = { ...layoutColor, scale };
  // The cluster's components (broker-1, quorum-leader (broker-2), ...) are long names: slanted labels.
  const labelAngle = components.some((c) => c.length > 12) ? -30 : 0;
  const grouped = (field: string, title: string, format: string | undefined, values: object[]): TopLevelSpec => ({
    width: WIDE, height: HEIGHT, data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'component', type: 'nominal', sort: components, title: 'failed component', axis: { labelAngle } },
      xOffset: { field: 'layout', type: 'nominal', scale: { domain: scale.domain } },
      y: { field, type: 'quantitative', title, ...(format ? { axis: { format } } : {}) },
      color,
    },
  });
  const neverRecovered = rows.filter((r) => r.recoveryMs === null).map((r) => `${r.component} (${r.layout})`);
  const timeline = f.layouts.flatMap((l) => l.components.flatMap((c) => c.ingressTimeline.map((p) => ({ layout: l.layout, component: c.component, tS: p.tS, accepted: p.accepted }))));
  return [
    await renderChart('chart-failures-error-rate', 'Share of ingress requests not accepted while each component was down, per layout.',
      grouped('errorRate', 'ingress error rate', '.0%', rows)),
    await renderChart('chart-failures-recovery', 'Recovery time after each restart (until ingress and downstream throughput were back to 90 % of the baseline), per layout.'
      + (neverRecovered.length > 0 ? ` Not recovered within the window, so not drawn: ${neverRecovered.join(', ')}.` : ''),
    grouped('recoveryMs', 'recovery (ms)', undefined, rows.filter((r) => r.recoveryMs !== null))),
    await renderChart('chart-failures-timeline', 'Accepted orders per second at the ingress during each fault window, per failed component and layout.', {
      data: { values: timeline },
      facet: { field: 'component', type: 'nominal', title: null, sort: components },
      columns: 4,
      spec: {
        width: 150, height: 110,
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'tS', type: 'quantitative', title: 'seconds into the window' },
          y: { field: 'accepted', type: 'quantitative', title: 'accepted/s' },
          color,
        },
      },
    }),
  ];
}

async function throughputCharts(t: ThroughputResult): Promise<Chart[]> {
  const values = t.layouts.flatMap((l) => l.steps.map((s) => ({
    layout: l.layout, connections: s.connections, acceptedPerS: s.acceptedPerS, p99: s.ingressLatencyMs.p99, cpu: s.cpuSecondsPer1000Orders,
  })));
  const allPositive = values.every((v) => v.connections > 0);
  const line = (field: string, title: string): TopLevelSpec => ({
    width: WIDE, height: HEIGHT, data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'connections', type: 'quantitative', title: 'concurrent connections (autocannon)', scale: allPositive ? { type: 'log', base: 2 } : {} },
      y: { field, type: 'quantitative', title },
      color: layoutColor,
    },
  });
  return [
    await renderChart('chart-throughput-accepted', 'Accepted orders per second against load (concurrent connections), per layout.', line('acceptedPerS', 'accepted orders/s')),
    await renderChart('chart-throughput-p99', 'Ingress p99 latency against load, per layout.', line('p99', 'ingress p99 (ms)')),
    await renderChart('chart-throughput-cpu', 'CPU seconds per 1,000 accepted orders (all processes) against load, per layout.', line('cpu', 'CPU-s per 1,000 orders')),
  ];
}

async function onboardingCharts(o: OnboardingResult): Promise<Chart[]> {
  const values = o.layouts.flatMap((l) => [
    { layout: l.layout, measure: 'existing systems restarted', value: l.restartedSystems.length },
    { layout: l.layout, measure: 'existing systems reconfigured', value: l.reconfiguredSystems.length },
    { layout: l.layout, measure: 'ingress downtime (ms)', value: l.ingressDowntimeMs },
  ]);
  return [await renderChart('chart-onboarding', 'What adding systems cost the running landscape, per layout: existing systems restarted and reconfigured, and ingress downtime.', {
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null, sort: ['existing systems restarted', 'existing systems reconfigured', 'ingress downtime (ms)'] } },
    spec: {
      width: 170, height: 200,
      mark: 'bar',
      encoding: {
        x: { field: 'layout', type: 'nominal', title: null, sort: LAYOUT_SCALE.domain, axis: { labelAngle: 0 } },
        y: { field: 'value', type: 'quantitative', title: null, axis: { tickMinStep: 1 } },
        color: layoutColor,
      },
    },
    resolve: { scale: { y: 'independent' } },
  })];
}

/** Every chart for the runners present, by the section they belong to. */
export async function renderCharts(r: Report): Promise<Map<FigureGroup, Chart[]>> {
  const charts = new Map<FigureGroup, Chart[]>();
  const { connections, failures, throughput, onboarding } = r.runners;
  if (connections) charts.set('connections', await connectionsCharts(connections));
  if (failures) charts.set('failures', await failuresCharts(failures));
  if (throughput) charts.set('throughput', await throughputCharts(throughput));
  if (onboarding) charts.set('onboarding', await onboardingCharts(onboarding));
  return charts;
}
