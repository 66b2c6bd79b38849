/**
 * The inline stylesheet of report.html: system fonts only, nothing loaded from anywhere. It keeps every
 * table whole from a wide screen down to a phone and on paper (A4 and Letter portrait): cells wrap,
 * tables fill their container, and a table too wide for its container is stacked as cards, one card
 * per row with each cell labelled by its column (a table of two columns instead breaks a long word
 * anywhere). No container scrolls sideways, so no column can hide.
 *
 * "Too wide" is decided without a script: tableStackCh estimates from the text how many characters
 * wide a table must be to stay readable; the table gets the class fit-<that width>, and a container
 * query stacks it when its container is narrower. The widths are in ch of the table's own font, so the
 * smaller print font lets more tables stay tables on paper.
 */
import type { Table } from './document-model.ts';

/** A cell's text may wrap to lines about this long before its column counts as too narrow. */
const WRAP_CH = 10;
/** Left and right padding and the rule of a cell, in ch. */
const CELL_EXTRA_CH = 2;
/** Stacking widths are rounded up to a multiple of this, so that tables share their rules. */
const STEP_CH = 4;
/** Below this width every table with more than one column is cards. */
const MIN_STACK_CH = 40;
/** Below this width a table of many columns is cards whatever its text (a phone). */
const MANY_COLUMNS = 4;
const MANY_COLUMNS_STACK_CH = 60;

/**
 * The characters a text needs across: all of it when short, else wrapped lines of WRAP_CH or its
 * longest word (a table breaks no word; a card breaks a word longer than its line anywhere).
 */
function textWidthCh(text: string): number {
  const longestWord = Math.max(0, ...text.split(/\s+/).map((w) => w.length));
  return Math.min(text.length, Math.max(longestWord, WRAP_CH));
}

/** An estimate of the width (ch of its font) a table needs with its cells wrapped but readable. */
export function tableWidthCh(t: Table): number {
  return t.columns.reduce((sum, c, i) => sum + CELL_EXTRA_CH + Math.max(textWidthCh(c.label), ...t.rows.map((r) => textWidthCh(r[i] ?? ''))), 0);
}

/**
 * The container width (ch of the table font) below which the table is stacked as cards; null for a
 * table of one or two columns (a list of terms, settings, versions), which is never stacked: its cells
 * break a long word anywhere instead.
 */
export function tableStackCh(t: Table): number | null {
  if (t.columns.length <= 2) return null;
  const need = Math.max(tableWidthCh(t), MIN_STACK_CH, t.columns.length >= MANY_COLUMNS ? MANY_COLUMNS_STACK_CH : 0);
  return Math.ceil(need / STEP_CH) * STEP_CH;
}

/** A two-column table keeps the words of its first column (its keys) whole when none is longer than this. */
const WHOLE_KEY_CH = 24;

/**
 * The class of a table's wrap: fit-<ch> for a table stacked below that width; no-stack for one that is
 * never stacked, with whole-keys when its first column's words are short enough to stay whole.
 */
export function tableClass(t: Table): string {
  const stackCh = tableStackCh(t);
  if (stackCh !== null) return `fit-${stackCh}`;
  const longestKey = Math.max(0, ...[t.columns[0]?.label ?? '', ...t.rows.map((r) => r[0] ?? '')].flatMap((text) => text.split(/\s+/).map((w) => w.length)));
  return longestKey <= WHOLE_KEY_CH ? 'no-stack whole-keys' : 'no-stack';
}

/** A table as cards below `stackCh`: a card per row, a line per cell with its column's label in front of it. */
function stackedRules(stackCh: number): string {
  const t = `.fit-${stackCh}`;
  return `@container (max-width: ${stackCh}ch) {
${t} table, ${t} tbody, ${t} tr, ${t} caption { display: block; width: 100%; }
${t} thead { display: none; }
${t} tr { border: 1px solid var(--rule); border-radius: 4px; margin: 0 0 8px; break-inside: avoid; }
${t} td { display: grid; grid-template-columns: minmax(6em, 38%) minmax(0, 1fr); gap: 0 10px; border: 0; border-top: 1px solid var(--rule-light); text-align: left; overflow-wrap: anywhere; }
${t} td:first-child { border-top: 0; }
${t} td:not([data-label]) { display: block; }
${t} td[data-label]::before { content: attr(data-label); font-weight: 600; color: var(--muted); }
}`;
}

/** The stylesheet for a page whose tables stack below the given widths (tableStackCh of each). */
export function reportCss(stackWidthsCh: Iterable<number | null>): string {
  const widths = [...new Set(stackWidthsCh)].filter((w): w is number => w !== null).sort((a, b) => a - b);
  return REPORT_CSS + widths.map(stackedRules).join('\n') + '\n';
}

/** The stylesheet without the tables' stacking rules (reportCss adds them). */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5a6475; --rule: #d9dee7; --rule-light: #eceff4; --head: #f3f5f9; --legacy: #c0504d; --hub: #2f6fb0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink); background: #fff; }
header, main, footer, nav { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 21px; margin: 40px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--rule); }
.subtitle { color: var(--muted); margin: 0 0 12px; overflow-wrap: anywhere; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px 14px; padding-top: 6px; padding-bottom: 6px; border-top: 1px solid var(--rule); border-bottom: 1px solid var(--rule); }
nav.toc a { color: var(--hub); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
p, li { max-width: 80ch; overflow-wrap: anywhere; }
.table-wrap { container-type: inline-size; font-size: 13.5px; margin: 14px 0 22px; }
table { border-collapse: collapse; width: 100%; font-size: 1em; }
caption { text-align: left; font-weight: 600; padding: 0 0 6px; }
th, td { border: 1px solid var(--rule); padding: 4px 8px; vertical-align: top; overflow-wrap: break-word; }
th { background: var(--head); text-align: left; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.no-stack td { overflow-wrap: anywhere; }
.whole-keys td:first-child { overflow-wrap: break-word; }
tbody tr:nth-child(even) td { background: #fafbfd; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; margin: 16px 0 24px; }
figure { margin: 0; padding: 12px; border: 1px solid var(--rule); border-radius: 6px; background: #fff; max-width: 100%; min-width: 0; }
figure.diagram { flex: 1 1 100%; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 8px; max-width: 80ch; }
figure.code { margin: 14px 0 22px; padding: 0; background: #f6f8fa; }
figure.code figcaption { margin: 0; padding: 6px 12px; border-bottom: 1px solid var(--rule); color: var(--ink); font-weight: 600; max-width: none; }
pre { margin: 0; padding: 10px 12px; font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 12.5px; padding-top: 28px; padding-bottom: 28px; }
@media (max-width: 640px) {
  header, main, footer, nav { padding-left: 12px; padding-right: 12px; }
  body { font-size: 14px; }
  h1 { font-size: 22px; }
  h2 { font-size: 19px; margin-top: 32px; }
  figure { padding: 6px; }
}
@media print {
  @page { margin: 12mm; }
  body { font-size: 10pt; }
  header, main, footer { max-width: none; padding: 0; }
  header { padding-top: 0; }
  nav.toc { display: none; }
  h2 { font-size: 14pt; margin: 18pt 0 8pt; break-after: avoid; }
  .table-wrap { font-size: 7.5pt; margin: 8pt 0 12pt; }
  th, td { padding: 2px 5px; }
  caption { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  th, tbody tr:nth-child(even) td, figure.code { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  figure.chart, figure.diagram { break-inside: avoid; padding: 6px; }
  .figures { gap: 10pt; }
  figcaption { font-size: 8.5pt; }
  pre { font-size: 8pt; }
  footer { padding: 12pt 0 0; font-size: 8pt; }
}
`;
