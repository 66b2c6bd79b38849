/**
 * The charts of report.html, one group per runner present, as Vega-Lite specs over the runners' raw
 * results (rendered to SVG by chart-render.ts); the failures and throughput charts are in
 * charts-failures.ts and charts-throughput.ts.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderChart, LAYOUT_SCALE, type Chart } from './chart-render.ts';
import { failuresCharts } from './charts-failures.ts';
import { throughputCharts } from './charts-throughput.ts';
import { projectionCharts } from './charts-projection.ts';
import type { FigureGroup } from './document-model.ts';
import type { ConnectionsResult, OnboardingResult, Report } from './model.ts';

const WIDE = 620;
const HEIGHT = 280;

const layoutColor = { field: 'layout', type: 'nominal', title: 'layout', scale: LAYOUT_SCALE } as const;

async function connectionsCharts(c: ConnectionsResult): Promise<Chart[]> {
  const values = c.points.flatMap((p) => [
    { n: p.n, value: p.declaredLinks, series: `${p.layout}: declared links` },
    { n: p.n, value: p.liveTcpTotal, series: `${p.layout}: live TCP connections` },
  ]);
  const spec: TopLevelSpec = {
    width: WIDE, height: HEIGHT, data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'n', type: 'quantitative', title: 'systems (n)', axis: { tickMinStep: 1 }, scale: { zero: false } },
      y: { field: 'value', type: 'quantitative', title: 'links / connections' },
      color: {
        field: 'series', type: 'nominal', title: null,
        scale: {
          domain: ['legacy: declared links', 'legacy: live TCP connections', 'hub: declared links', 'hub: live TCP connections'],
          range: ['#c0504d', '#e6a09e', '#2f6fb0', '#8fb6e0'],
        },
        legend: { columns: 2, labelLimit: 280 },
      },
    },
  };
  return [await renderChart('chart-connections', 'Connections against the number of systems, as measured: declared links and live TCP connections per layout. '
    + 'Their growth to larger landscapes is a model, charted in the section Growth to large landscapes.', spec)];
}

async function onboardingCharts(o: OnboardingResult): Promise<Chart[]> {
  const values = o.layouts.flatMap((l) => [
    { layout: l.layout, measure: 'existing systems restarted', value: l.restartedSystems.length },
    { layout: l.layout, measure: 'existing systems reconfigured', value: l.reconfiguredSystems.length },
    { layout: l.layout, measure: 'rewired without a restart', value: l.reloadedSystems?.length ?? 0 },
    { layout: l.layout, measure: 'ingress downtime (ms)', value: l.ingressDowntimeMs },
  ]);
  return [await renderChart('chart-onboarding', 'What adding systems cost the running landscape, per layout: existing systems restarted, reconfigured, '
    + 'and of those rewired without a restart (peer reload), and ingress downtime.', {
    data: { values },
    // A panel per measure, each with its own scale, titled with its measure, its unit the axis title.
    hconcat: ['existing systems restarted', 'existing systems reconfigured', 'rewired without a restart', 'ingress downtime (ms)'].map((measure) => ({
      width: 130, height: 200,
      title: { text: measure.replace('existing systems ', '').replace(' (ms)', ''), fontSize: 12 },
      transform: [{ filter: { field: 'measure', equal: measure } }],
      mark: 'bar',
      encoding: {
        x: { field: 'layout', type: 'nominal', title: 'layout', sort: LAYOUT_SCALE.domain, axis: { labelAngle: 0 } },
        y: { field: 'value', type: 'quantitative', title: measure.endsWith('(ms)') ? 'ms' : 'existing systems', axis: { tickMinStep: 1 } },
        color: layoutColor,
      },
    })),
  } as TopLevelSpec)];
}

/** Every chart for the runners present, by the section they belong to. */
export async function renderCharts(r: Report): Promise<Map<FigureGroup, Chart[]>> {
  const charts = new Map<FigureGroup, Chart[]>();
  const { connections, failures, throughput, onboarding } = r.runners;
  if (connections) charts.set('connections', await connectionsCharts(connections));
  if (connections) charts.set('projection', await projectionCharts(r));
  if (failures) charts.set('failures', await failuresCharts(failures));
  if (throughput) for (const [group, made] of await throughputCharts(throughput)) charts.set(group, made);
  if (onboarding) charts.set('onboarding', await onboardingCharts(onboarding));
  return charts;
}
