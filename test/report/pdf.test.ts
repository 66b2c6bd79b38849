// `untangle report DIR --pdf`: report.html printed by real headless Chromium, read back with poppler
// (pdfinfo, pdftotext): several pages of the paper asked for, page numbers, and the headline table's
// figures as report.html shows them. One folder, the two papers one after the other.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportDocument } from '../../report/document.ts';
import type { Table } from '../../report/document-model.ts';
import { CHROMIUM_HINT } from '../../report/chromium.ts';
import { writeReport } from '../../report/write.ts';
import { CHROMIUM_PATH, peerChecks, requirePeer } from '../helpers/peers.ts';
import { runCommand, type RunResult } from '../helpers/run.ts';
import { sampleReport } from './fixture.ts';

const execFileP = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'bin/untangle.js');

/** Paper sizes in PostScript points, portrait; Chromium's are within a point of them. */
const PAPER_PTS = { a4: { width: 595, height: 842, name: 'A4' }, letter: { width: 612, height: 792, name: 'letter' } } as const;

const root = mkdtempSync(path.join(tmpdir(), 'untangle-report-pdf-'));
const dir = path.join(root, 'run');
afterAll(() => rmSync(root, { recursive: true, force: true }));
// Rendered once (the charts take seconds); the option checks fail before they render anything.
beforeAll(async () => {
  await writeReport(dir, sampleReport());
});

async function untangle(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult & { out: string }> {
  const r = await runCommand(process.execPath, [BIN, ...args], { timeoutMs: 120_000, env });
  return { ...r, out: r.stdout.toString('utf8') };
}

/** The headline table as the report shows it (the same cells report.html is rendered from). */
function headlineTable(): Table {
  for (const section of reportDocument(sampleReport()).sections) {
    for (const block of section.blocks) if (block.kind === 'table' && block.table.id === 'headline') return block.table;
  }
  throw new Error('the sample report has no headline table');
}

const squeeze = (s: string): string => s.replace(/\s+/g, '');

const hasChromium = await requirePeer(`chromium (${CHROMIUM_PATH})`, () => peerChecks.chromium());
const hasPoppler = await requirePeer('poppler-utils (pdftotext, pdfinfo)', () => peerChecks.poppler());

describe('untangle report DIR --pdf: the options', () => {
  it('wants --pdf with --paper, and a paper it knows', async () => {
    let r = await untangle(['report', dir, '--paper', 'letter']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('untangle: --paper sets the paper of the PDF: use it with --pdf\n');
    r = await untangle(['report', dir, '--pdf', '--paper', 'a3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('option \'--paper <size>\' argument \'a3\' is invalid. Allowed choices are a4, letter.');
  });

  it('says how to get Chromium when it is not there, before rendering anything', async () => {
    const missing = path.join(root, 'no-chromium');
    const r = await untangle(['report', dir, '--pdf'], { ...process.env, UNTANGLE_CHROMIUM: missing });
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.stderr).toBe(`untangle: Chromium not found: ${missing} is not an executable file; ${CHROMIUM_HINT}\n`);
  });
});

describe.runIf(hasChromium && hasPoppler)('untangle report DIR --pdf in headless Chromium', () => {
  for (const paper of ['a4', 'letter'] as const) {
    it(`prints report.html on ${paper}: several pages of that size, numbered, with the headline's figures`, async () => {
      const r = await untangle(['report', dir, '--pdf', ...(paper === 'a4' ? [] : ['--paper', paper])]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const pdf = path.join(dir, 'report.pdf');
      expect(r.out).toBe(`${path.join(dir, 'report.md')}\n${path.join(dir, 'report.html')}\n${pdf}\n`);
      // Written through a temp file and a rename: nothing left beside it.
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      const info = (await execFileP('pdfinfo', [pdf], { timeout: 30_000 })).stdout;
      const pages = Number(/^Pages:\s+(\d+)$/m.exec(info)?.[1]);
      expect(pages).toBeGreaterThan(1);
      const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts(?: \((\w+)\))?$/m.exec(info);
      expect(size, info).not.toBeNull();
      const want = PAPER_PTS[paper];
      expect(Math.abs(Number(size![1]) - want.width), info).toBeLessThan(2);
      expect(Math.abs(Number(size![2]) - want.height), info).toBeLessThan(2);
      expect(size![3]).toBe(want.name);

      const text = (await execFileP('pdftotext', ['-raw', pdf, '-'], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
      expect(text).toContain(`page 1 of ${pages}`);
      expect(text).toContain(`page ${pages} of ${pages}`);
      // Every headline row's metric, legacy and hub cells, in the order the table has them, from its caption on.
      // pdftotext -raw keeps the order the page draws text in (a row's cells in turn, even where a cell wraps); it breaks
      // lines where the page does, so the comparison ignores whitespace.
      const squeezed = squeeze(text);
      const table = headlineTable();
      const [metric, legacy, hub] = ['metric', 'legacy', 'hub'].map((label) => table.columns.findIndex((c) => c.label === label));
      let at = squeezed.indexOf(squeeze(table.caption));
      expect(at, `caption "${table.caption}"`).toBeGreaterThanOrEqual(0);
      expect(table.rows.length).toBeGreaterThan(10);
      for (const row of table.rows) {
        for (const cell of [row[metric], row[legacy], row[hub]]) {
          const found = squeezed.indexOf(squeeze(cell), at);
          expect(found, `${row[metric]}: "${cell}" after offset ${at}`).toBeGreaterThanOrEqual(0);
          at = found + squeeze(cell).length;
        }
      }
    });
  }
});
