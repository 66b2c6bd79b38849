/**
 * report.md: the report document as GitHub-flavoured markdown. Its charts and diagrams are the SVG files
 * in figures/ beside it (report/write.ts writes them), linked where report.html shows them inline.
 */
import { figureFile, type Block, type Figure, type FigureGroup, type Table } from './document-model.ts';
import { reportDocument } from './document.ts';
import type { Report } from './model.ts';

/** What the markdown needs of a figure: its id (its file) and its caption. */
export type FigureRefs = ReadonlyMap<FigureGroup, readonly Pick<Figure, 'id' | 'caption'>[]>;

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

/** A fenced block that shows `text` as it is: the fence is longer than any run of backticks in the text. */
export function fencedBlock(text: string): string {
  const longestRun = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}\n${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${fence}`;
}

/** Each figure as its SVG file, with its caption under it (a forge shows no alt text). */
function figuresMarkdown(group: readonly Pick<Figure, 'id' | 'caption'>[]): string | null {
  if (group.length === 0) return null;
  return group.map((f) => {
    const caption = escapeMarkdown(f.caption).replace(/]/g, '\\]').trim();
    return `![${caption}](${figureFile(f)})\n\n*${caption}*`;
  }).join('\n\n');
}

function markdownBlock(b: Block, figures: FigureRefs | undefined): string | null {
  switch (b.kind) {
    case 'paragraph':
      return escapeMarkdown(b.text);
    case 'list':
      return b.items.map((i) => `- ${escapeMarkdown(i)}`).join('\n');
    case 'table':
      return b.table.rows.length === 0 ? `**${escapeMarkdown(b.table.caption)}**: none` : markdownTable(b.table);
    case 'code':
      return `**${escapeMarkdown(b.caption)}**\n\n${fencedBlock(b.text)}`;
    case 'figures':
      if (figures !== undefined) return figuresMarkdown(figures.get(b.group) ?? []);
      return b.group === 'topology' ? '_The topology diagrams of both layouts are in report.html._' : '_Charts of these numbers are in report.html._';
  }
}

/**
 * report.md. With `figures` (the figures rendered for this report, written as files beside it) each
 * figures block links its SVG files; without, it points to report.html.
 */
export function renderMarkdown(report: Report, figures?: FigureRefs): string {
  const doc = reportDocument(report);
  const parts: string[] = [`# ${escapeMarkdown(doc.title)}`];
  for (const s of doc.sections) {
    parts.push(`## ${escapeMarkdown(s.title)}`);
    for (const b of s.blocks) {
      const text = markdownBlock(b, figures);
      if (text !== null) parts.push(text);
    }
  }
  return `${parts.join('\n\n')}\n`;
}
