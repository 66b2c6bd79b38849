/**
 * Server-side chart rendering: a Vega-Lite spec is compiled to Vega and rendered to an SVG string by a
 * headless vega View (renderer 'none'), so report.html carries finished SVGs and runs no script.
 * Charts only ever get inline data; the loader refuses every URL so a spec can never fetch anything.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { inlineSvg } from './svg.ts';

export interface Chart { id: string; caption: string; svg: string }

/** Colours of the two layouts, the same in every chart. */
export const LAYOUT_SCALE = { domain: ['legacy', 'hub'], range: ['#c0504d', '#2f6fb0'] };
/** Every failures layout's colour: legacy-ha a darker red than legacy, hub-cluster green beside the hub's blue. */
const FAILURES_COLORS: Readonly<Record<string, string>> = { legacy: '#c0504d', 'legacy-ha': '#8a2b28', hub: '#2f6fb0', 'hub-cluster': '#3a9a5b' };
const FAILURES_ORDER = ['legacy', 'legacy-ha', 'hub', 'hub-cluster'];

/**
 * The layout colour scale of a failures chart: legacy and hub always, legacy-ha and hub-cluster
 * only when the chart has them (each keeps its colour whichever others are present).
 */
export function layoutScale(layouts: readonly string[]): { domain: string[]; range: string[] } {
  const domain = FAILURES_ORDER.filter((l) => LAYOUT_SCALE.domain.includes(l) || layouts.includes(l));
  return { domain, range: domain.map((l) => FAILURES_COLORS[l]) };
}

const FONT = 'Helvetica, Arial, sans-serif';

/** Shared look: system fonts only (nothing to download), white background. */
export const CHART_CONFIG = {
  font: FONT,
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' },
  header: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: '#ddd' },
} as const;

const refusingLoader = {
  load: (uri: string): Promise<string> => Promise.reject(new Error(`report charts use inline data only; refused to load ${uri}`)),
  sanitize: (uri: string): Promise<{ href: string }> => Promise.reject(new Error(`report charts use inline data only; refused ${uri}`)),
  http: (uri: string): Promise<string> => Promise.reject(new Error(`refused ${uri}`)),
  file: (path: string): Promise<string> => Promise.reject(new Error(`refused ${path}`)),
};

export async function renderChart(id: string, caption: string, spec: TopLevelSpec): Promise<Chart> {
  const vegaSpec = compile({ ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none', loader: refusingLoader as unknown as vega.Loader });
  try {
    const svg = await view.toSVG();
    return { id, caption, svg: inlineSvg(svg, id, `chart ${id}`) };
  } finally {
    view.finalize();
  }
}
