/** Plain-text tables for a terminal: columns padded to their widest cell, numbers right-aligned. */

export interface TextColumn { label: string; align: 'left' | 'right' }

/** Cells wider than this are cut with "…" so one long value cannot wreck the layout. */
export const MAX_TEXT_CELL_CHARS = 60;

function fit(cell: string): string {
  const flat = cell.replace(/\s+/g, ' ');
  return flat.length > MAX_TEXT_CELL_CHARS ? `${flat.slice(0, MAX_TEXT_CELL_CHARS - 1)}…` : flat;
}

export function formatTextTable(columns: readonly TextColumn[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((r) => columns.map((_, i) => fit(r[i] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.label.length, ...cells.map((r) => r[i].length)));
  const line = (values: readonly string[]): string =>
    values.map((v, i) => (columns[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(columns.map((c) => c.label)), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
