/** report.md: the report document as GitHub-flavoured markdown (the charts and diagrams are in report.html). */
import type { Block, Table } from './document-model.ts';
import { reportDocument } from './document.ts';
import type { Report } from './model.ts';

/**
 * Text from the report made safe for a markdown table cell or paragraph: no line breaks, no table pipes,
 * and no raw HTML (markdown renderers pass HTML through).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/[*`[]/g, (c) => `\\${c}`)
    .replace(/\r?\n|\r/g, ' ');
}

function markdownTable(t: Table): string {
  const head = `| ${t.columns.map((c) => escapeMarkdown(c.label)).join(' | ')} |`;
  const rule = `|${t.columns.map((c) => (c.align === 'right' ? '---:' : ':---')).join('|')}|`;
  const rows = t.rows.map((r) => `| ${r.map(escapeMarkdown).join(' | ')} |`);
  return [`**${escapeMarkdown(t.caption)}**`, '', head, rule, ...rows].join('\n');
}

function markdownBlock(b: Block): string | null {
  switch (b.kind) {
    case 'paragraph':
      return escapeMarkdown(b.text);
    case 'list':
      return b.items.map((i) => `- ${escapeMarkdown(i)}`).join('\n');
    case 'table':
      return b.table.rows.length === 0 ? `**${escapeMarkdown(b.table.caption)}**: none` : markdownTable(b.table);
    case 'figures':
      return b.group === 'topology' ? '_The topology diagrams of both layouts are in report.html._' : '_Charts of these numbers are in report.html._';
  }
}

export function renderMarkdown(report: Report): string {
  const doc = reportDocument(report);
  const parts: string[] = [`# ${escapeMarkdown(doc.title)}`];
  for (const s of doc.sections) {
    parts.push(`## ${escapeMarkdown(s.title)}`);
    for (const b of s.blocks) {
      const text = markdownBlock(b);
      if (text !== null) parts.push(text);
    }
  }
  return `${parts.join('\n\n')}\n`;
}
