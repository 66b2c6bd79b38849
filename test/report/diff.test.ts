import { describe, expect, it } from 'vitest';
import { changePercent, diffReports, formatDiff, verdictOf, type DiffRow } from '../../report/diff.ts';
import { headlineRows } from '../../report/headline.ts';
import type { Report } from '../../report/model.ts';
import { sampleReport, sampleReportWithCluster } from './fixture.ts';

function rowOf(rows: DiffRow[], metric: string, layout: DiffRow['layout']): DiffRow {
  const row = rows.find((r) => r.metric === metric && r.layout === layout);
  if (!row) throw new Error(`no diff row ${metric} / ${layout}`);
  return row;
}

/** A second run: the hub got faster, legacy lost more records, on a bigger machine with another seed. */
function laterRun(): Report {
  const b = sampleReport();
  b.runId = 'later-run';
  b.seed = 7;
  b.machine.cores = 4;
  b.machine.memoryBytes = 16 * 1024 ** 3;
  b.versions.node = 'v20.20.0';
  (b.scenario.settings.throughput as Record<string, unknown>).stepDurationS = 30;
  b.runners.throughput!.layouts[1].saturation.acceptedPerS = 700;
  // C loses 13 more records in its buffer: 200 in legacy.
  const c = b.runners.failures!.layouts[0].components[2];
  c.recordsLost += 13;
  c.lostByCause!.bufferAtKill += 13;
  b.headline = headlineRows(b.runners);
  return b;
}

describe('changePercent and verdictOf', () => {
  it('computes the relative change, null when the base is 0 or a side is missing', () => {
    expect(changePercent(200, 250)).toBe(25);
    expect(changePercent(-4, -2)).toBe(50);
    expect(changePercent(0, 3)).toBeNull();
    expect(changePercent(null, 3)).toBeNull();
  });

  it('judges the direction by the metric\'s "better"', () => {
    expect(verdictOf(10, 8, 'lower')).toBe('better');
    expect(verdictOf(10, 12, 'lower')).toBe('worse');
    expect(verdictOf(10, 12, 'higher')).toBe('better');
    expect(verdictOf(0, 3, 'higher')).toBe('better');
    expect(verdictOf(5, 5, 'higher')).toBe('same');
    expect(verdictOf(null, 5, 'higher')).toBe('n/a');
  });
});

describe('diffReports', () => {
  it('finds nothing between a run and itself', () => {
    const d = diffReports(sampleReport(), sampleReport());
    // Every row for legacy and hub; the failures rows also for legacy-ha and hub-cluster (not measured in either: n/a).
    const failures = sampleReport().headline.filter((h) => h.runner === 'failures').length;
    expect(d.rows).toHaveLength(sampleReport().headline.length * 2 + failures * 2);
    expect(new Set(d.rows.filter((r) => r.a !== null).map((r) => r.verdict))).toEqual(new Set(['same']));
    expect(new Set(d.rows.filter((r) => r.a === null).map((r) => r.layout))).toEqual(new Set(['legacy-ha', 'hub-cluster']));
    expect(d.notes).toEqual([]);
  });

  it('gives each metric and layout with its change and verdict', () => {
    const d = diffReports(sampleReport(), laterRun());
    expect(d.a.runId).toBe('2025-06-01T10-00-00Z-shop');
    expect(d.b.runId).toBe('later-run');
    const hubRate = rowOf(d.rows, 'accepted orders/s at saturation', 'hub');
    expect(hubRate).toMatchObject({ runner: 'throughput', a: 612.3, b: 700, better: 'higher', verdict: 'better' });
    expect(hubRate.changePct).toBeCloseTo((700 / 612.3 - 1) * 100);
    expect(rowOf(d.rows, 'records lost', 'legacy')).toMatchObject({ a: 187, b: 200, verdict: 'worse' });
    expect(rowOf(d.rows, 'records lost', 'hub')).toMatchObject({ a: 0, b: 0, changePct: null, verdict: 'same' });
  });

  it('notes every way the runs are not like for like', () => {
    expect(diffReports(sampleReport(), laterRun()).notes).toEqual([
      'seed differs: 42 in A, 7 in B',
      'machine cores differs: 2 in A, 4 in B',
      'machine memoryBytes differs: 8589934592 in A, 17179869184 in B',
      'version of node differs: "v20.19.2" in A, "v20.20.0" in B',
      'setting throughput.stepDurationS differs: 20 in A, 30 in B',
    ]);
  });

  it('keeps metrics and runners that only one run has, with n/a on the other side', () => {
    const b = sampleReport();
    delete b.runners.onboarding;
    b.headline = headlineRows(b.runners);
    const d = diffReports(sampleReport(), b);
    expect(rowOf(d.rows, 'ingress downtime', 'legacy')).toMatchObject({ a: 4200, b: null, verdict: 'n/a', changePct: null });
    expect(d.notes).toContain('runner onboarding ran only in A');
    expect(d.notes).toContain('onboarding ingress downtime: only in A');
  });
});

describe('diffReports with legacy-ha and hub-cluster', () => {
  it('compares the second pair in the failures rows, n/a against a run without it', () => {
    const d = diffReports(sampleReport(), sampleReportWithCluster());
    for (const layout of ['legacy-ha', 'hub-cluster'] as const) expect(d.rows.filter((r) => r.layout === layout).map((r) => r.runner)).toEqual(Array(10).fill('failures'));
    expect(rowOf(d.rows, 'single points of failure', 'hub-cluster')).toMatchObject({ a: null, b: 0, verdict: 'n/a' });
    expect(rowOf(d.rows, 'records lost', 'legacy-ha')).toMatchObject({ a: null, b: 6, verdict: 'n/a' });
    const same = diffReports(sampleReportWithCluster(), sampleReportWithCluster());
    expect(rowOf(same.rows, 'single points of failure in the integration', 'hub-cluster')).toMatchObject({ a: 0, b: 0, verdict: 'same' });
  });
});

describe('formatDiff', () => {
  it('prints who A and B are, an aligned table and the notes', () => {
    const text = formatDiff(diffReports(sampleReport(), laterRun()), { a: 'results/one', b: 'results/two' });
    const lines = text.split('\n');
    expect(lines[0]).toBe('A: 2025-06-01T10-00-00Z-shop (results/one)');
    expect(lines[1]).toBe('B: later-run (results/two)');
    const header = lines[3];
    expect(header).toMatch(/^runner\s+metric\s+layout\s+A\s+B\s+change\s+better is\s+B is$/);
    const rule = lines[4];
    expect(rule).toMatch(/^-+( {2}-+){7}$/);
    const rows = lines.slice(5, lines.indexOf(''  , 5));
    // connections 5, throughput 6 and onboarding 4 metrics for legacy and hub; failures 10 for all four layouts.
    expect(rows).toHaveLength((5 + 6 + 4) * 2 + 10 * 4);
    // Right-aligned numbers end where their column's rule ends.
    const bEnd = rule.split('  ').slice(0, 5).join('  ').length;
    for (const row of rows) expect(row[bEnd - 1]).toMatch(/[0-9–]/);
    expect(text).toMatch(/throughput\s+accepted orders\/s at saturation\s+hub\s+612\.3\s+700\s+\+14\.32 %\s+higher\s+better/);
    expect(text).toMatch(/failures\s+records lost\s+legacy\s+187\s+200\s+\+6\.95 %\s+lower\s+worse/);
    expect(text).toContain('Notes (the runs are not like for like):\n  - seed differs: 42 in A, 7 in B');
  });

  it('says so when the runs are like for like', () => {
    expect(formatDiff(diffReports(sampleReport(), sampleReport()))).toContain('Notes: none; same machine, versions, settings and seed.');
  });
});
