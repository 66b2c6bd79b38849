/**
 * The report's figures, the topology diagrams (Graphviz) and the charts (Vega-Lite), rendered once
 * per rendering and used twice: inline in report.html, and as standalone SVG files in figures/ beside
 * report.md, which links them where the HTML shows them (a Git forge displays them in place).
 */
import { renderCharts } from './charts.ts';
import { renderDiagrams } from './diagrams.ts';
import type { Figure, FigureGroup } from './document-model.ts';
import type { Report } from './model.ts';

/** A figure id that is safe as a file name and in a markdown link (ours are all like chart-failures-timeline). */
const FIGURE_ID = /^[a-z0-9][a-z0-9-]*$/;

export async function renderFigures(report: Report): Promise<Map<FigureGroup, Figure[]>> {
  const figures = new Map<FigureGroup, Figure[]>();
  figures.set('topology', (await renderDiagrams(report.topology)).map((d) => ({ ...d, kind: 'diagram' as const })));
  for (const [group, charts] of await renderCharts(report)) figures.set(group, charts.map((c) => ({ ...c, kind: 'chart' as const })));
  for (const f of [...figures.values()].flat()) {
    if (!FIGURE_ID.test(f.id)) throw new Error(`figure id "${f.id}" is not a safe file name (${FIGURE_ID.source})`);
  }
  return figures;
}

/**
 * The figure as an SVG file of its own: an XML prolog and the SVG with its namespaces, size and
 * viewBox (vega and Graphviz both write them; checked here so that a forge can show the file).
 */
export function standaloneSvg(f: Figure): string {
  const open = /^<svg\b[^>]*>/.exec(f.svg)?.[0];
  if (open === undefined) throw new Error(`${f.id}: the figure is not an <svg> element`);
  for (const attribute of ['xmlns="http://www.w3.org/2000/svg"', 'width="', 'height="', 'viewBox="']) {
    if (!open.includes(attribute)) throw new Error(`${f.id}: the SVG lacks ${attribute.replace(/="$/, '')}, so it cannot stand alone`);
  }
  return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n${f.svg}\n`;
}
