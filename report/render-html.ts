/**
 * report.html: the report document with the topology diagrams (Graphviz) and the charts (Vega-Lite),
 * all rendered here to inline SVG. The page is self-contained: no script, no external style, font or
 * image, and a Content-Security-Policy that forbids loading anything, so it opens from disk offline.
 * Every text taken from the report is HTML-escaped.
 */
import { renderCharts } from './charts.ts';
import type { Chart } from './chart-render.ts';
import { renderDiagrams, type Diagram } from './diagrams.ts';
import type { Block, FigureGroup, Table } from './document-model.ts';
import { reportDocument } from './document.ts';
import { REPORT_CSS } from './html-style.ts';
import type { Report } from './model.ts';

/** Nothing may be fetched: styles are inline, images are inline SVG, there are no scripts. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A figure: a chart or a diagram, its SVG and its caption. */
type Figure = (Chart | Diagram) & { kind: 'chart' | 'diagram' };

function figureHtml(f: Figure): string {
  return `<figure class="${f.kind}" id="${escapeHtml(f.id)}"><div class="figure-body">${f.svg}</div>`
    + `<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`;
}

function tableHtml(t: Table): string {
  const cls = (align: 'left' | 'right'): string => (align === 'right' ? ' class="num"' : '');
  const head = t.columns.map((c) => `<th scope="col"${cls(c.align)}>${escapeHtml(c.label)}</th>`).join('');
  const body = t.rows.length === 0
    ? `<tr><td colspan="${t.columns.length}">none</td></tr>`
    : t.rows.map((r) => `<tr>${r.map((cell, i) => `<td${cls(t.columns[i]?.align ?? 'left')}>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table id="table-${escapeHtml(t.id)}"><caption>${escapeHtml(t.caption)}</caption>`
    + `<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function blockHtml(b: Block, figures: ReadonlyMap<FigureGroup, Figure[]>): string {
  switch (b.kind) {
    case 'paragraph':
      return `<p>${escapeHtml(b.text)}</p>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
    case 'table':
      return tableHtml(b.table);
    case 'figures': {
      const group = figures.get(b.group) ?? [];
      return group.length === 0 ? '' : `<div class="figures" data-group="${escapeHtml(b.group)}">\n${group.map(figureHtml).join('\n')}\n</div>`;
    }
  }
}

async function renderFigures(report: Report): Promise<Map<FigureGroup, Figure[]>> {
  const figures = new Map<FigureGroup, Figure[]>();
  figures.set('topology', (await renderDiagrams(report.topology)).map((d) => ({ ...d, kind: 'diagram' as const })));
  for (const [group, charts] of await renderCharts(report)) figures.set(group, charts.map((c) => ({ ...c, kind: 'chart' as const })));
  return figures;
}

export async function renderHtml(report: Report): Promise<string> {
  const doc = reportDocument(report);
  const figures = await renderFigures(report);
  const m = report.machine;
  const subtitle = `Run ${report.runId} · scenario ${report.scenario.name}${report.scenario.quick ? ' (quick)' : ''} · seed ${report.seed} · `
    + `${m.cpuModel}, ${m.cores} cores · ${report.startedAt}`;
  const toc = doc.sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join('\n');
  const sections = doc.sections.map((s) => [
    `<section id="${escapeHtml(s.id)}">`,
    `<h2>${escapeHtml(s.title)}</h2>`,
    ...s.blocks.map((b) => blockHtml(b, figures)).filter((h) => h !== ''),
    '</section>',
  ].join('\n'));
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    `<header><h1>${escapeHtml(doc.title)}</h1><p class="subtitle">${escapeHtml(subtitle)}</p></header>`,
    `<nav class="toc" aria-label="Sections">\n${toc}\n</nav>`,
    '<main>',
    ...sections,
    '</main>',
    `<footer>Rendered by untangle from report.json (report schema version ${report.schemaVersion}); `
      + 'report.schema.json describes every field. Charts by Vega-Lite, diagrams by Graphviz, both rendered when the report was written.</footer>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
