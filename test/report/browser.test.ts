// Opens a rendered report.html from disk in headless Chromium: the diagrams and charts must draw,
// nothing may be fetched, and nothing may log an error. Saves a full-page screenshot to look at.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../report/write.ts';
import { CHROMIUM_PATH, peerChecks, requirePeer } from '../helpers/peers.ts';
import { sampleReport } from './fixture.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT_DIR = path.join(REPO_ROOT, '.tmp/test-output/report-browser');
const CHARTS = 7;

interface FigureBox { kind: string; id: string; svgs: number; width: number; height: number; caption: string }

const hasChromium = await requirePeer(`chromium (${CHROMIUM_PATH})`, () => peerChecks.chromium());

describe.runIf(hasChromium)('report.html in headless Chromium', () => {
  let browser: Browser;
  let htmlFile: string;

  beforeAll(async () => {
    rmSync(OUT_DIR, { recursive: true, force: true });
    mkdirSync(OUT_DIR, { recursive: true });
    htmlFile = (await writeReport(OUT_DIR, sampleReport())).html;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--disable-component-update', '--no-first-run'],
    });
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
});
