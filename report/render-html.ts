/**
 * report.html: the report document with the topology diagrams (Graphviz) and the charts (Vega-Lite)
 * as inline SVG (figures.ts renders them). The page is self-contained: no script, no external style,
 * font or image, and a Content-Security-Policy that forbids loading anything, so it opens from disk
 * offline. Every text taken from the report is HTML-escaped. html-style.ts keeps it readable from a
 * wide screen to a phone and on paper.
 */
import type { Block, Figure, Figures, Table } from './document-model.ts';
import { reportDocument } from './document.ts';
import { renderFigures } from './figures.ts';
import { reportCss, tableClass, tableStackCh } from './html-style.ts';
import type { Report } from './model.ts';

/** Nothing may be fetched: styles are inline, images are inline SVG, there are no scripts. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function figureHtml(f: Figure): string {
  return `<figure class="${f.kind}" id="${escapeHtml(f.id)}"><div class="figure-body">${f.svg}</div>`
    + `<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`;
}

/**
 * A table that fills its container; every cell carries its column's label (data-label), which the
 * stylesheet shows in front of the cell when the table is stacked as cards: on a narrow screen, or
 * when the table is too wide for its container (html-style.ts tableClass says from which width on).
 */
function tableHtml(t: Table): string {
  const cls = (align: 'left' | 'right'): string => (align === 'right' ? ' class="num"' : '');
  const head = t.columns.map((c) => `<th scope="col"${cls(c.align)}>${escapeHtml(c.label)}</th>`).join('');
  const cell = (text: string, i: number): string => {
    const column = t.columns[i];
    return `<td${cls(column?.align ?? 'left')}${column ? ` data-label="${escapeHtml(column.label)}"` : ''}>${escapeHtml(text)}</td>`;
  };
  const body = t.rows.length === 0
    ? `<tr><td colspan="${t.columns.length}">none</td></tr>`
    : t.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n');
  return `<div class="table-wrap ${tableClass(t)}"><table id="table-${escapeHtml(t.id)}"><caption>${escapeHtml(t.caption)}</caption>`
    + `<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** Text as it is (a file as run), wrapped rather than scrolled so that nothing is cut off on a phone or on paper. */
function codeHtml(caption: string, text: string): string {
  return `<figure class="code"><figcaption>${escapeHtml(caption)}</figcaption><pre><code>${escapeHtml(text)}</code></pre></figure>`;
}

function blockHtml(b: Block, figures: Figures): string {
  switch (b.kind) {
    case 'paragraph':
      return `<p>${escapeHtml(b.text)}</p>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
    case 'table':
      return tableHtml(b.table);
    case 'code':
      return codeHtml(b.caption, b.text);
    case 'figures': {
      const group = figures.get(b.group) ?? [];
      return group.length === 0 ? '' : `<div class="figures" data-group="${escapeHtml(b.group)}">\n${group.map(figureHtml).join('\n')}\n</div>`;
    }
  }
}

/** report.html; `figures` are the report's figures when the caller has rendered them already (for report.md too). */
export async function renderHtml(report: Report, figures?: Figures): Promise<string> {
  return renderHtmlWith(report, figures ?? await renderFigures(report));
}

function renderHtmlWith(report: Report, figures: Figures): string {
  const doc = reportDocument(report);
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
    `<style>${reportCss(doc.sections.flatMap((s) => s.blocks.flatMap((b) => (b.kind === 'table' ? [tableStackCh(b.table)] : []))))}</style>`,
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
