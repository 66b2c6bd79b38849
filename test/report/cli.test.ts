import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headlineRows } from '../../report/headline.ts';
import { writeReport } from '../../report/write.ts';
import { runCommand, type RunResult } from '../helpers/run.ts';
import { sampleReport } from './fixture.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'bin/untangle.js');

const root = mkdtempSync(path.join(tmpdir(), 'untangle-report-cli-'));
const runA = path.join(root, 'run-a');
const runB = path.join(root, 'run-b');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  await writeReport(runA, sampleReport());
  const b = sampleReport();
  b.runId = 'run-b';
  b.seed = 43;
  b.runners.onboarding!.layouts[0].restartedSystems = ['A', 'B', 'D', 'E'];
  b.headline = headlineRows(b.runners);
  await writeReport(runB, b);
});

async function untangle(...args: string[]): Promise<RunResult & { out: string }> {
  const r = await runCommand(process.execPath, [BIN, ...args], { timeoutMs: 60_000 });
  return { ...r, out: r.stdout.toString('utf8') };
}

describe('untangle report DIR', () => {
  it('renders report.md and report.html again and prints their paths', async () => {
    const md = path.join(runA, 'report.md');
    rmSync(md);
    const r = await untangle('report', runA);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${md}\n${path.join(runA, 'report.html')}\n`);
    expect(readFileSync(md, 'utf8')).toContain('| connections | declared links | 24 | 10 | 0.417× | lower | exact | lower by 58 % (better) |');
    expect(statSync(path.join(runA, 'report.html')).size).toBeGreaterThan(10_000);
  });

  it('fails with one clear line for a folder that does not exist', async () => {
    const missing = path.join(root, 'nope');
    const r = await untangle('report', missing);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.stderr).toBe(`untangle: ${missing}: no such directory\n`);
  });

  it('names the file and the first schema errors of an invalid report.json', async () => {
    const dir = path.join(root, 'invalid');
    mkdirSync(dir);
    const { seed: _seed, ...withoutSeed } = sampleReport();
    writeFileSync(path.join(dir, 'report.json'), JSON.stringify({ ...withoutSeed, runners: { connections: { points: 'none', model: [] } } }));
    const r = await untangle('report', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`untangle: ${path.join(dir, 'report.json')}: not a valid untangle report (checked against report/report.schema.json):\n`
      + '  - (report): missing required property "seed"\n  - runners.connections.points: must be array\n');
  });
});

describe('untangle diff DIR_A DIR_B', () => {
  it('prints the comparison table and what differs between the runs', async () => {
    const r = await untangle('diff', runA, runB);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`A: 2025-06-01T10-00-00Z-shop (${runA})\nB: run-b (${runB})\n`);
    expect(r.out).toMatch(/onboarding\s+existing systems restarted\s+legacy\s+3\s+4\s+\+33\.33 %\s+lower\s+exact\s+worse\n/);
    expect(r.out).toMatch(/onboarding\s+ingress downtime \(ms\)\s+legacy\s+4,200\s+4,200\s+0 %\s+lower\s+1\/1\s+same\n/);
    expect(r.out).toContain('  - seed differs: 42 in A, 43 in B');
  });

  it('names a missing report.json and invalid JSON', async () => {
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    let r = await untangle('diff', runA, empty);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`untangle: ${path.join(empty, 'report.json')}: not found (a run's results folder holds report.json)\n`);
    writeFileSync(path.join(empty, 'report.json'), '{ "runId": ');
    r = await untangle('diff', empty, runA);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^untangle: ${path.join(empty, 'report.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON: .+\n$`));
  });

  it('wants exactly two folders', async () => {
    const r = await untangle('diff', runA);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("missing required argument 'dirB'");
  });
});
