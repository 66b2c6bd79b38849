import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { headlineRows } from '../../report/headline.ts';
import type { Report } from '../../report/model.ts';
import { MAX_REPORT_JSON_BYTES, readReport, rerenderReport, writeReport } from '../../report/write.ts';
import { sampleReport } from './fixture.ts';

const root = mkdtempSync(path.join(tmpdir(), 'untangle-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const freshDir = (): string => path.join(root, `run-${++seq}`);

describe('writeReport', () => {
  it('writes report.json (pretty, as given), report.md, report.html and figures/, creating the folder, leaving no temp files', async () => {
    const dir = freshDir();
    const report = sampleReport();
    const files = await writeReport(dir, report);
    expect(files).toEqual({ json: path.join(dir, 'report.json'), md: path.join(dir, 'report.md'), html: path.join(dir, 'report.html') });
    const text = readFileSync(files.json, 'utf8');
    expect(text).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(JSON.parse(text)).toEqual(report);
    expect(readFileSync(files.md, 'utf8')).toContain('| connections | declared links | 24 | 10 | 0.417× | lower |');
    expect(readFileSync(files.html, 'utf8')).toMatch(/^<!doctype html>/);
    expect(readdirSync(dir).sort()).toEqual(['figures', 'report.html', 'report.json', 'report.md']);
    // Every figure report.md links is a file in figures/, and nothing else is there.
    const linked = [...readFileSync(files.md, 'utf8').matchAll(/\]\((figures\/[^)]+\.svg)\)/g)].map((m) => m[1].slice('figures/'.length)).sort();
    expect(linked).toContain('chart-throughput-end-to-end.svg');
    expect(linked).toContain('diagram-hub.svg');
    const inFolder = readdirSync(path.join(dir, 'figures'));
    expect(inFolder.filter((f) => !f.endsWith('.svg'))).toEqual([]);
    for (const f of linked) expect(inFolder).toContain(f);
    expect(readFileSync(path.join(dir, 'figures', 'diagram-hub.svg'), 'utf8')).toMatch(/^<\?xml version="1\.0" encoding="UTF-8" standalone="no"\?>\n<svg /);
  });

  it('refuses an invalid report with the schema errors, and writes nothing', async () => {
    const dir = freshDir();
    const bad = sampleReport();
    bad.runners.throughput!.layouts[0].runs[0].idle.totalCpuMsPerS = -1;
    (bad as unknown as Record<string, unknown>).extra = true;
    const err = await writeReport(dir, bad).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`${path.join(dir, 'report.json')}: refusing to write an invalid report (checked against report/report.schema.json):`
      + '\n  - (report): unknown property "extra"\n  - runners.throughput.layouts[0].runs[0].idle.totalCpuMsPerS: must be >= 0');
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a number JSON cannot carry (NaN would be written as null)', async () => {
    const bad = sampleReport();
    bad.runners.failures!.layouts[1].baselineOrdersPerS = Number.NaN;
    await expect(writeReport(freshDir(), bad)).rejects.toThrow('runners.failures.layouts[1].baselineOrdersPerS: must be number');
  });

  it('replaces an earlier report in the same folder', async () => {
    const dir = freshDir();
    await writeReport(dir, sampleReport());
    const second: Report = { ...sampleReport(), runId: 'second-run' };
    await writeReport(dir, second);
    expect((await readReport(dir)).runId).toBe('second-run');
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain('Run second-run of scenario');
    expect(readdirSync(dir)).toHaveLength(4);
  });

  it('removes the figure files of an earlier rendering that this one does not have, and keeps other files', async () => {
    const dir = freshDir();
    await writeReport(dir, sampleReport());
    const figures = path.join(dir, 'figures');
    expect(readdirSync(figures)).toContain('chart-throughput-bytes.svg');
    writeFileSync(path.join(figures, 'chart-gone.svg'), '<svg/>');
    writeFileSync(path.join(figures, 'notes.txt'), 'mine');
    const r = sampleReport();
    delete r.runners.throughput;
    r.headline = headlineRows(r.runners);
    await writeReport(dir, r);
    const after = readdirSync(figures);
    expect(after).not.toContain('chart-gone.svg');
    expect(after).not.toContain('chart-throughput-bytes.svg');
    expect(after).toContain('notes.txt');
    expect(after).toContain('chart-failures-records.svg');
  });
});

describe('rerenderReport', () => {
  it('renders report.md and report.html again from report.json, leaving report.json as it is', async () => {
    const dir = freshDir();
    const files = await writeReport(dir, sampleReport());
    const edited = { ...JSON.parse(readFileSync(files.json, 'utf8')), runId: 'edited-by-hand' };
    const editedText = JSON.stringify(edited);
    writeFileSync(files.json, editedText);
    rmSync(files.html);
    expect(await rerenderReport(dir)).toEqual(files);
    expect(readFileSync(files.json, 'utf8')).toBe(editedText);
    expect(readFileSync(files.md, 'utf8')).toContain('Run edited-by-hand of scenario');
    expect(readFileSync(files.html, 'utf8')).toContain('Run edited-by-hand ·');
  });

  it('names the folder or file and what is wrong with it', async () => {
    const missing = path.join(root, 'no-such-run');
    await expect(rerenderReport(missing)).rejects.toThrow(`${missing}: no such directory`);

    const empty = freshDir();
    mkdirSync(empty);
    await expect(rerenderReport(empty)).rejects.toThrow(`${path.join(empty, 'report.json')}: not found (a run's results folder holds report.json)`);

    writeFileSync(path.join(empty, 'report.json'), '{"schemaVersion": 1,');
    await expect(rerenderReport(empty)).rejects.toThrow(new RegExp(`^${path.join(empty, 'report.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON: `));

    writeFileSync(path.join(empty, 'report.json'), JSON.stringify({ ...sampleReport(), seed: 'x', durationS: -1 }));
    await expect(rerenderReport(empty)).rejects.toThrow(`${path.join(empty, 'report.json')}: not a valid untangle report (checked against report/report.schema.json):`
      + '\n  - seed: must be integer\n  - durationS: must be >= 0');
    expect(existsSync(path.join(empty, 'report.md'))).toBe(false);
  });

  it('refuses a report.json over the size limit without reading it', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const file = path.join(dir, 'report.json');
    writeFileSync(file, '');
    truncateSync(file, MAX_REPORT_JSON_BYTES + 1); // sparse: no 32 MiB actually written
    await expect(readReport(dir)).rejects.toThrow(`${file}: ${MAX_REPORT_JSON_BYTES + 1} bytes, more than the ${MAX_REPORT_JSON_BYTES} bytes (32 MiB) a report may have`);
  });
});
