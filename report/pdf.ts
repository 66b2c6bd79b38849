/**
 * report.pdf: report.html printed by headless Chromium (through playwright-core), for a review board
 * that reads on paper. The page is opened from its file: URL, so its Content-Security-Policy applies as
 * in a browser, and every request but that file is blocked: the PDF shows exactly what report.html
 * shows offline. A4 or Letter portrait, backgrounds printed, page numbers in the footer; written
 * atomically beside report.html. Playwright and the renderers are loaded only when a PDF is made, so the
 * CLI can name the papers without loading them.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertChromium, CHROMIUM_ARGS, CHROMIUM_HINT, chromiumPath } from './chromium.ts';

export const PAPERS = ['a4', 'letter'] as const;
export type Paper = (typeof PAPERS)[number];

/** Chromium's names for the paper sizes. */
const FORMAT: Record<Paper, string> = { a4: 'A4', letter: 'Letter' };

/** Starting Chromium, loading the page and printing it: each step gets this long. */
export const PDF_STEP_TIMEOUT_MS = 60_000;
/** Blocked requests named in a result; more are counted. */
const BLOCKED_LISTED_MAX = 10;

export interface PdfOptions {
  paper: Paper;
  /** The Chromium executable; default chromiumPath() (UNTANGLE_CHROMIUM, ...). */
  chromium?: string;
}

export interface PdfResult {
  pdf: Buffer;
  /** Requests the page made that were blocked (anything but the file itself), at most BLOCKED_LISTED_MAX. */
  blocked: string[];
  blockedTotal: number;
}

/** Small grey text in the page margins: Chromium fills the classes title, pageNumber and totalPages. */
const MARGIN_STYLE = 'font: 8px system-ui, sans-serif; color: #555; width: 100%; box-sizing: border-box; padding: 0 14mm;';
const HEADER = `<div style="${MARGIN_STYLE}"><span class="title"></span></div>`;
const FOOTER = `<div style="${MARGIN_STYLE} text-align: right;">page <span class="pageNumber"></span> of <span class="totalPages"></span></div>`;

/** Prints `htmlFile` (a rendered report.html) to PDF on `paper`. */
export async function renderPdf(htmlFile: string, opts: PdfOptions): Promise<PdfResult> {
  const executable = opts.chromium ?? chromiumPath();
  assertChromium(executable);
  // Loaded here: only --pdf pays for playwright.
  const { chromium } = await import('playwright-core');
  let browser;
  try {
    browser = await chromium.launch({ executablePath: executable, args: [...CHROMIUM_ARGS], timeout: PDF_STEP_TIMEOUT_MS });
  } catch (err) {
    throw new Error(`Chromium (${executable}) did not start: ${(err as Error).message.split('\n')[0]}; ${CHROMIUM_HINT}`, { cause: err });
  }
  try {
    const page = await browser.newPage({ javaScriptEnabled: false });
    page.setDefaultTimeout(PDF_STEP_TIMEOUT_MS);
    const fileUrl = pathToFileURL(path.resolve(htmlFile)).href;
    const blocked: string[] = [];
    let blockedTotal = 0;
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url === fileUrl) return route.continue();
      blockedTotal += 1;
      if (blocked.length < BLOCKED_LISTED_MAX) blocked.push(url);
      return route.abort('blockedbyclient');
    });
    await page.emulateMedia({ media: 'print' });
    const response = await page.goto(fileUrl, { waitUntil: 'load' });
    if (response && !response.ok()) throw new Error(`${htmlFile}: Chromium could not load it (status ${response.status()})`);
    const pdf = await page.pdf({
      format: FORMAT[opts.paper], printBackground: true, preferCSSPageSize: false,
      margin: { top: '16mm', bottom: '16mm', left: '14mm', right: '14mm' },
      displayHeaderFooter: true, headerTemplate: HEADER, footerTemplate: FOOTER,
    });
    return { pdf, blocked, blockedTotal };
  } finally {
    await browser.close();
  }
}

/** Prints dir/report.html (already rendered) to dir/report.pdf, atomically; returns the PDF's path and what was blocked. */
export async function writeReportPdf(dir: string, opts: PdfOptions): Promise<PdfResult & { file: string }> {
  const { reportFiles, writeFileAtomic } = await import('./write.ts');
  const html = reportFiles(dir).html;
  const file = path.join(dir, 'report.pdf');
  const result = await renderPdf(html, opts);
  await writeFileAtomic(file, result.pdf);
  return { ...result, file };
}
