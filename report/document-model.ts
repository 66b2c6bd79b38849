/** The renderer-neutral document the markdown and the HTML are both rendered from. */
import type { RunnerName } from './model.ts';

export interface Column { label: string; align: 'left' | 'right' }
export interface Table { id: string; caption: string; columns: Column[]; rows: string[][] }

/**
 * Where the HTML places a section's charts or diagrams (the markdown links the same figures as SVG files there):
 * a section's own group, or one more place in a long section (the throughput cost beside its tables).
 */
export type FigureGroup = 'topology' | RunnerName | 'throughput-cost' | 'projection';

export type Block =
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; table: Table }
  /** Text shown as it is (a file as run): a captioned preformatted block in HTML, a fenced block in markdown. */
  | { kind: 'code'; caption: string; text: string }
  | { kind: 'figures'; group: FigureGroup };

export interface Section { id: string; title: string; blocks: Block[] }

export interface ReportDocument { title: string; sections: Section[] }

export const left = (label: string): Column => ({ label, align: 'left' });
export const right = (label: string): Column => ({ label, align: 'right' });
export const paragraph = (text: string): Block => ({ kind: 'paragraph', text });
export const list = (items: string[]): Block => ({ kind: 'list', items });
export const table = (t: Table): Block => ({ kind: 'table', table: t });
export const code = (caption: string, text: string): Block => ({ kind: 'code', caption, text });

/** A chart or a diagram: its id (also its file name), caption and SVG (ids prefixed by svg.ts inlineSvg). */
export interface Figure { kind: 'chart' | 'diagram'; id: string; caption: string; svg: string }

/** The figures by the place in the document they belong to, in the order they are shown. */
export type Figures = ReadonlyMap<FigureGroup, readonly Figure[]>;

/** The folder beside report.md that holds a figure file per figure. */
export const FIGURES_DIR = 'figures';

/** The figure's file, relative to the folder of report.md (with / on every platform, as a markdown link wants it). */
export function figureFile(f: Pick<Figure, 'id'>): string {
  return `${FIGURES_DIR}/${f.id}.svg`;
}
