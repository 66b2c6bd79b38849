// Opens a rendered report.html from disk in headless Chromium: the diagrams and charts must draw,
// nothing may be fetched, and nothing may log an error. Saves a full-page screenshot to look at.
// Then, on a laptop (1,280 px), a phone (390 px) and in print on A4 (794 px): no table loses a column
// and every chart is captioned with its axes titled.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS } from '../../report/chromium.ts';
import { writeReport } from '../../report/write.ts';
import { CHROMIUM_PATH, peerChecks, requirePeer } from '../helpers/peers.ts';
import { sampleReport } from './fixture.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT_DIR = path.join(REPO_ROOT, '.tmp/test-output/report-browser');
const CHARTS = 15;

interface FigureBox { kind: string; id: string; svgs: number; width: number; height: number; caption: string }

/** How the page fits one width: what overflows, and each chart's caption and axis titles. */
interface Fit {
  firstSection: string | undefined;
  mainWidth: number;
  pageOverflow: number;
  tables: number;
  overflowing: string[];
  widerThanMain: string[];
  figuresWiderThanMain: string[];
  charts: { id: string; caption: string; axisTitles: string[]; axes: string[] }[];
}

/** A laptop, a phone, and A4 portrait in print (210 mm at 96 px per inch). */
const VIEWS = [
  { name: '1,280 px', width: 1280, media: 'screen' },
  { name: '390 px', width: 390, media: 'screen' },
  { name: 'print on A4', width: 794, media: 'print' },
] as const;

const hasChromium = await requirePeer(`chromium (${CHROMIUM_PATH})`, () => peerChecks.chromium());

describe.runIf(hasChromium)('report.html in headless Chromium', () => {
  let browser: Browser;
  let htmlFile: string;

  beforeAll(async () => {
    rmSync(OUT_DIR, { recursive: true, force: true });
    mkdirSync(OUT_DIR, { recursive: true });
    htmlFile = (await writeReport(OUT_DIR, sampleReport())).html;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('draws both diagrams and every chart as SVG, loads nothing but the file and logs no error', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const fileUrl = pathToFileURL(htmlFile).href;
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));

    const response = await page.goto(fileUrl, { waitUntil: 'load' });
    expect(response?.ok() ?? true).toBe(true);

    const figures: FigureBox[] = await page.$$eval('figure.diagram, figure.chart', (els) => els.map((el) => {
      const svg = el.querySelector(':scope > .figure-body > svg');
      const box = svg?.getBoundingClientRect();
      return {
        kind: el.classList.contains('diagram') ? 'diagram' : 'chart', id: el.id, svgs: el.querySelectorAll('svg').length,
        width: box?.width ?? 0, height: box?.height ?? 0, caption: el.querySelector('figcaption')?.textContent ?? '',
      };
    }));
    expect(figures.filter((f) => f.kind === 'diagram').map((f) => f.id)).toEqual(['diagram-legacy', 'diagram-hub']);
    expect(figures.filter((f) => f.kind === 'chart')).toHaveLength(CHARTS);
    for (const f of figures) {
      expect(f.svgs, f.id).toBe(1);
      expect(f.width, f.id).toBeGreaterThan(100);
      expect(f.height, f.id).toBeGreaterThan(50);
      expect(f.caption.length, f.id).toBeGreaterThan(20);
    }
    expect(await page.$$eval('svg', (els) => els.length)).toBe(figures.length);
    expect(await page.title()).toBe('untangle report: shop, legacy against hub');
    // The throughput tables are kept to few columns so that none scrolls sideways on a laptop screen.
    const scrolling = await page.$$eval('#throughput .table-wrap', (els) => els.filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.querySelector('table')?.id));
    expect(scrolling).toEqual([]);
    expect(await page.$$eval('#throughput .table-wrap', (els) => els.length)).toBeGreaterThanOrEqual(12);

    const screenshot = path.join(OUT_DIR, 'report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`report screenshot: ${screenshot}`);

    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(requests).toEqual([fileUrl]);
    await page.close();
  });

  it('keeps every table whole and every chart captioned with titled axes at 1,280 px, at 390 px and in print on A4', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    for (const view of VIEWS) {
      await page.setViewportSize({ width: view.width, height: 900 });
      await page.emulateMedia({ media: view.media });
      const fit: Fit = await page.evaluate(() => {
        const main = document.querySelector('main')!;
        const style = getComputedStyle(main);
        const mainWidth = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        const wraps = [...document.querySelectorAll<HTMLElement>('.table-wrap')];
        const idOf = (w: Element): string => w.querySelector('table')?.id ?? '?';
        return {
          firstSection: document.querySelector('main > section:first-of-type')?.id,
          mainWidth,
          pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
          tables: wraps.length,
          overflowing: wraps.filter((w) => w.scrollWidth > w.clientWidth).map(idOf),
          widerThanMain: wraps.filter((w) => w.querySelector('table')!.getBoundingClientRect().width > mainWidth + 0.5).map(idOf),
          figuresWiderThanMain: [...document.querySelectorAll('figure')].filter((f) => f.getBoundingClientRect().width > mainWidth + 0.5).map((f) => f.id),
          charts: [...document.querySelectorAll('figure.chart')].map((f) => ({
            id: f.id,
            caption: f.querySelector('figcaption')?.textContent ?? '',
            axisTitles: [...f.querySelectorAll('svg .role-axis-title text')].map((t) => t.textContent ?? ''),
            axes: [...f.querySelectorAll('svg [aria-roledescription="axis"]')].map((a) => a.getAttribute('aria-label') ?? ''),
          })),
        };
      });
      expect(fit.tables, view.name).toBeGreaterThan(30);
      expect(fit.overflowing, view.name).toEqual([]);
      expect(fit.widerThanMain, view.name).toEqual([]);
      expect(fit.figuresWiderThanMain, view.name).toEqual([]);
      expect(fit.pageOverflow, view.name).toBeLessThanOrEqual(0);
      expect(fit.charts, view.name).toHaveLength(CHARTS);
      for (const c of fit.charts) {
        expect(c.caption.length, `${view.name} ${c.id}`).toBeGreaterThan(20);
        expect(c.axisTitles.length, `${view.name} ${c.id}`).toBeGreaterThanOrEqual(2);
        for (const title of c.axisTitles) expect(title.trim(), `${view.name} ${c.id}`).not.toBe('');
        // Every axis, x and y, carries a title (vega names it in the axis's label).
        expect(c.axes.some((a) => a.startsWith('X-axis titled')), `${view.name} ${c.id}`).toBe(true);
        expect(c.axes.some((a) => a.startsWith('Y-axis titled')), `${view.name} ${c.id}`).toBe(true);
        expect(c.axes.filter((a) => !/^[XY]-axis titled /.test(a)), `${view.name} ${c.id}`).toEqual([]);
      }
      // The executive summary comes first, right after the title.
      expect(fit.firstSection, view.name).toBe('summary');
    }
    await page.close();
  });
});
