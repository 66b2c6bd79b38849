/**
 * The charts of "Growth to large landscapes" (figure group 'projection'): per measure, the measured
 * points (dots), each layout's fitted line and, for legacy, the band up to its worst case, from the
 * smallest n measured to projectTo. Both axes are logarithmic so the measured points stay readable
 * beside values tens of times larger. Every chart says in its caption and title that it is a model.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderChart, LAYOUT_SCALE, type Chart } from './chart-render.ts';
import type { Report } from './model.ts';
import { projectedAt, projectionOf, type MetricProjection, type Projection, type ProjectionMetricId } from './projection.ts';

const WIDE = 620;
export const PROJECTION_CHART_HEIGHT = 300;
/** Points along each line (evenly spaced on the log axis) besides the measured n. */
const SAMPLES = 80;

export const PROJECTION_CHART_IDS: Readonly<Record<ProjectionMetricId, string>> = {
  declaredLinks: 'chart-projection-links',
  adaptersTotal: 'chart-projection-adapters',
  liveTcpTotal: 'chart-projection-live-tcp',
  formatsPerSystem: 'chart-projection-formats',
};

const FIT = 'fitted line (model)';
const WORST = 'worst case (model)';
const MEASURED = 'measured';

/** Whole n from `from` to `to`, spread evenly on a log axis, with `extra` (the measured n) among them. */
export function sampleNs(from: number, to: number, extra: readonly number[] = []): number[] {
  const ns = new Set<number>(extra.filter((n) => n >= from && n <= to));
  for (let i = 0; i <= SAMPLES; i++) ns.add(Math.round(from * (to / from) ** (i / SAMPLES)));
  return [...ns].sort((a, b) => a - b);
}

export interface ProjectionDatum { n: number; layout: string; kind: string; value?: number; lo?: number; hi?: number; dot?: string }

/** The chart's data: measured dots, fitted and worst-case lines, legacy's band; only values above 0 (a log axis has no 0). */
export function projectionChartData(p: Projection, m: MetricProjection): ProjectionDatum[] {
  const ns = sampleNs(p.nFrom, p.projectTo, m.layouts.flatMap((l) => l.measured.map((x) => x.n)));
  const out: ProjectionDatum[] = [];
  for (const l of m.layouts) {
    for (const x of l.measured) if (x.value > 0) out.push({ n: x.n, layout: l.layout, kind: MEASURED, value: x.value, dot: MEASURED });
    const at = ns.map((n) => ({ n, ...projectedAt(l, n) }));
    // The hub's worst case is drawn only where it is not its fitted line.
    const worstApart = l.worst !== null && (l.layout === 'legacy' || at.some((v) => v.fit === null || Math.abs(v.fit - (v.worst ?? 0)) > 1e-9));
    for (const v of at) {
      if (v.fit !== null && v.fit > 0) out.push({ n: v.n, layout: l.layout, kind: FIT, value: v.fit });
      if (worstApart && v.worst !== null && v.worst > 0) out.push({ n: v.n, layout: l.layout, kind: WORST, value: v.worst });
      if (l.layout === 'legacy' && v.fit !== null && v.worst !== null && v.fit > 0) out.push({ n: v.n, layout: l.layout, kind: 'band', lo: v.fit, hi: v.worst });
    }
  }
  return out;
}

export function projectionChartSpec(p: Projection, m: MetricProjection): TopLevelSpec {
  const x = { field: 'n', type: 'quantitative' as const, title: `systems n (log scale; measured n = ${p.nFrom}..${p.nTo})`,
    scale: { type: 'log' as const, domain: [p.nFrom, Math.max(p.projectTo, p.nFrom + 1)], nice: false } };
  const y = { field: 'value', type: 'quantitative' as const, title: `${m.label} (log scale)`, scale: { type: 'log' as const } };
  const data = projectionChartData(p, m);
  const lines = [FIT, WORST].filter((k) => data.some((d) => d.kind === k));
  const color = { field: 'layout', type: 'nominal' as const, title: 'layout', scale: LAYOUT_SCALE, legend: { symbolOpacity: 1, symbolType: 'square' } };
  return {
    width: WIDE, height: PROJECTION_CHART_HEIGHT,
    title: { text: `${m.label}: measured at n = ${p.nFrom}..${p.nTo}, a model up to n = ${p.projectTo}`, fontSize: 13 },
    data: { values: data as unknown as Record<string, unknown>[] },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'band'" }],
        mark: { type: 'area', opacity: 0.15 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
      },
      {
        transform: [{ filter: `datum.kind === '${FIT}' || datum.kind === '${WORST}'` }],
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x, y, color,
          strokeDash: { field: 'kind', type: 'nominal', title: 'line', scale: { domain: lines, range: lines.map((k) => (k === FIT ? [1, 0] : [6, 4])) }, legend: { labelLimit: 240, symbolStrokeColor: '#555' } },
          detail: { field: 'kind', type: 'nominal' },
        },
      },
      {
        transform: [{ filter: `datum.kind === '${MEASURED}'` }],
        mark: { type: 'point', filled: true, size: 45, opacity: 1 },
        encoding: { x, y, color, shape: { field: 'dot', type: 'nominal', title: null, scale: { domain: [MEASURED], range: ['circle'] } } },
      },
    ],
    resolve: { scale: { y: 'shared', x: 'shared' } },
  };
}

function caption(p: Projection, m: MetricProjection): string {
  const band = m.layouts.some((l) => l.layout === 'legacy' && l.worst)
    ? ' The shaded legacy band runs from its fitted line up to its worst case (dashed).' : '';
  const zeros = m.layouts.some((l) => l.measured.some((x) => x.value <= 0)) ? ' A measured 0 has no place on a log axis and is left out of the chart (not of the fit).' : '';
  return `A model, not a measurement: ${m.label} against the number of systems. Dots are the points measured at n = ${p.nFrom}..${p.nTo}; `
    + `lines are straight lines fitted to them by least squares and extrapolated to n = ${p.projectTo}.${band} Both axes are logarithmic.${zeros}`;
}

/** One chart per projected measure; none when the report has no connections points. */
export async function projectionCharts(r: Report): Promise<Chart[]> {
  const p = projectionOf(r);
  if (!p) return [];
  const charts: Chart[] = [];
  for (const m of p.metrics) {
    if (m.layouts.every((l) => l.measured.every((x) => x.value <= 0))) continue;
    charts.push(await renderChart(PROJECTION_CHART_IDS[m.id], caption(p, m), projectionChartSpec(p, m)));
  }
  return charts;
}
