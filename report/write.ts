/**
 * Writing and reading a run's results folder: report.json (validated before it is written; the single
 * source), and report.md and report.html rendered from it, with report.md's figures as SVG files in
 * figures/. Every file is written atomically (a temp file in the same folder, then rename), so a reader
 * never sees half a report; figure files of an earlier rendering that this one does not have are removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FIGURES_DIR, figureFile } from './document-model.ts';
import { renderFigures, standaloneSvg } from './figures.ts';
import type { Report } from './model.ts';
import { renderHtml } from './render-html.ts';
import { renderMarkdown } from './render-md.ts';
import { validateReport } from './validate.ts';

/** A report.json larger than this is refused, when read and when written. */
export const MAX_REPORT_JSON_BYTES = 32 * 1024 * 1024;
/** How many schema errors an error message lists. */
export const ERRORS_IN_MESSAGE = 5;

export interface ReportFiles { md: string; html: string; json: string }

export function reportFiles(dir: string): ReportFiles {
  return { json: path.join(dir, 'report.json'), md: path.join(dir, 'report.md'), html: path.join(dir, 'report.html') };
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Writes `data` (text as UTF-8, or bytes such as a PDF) to `file` through a temp file in the same folder and a rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function schemaErrorMessage(file: string, errors: readonly string[], what: string): string {
  const listed = errors.slice(0, ERRORS_IN_MESSAGE).map((e) => `\n  - ${e}`).join('');
  const more = errors.length > ERRORS_IN_MESSAGE ? `\n  (${errors.length - ERRORS_IN_MESSAGE} more)` : '';
  return `${file}: ${what} (checked against report/report.schema.json):${listed}${more}`;
}

function checkSize(file: string, bytes: number): void {
  if (bytes > MAX_REPORT_JSON_BYTES) {
    throw new Error(`${file}: ${bytes} bytes, more than the ${MAX_REPORT_JSON_BYTES} bytes (${MAX_REPORT_JSON_BYTES / 1024 / 1024} MiB) a report may have`);
  }
}

/** A rendering: report.md, report.html and the figure files (path relative to the folder → SVG text). */
interface Rendered { md: string; html: string; figureFiles: Map<string, string> }

/** Renders the figures once, for report.html (inline) and report.md (as files). */
async function render(report: Report): Promise<Rendered> {
  const figures = await renderFigures(report);
  const all = [...figures.values()].flat();
  return {
    md: renderMarkdown(report, figures),
    html: await renderHtml(report, figures),
    figureFiles: new Map(all.map((f) => [figureFile(f), standaloneSvg(f)])),
  };
}

/** SVG files in dir/figures that this rendering did not write: an earlier rendering's figures. */
async function staleFigureFiles(dir: string, written: ReadonlySet<string>): Promise<string[]> {
  const names = await readdir(path.join(dir, FIGURES_DIR)).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.filter((n) => n.endsWith('.svg') && !written.has(`${FIGURES_DIR}/${n}`)).sort();
}

async function writeRendered(dir: string, rendered: Rendered): Promise<void> {
  const files = reportFiles(dir);
  // The figures first: report.md never links a file that is not there yet.
  await mkdir(path.join(dir, FIGURES_DIR), { recursive: true });
  for (const [name, svg] of rendered.figureFiles) await writeFileAtomic(path.join(dir, ...name.split('/')), svg);
  await writeFileAtomic(files.md, rendered.md);
  await writeFileAtomic(files.html, rendered.html);
  for (const name of await staleFigureFiles(dir, new Set(rendered.figureFiles.keys()))) {
    await unlink(path.join(dir, FIGURES_DIR, name)).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
  }
}

/**
 * Validates `report` as it will be stored (its JSON text), then writes report.json, report.md,
 * report.html and figures/ into `dir` (created if missing). Refuses an invalid report, writing nothing.
 */
export async function writeReport(dir: string, report: Report): Promise<ReportFiles> {
  const files = reportFiles(dir);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  checkSize(files.json, Buffer.byteLength(text));
  const checked = validateReport(JSON.parse(text));
  if (!checked.ok) throw new Error(schemaErrorMessage(files.json, checked.errors, 'refusing to write an invalid report'));
  // Render before writing anything, so a rendering failure leaves no half-written folder.
  const rendered = await render(checked.report);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(files.json, text);
  await writeRendered(dir, rendered);
  return files;
}

/** Reads and validates dir/report.json; every failure is an Error naming the folder or file. */
export async function readReport(dir: string): Promise<Report> {
  const files = reportFiles(dir);
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error(`${dir}: not a directory (expected a run's results folder)`);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new Error(`${dir}: no such directory`, { cause: err });
    throw err;
  }
  let size: number;
  try {
    size = (await stat(files.json)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new Error(`${files.json}: not found (a run's results folder holds report.json)`, { cause: err });
    throw err;
  }
  checkSize(files.json, size);
  const text = await readFile(files.json, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${files.json}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const checked = validateReport(json);
  if (!checked.ok) throw new Error(schemaErrorMessage(files.json, checked.errors, 'not a valid untangle report'));
  return checked.report;
}

/** Reads and validates dir/report.json, then renders report.md, report.html and figures/ from it again (report.json is left as it is). */
export async function rerenderReport(dir: string): Promise<ReportFiles> {
  const report = await readReport(dir);
  await writeRendered(dir, await render(report));
  return reportFiles(dir);
}
