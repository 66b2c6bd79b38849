import { describe, expect, it } from 'vitest';
import { changePercent, diffReports, formatDiff, judgeChange, type DiffRow } from '../../report/diff.ts';
import { lineChanges } from '../../report/diff-inputs.ts';
import { headlineRows, THROUGHPUT_METRICS } from '../../report/headline.ts';
import type { HeadlineRow, Report } from '../../report/model.ts';
import { sampleReport, sampleReportWithCluster } from './fixture.ts';

function rowOf(rows: DiffRow[], metric: string, layout: DiffRow['layout']): DiffRow {
  const row = rows.find((r) => r.metric === metric && r.layout === layout);
  if (!row) throw new Error(`no diff row ${metric} / ${layout}`);
  return row;
}

/**
 * A second run: legacy needs one restart fewer to onboard and its ingress was down for less time,
 * legacy lost more records, on a bigger machine with another seed and a longer down time.
 */
function laterRun(): Report {
  const b = sampleReport();
  b.runId = 'later-run';
  b.seed = 7;
  b.machine.cores = 4;
  b.machine.memoryBytes = 16 * 1024 ** 3;
  b.versions.node = 'v20.20.0';
  (b.scenario.settings.failures as Record<string, unknown>).downMs = 6000;
  const onboarding = b.runners.onboarding!.layouts[0];
  onboarding.restartedSystems = ['A', 'B'];
  onboarding.ingressDowntimeMs = 3100;
  // C loses 13 more records in its buffer: 200 in legacy.
  const c = b.runners.failures!.layouts[0].components[2];
  c.recordsLost += 13;
  c.lostByCause!.bufferAtKill += 13;
  b.headline = headlineRows(b.runners);
  return b;
}

/** A measured row of a repeated run, built here so the tests do not depend on any runner's results. */
function repeated(legacy: number, legacyInterval: [number, number] | null, hub: number, hubInterval: [number, number] | null): HeadlineRow {
  return {
    runner: 'throughput', metric: 'highest sustained rate', unit: 'orders/s', legacy, hub, ratio: hub / legacy, better: 'higher',
    ...(legacyInterval || hubInterval ? { runs: 3, intervals: { legacy: legacyInterval, hub: hubInterval, ratio: null } } : {}),
  };
}

function reportWith(rows: HeadlineRow[]): Report {
  const r = sampleReport();
  r.headline = rows;
  return r;
}

describe('changePercent and judgeChange', () => {
  it('computes the relative change, null when the base is 0 or a side is missing', () => {
    expect(changePercent(200, 250)).toBe(25);
    expect(changePercent(-4, -2)).toBe(50);
    expect(changePercent(0, 3)).toBeNull();
    expect(changePercent(null, 3)).toBeNull();
  });

  const one = (value: number | null): { value: number | null; interval: null } => ({ value, interval: null });
  const runs = (value: number, lo: number, hi: number): { value: number; interval: [number, number] } => ({ value, interval: [lo, hi] });

  it('judges exact figures by value, in the direction of the metric\'s "better"', () => {
    expect(judgeChange(one(10), one(8), 'lower', true)).toBe('better');
    expect(judgeChange(one(10), one(12), 'lower', true)).toBe('worse');
    expect(judgeChange(one(10), one(12), 'higher', true)).toBe('better');
    expect(judgeChange(one(0), one(3), 'higher', true)).toBe('better');
    expect(judgeChange(one(5), one(5), 'higher', true)).toBe('same');
    expect(judgeChange(one(null), one(5), 'higher', true)).toBe('n/a');
  });

  it('with intervals on both sides: within noise when they overlap, else better or worse', () => {
    expect(judgeChange(runs(100, 90, 110), runs(108, 105, 120), 'higher', false)).toBe('within noise');
    // Touching counts as overlapping.
    expect(judgeChange(runs(100, 90, 110), runs(115, 110, 120), 'higher', false)).toBe('within noise');
    expect(judgeChange(runs(100, 90, 110), runs(130, 120, 140), 'higher', false)).toBe('better');
    expect(judgeChange(runs(100, 90, 110), runs(130, 120, 140), 'lower', false)).toBe('worse');
    expect(judgeChange(runs(100, 90, 110), runs(60, 50, 70), 'lower', false)).toBe('better');
  });

  it('cannot tell a measured figure of one run from noise, unless the two are equal', () => {
    expect(judgeChange(one(10), one(8), 'lower', false)).toBe('single run: cannot tell');
    // One side repeated is not enough: the other has no interval to compare with.
    expect(judgeChange(runs(100, 90, 110), one(300), 'higher', false)).toBe('single run: cannot tell');
    expect(judgeChange(one(0), one(0), 'lower', false)).toBe('same');
    expect(judgeChange(one(4), one(null), 'lower', false)).toBe('n/a');
  });
});

describe('diffReports', () => {
  it('finds nothing between a run and itself', () => {
    const d = diffReports(sampleReport(), sampleReport());
    // Every row for legacy and hub; the failures rows also for legacy-ha and hub-cluster (not measured in either: n/a).
    const failures = sampleReport().headline.filter((h) => h.runner === 'failures').length;
    expect(d.rows).toHaveLength(sampleReport().headline.length * 2 + failures * 2);
    // Figures with intervals are within noise of themselves, the rest the same.
    expect(new Set(d.rows.filter((r) => r.a !== null && r.aInterval === null).map((r) => r.verdict))).toEqual(new Set(['same']));
    expect(new Set(d.rows.filter((r) => r.aInterval !== null).map((r) => r.verdict))).toEqual(new Set(['within noise']));
    expect(new Set(d.rows.filter((r) => r.a === null).map((r) => r.layout))).toEqual(new Set(['legacy-ha', 'hub-cluster']));
    expect(d.notes).toEqual([]);
  });

  it('gives each metric and layout with its change and verdict', () => {
    const d = diffReports(sampleReport(), laterRun());
    expect(d.a.runId).toBe('2025-06-01T10-00-00Z-shop');
    expect(d.b.runId).toBe('later-run');
    // Counted from the wiring: exact, judged by value.
    const restarted = rowOf(d.rows, 'existing systems restarted', 'legacy');
    expect(restarted).toMatchObject({ runner: 'onboarding', a: 3, b: 2, exact: true, aRuns: 'exact', better: 'lower', verdict: 'better' });
    expect(restarted.changePct).toBeCloseTo(-100 / 3);
    // Measured in one run each: a change that cannot be told from noise.
    expect(rowOf(d.rows, 'ingress downtime', 'legacy')).toMatchObject({ a: 4200, b: 3100, exact: false, aRuns: '1', verdict: 'single run: cannot tell' });
    expect(rowOf(d.rows, 'records lost', 'legacy')).toMatchObject({ a: 187, b: 200, verdict: 'single run: cannot tell' });
    expect(rowOf(d.rows, 'records lost', 'hub')).toMatchObject({ a: 0, b: 0, changePct: null, verdict: 'same' });
  });

  it('judges repeated figures by their intervals, and carries the intervals', () => {
    const a = reportWith([repeated(200, [180, 220], 600, [560, 640])]);
    const d = diffReports(a, reportWith([repeated(210, [190, 230], 700, [660, 740])]));
    expect(rowOf(d.rows, 'highest sustained rate', 'legacy')).toMatchObject({ a: 200, b: 210, aInterval: [180, 220], bInterval: [190, 230], aRuns: '3', verdict: 'within noise' });
    expect(rowOf(d.rows, 'highest sustained rate', 'hub')).toMatchObject({ a: 600, b: 700, verdict: 'better' });
    // Against a run of one: no interval on B's side.
    const single = diffReports(a, reportWith([repeated(150, null, 600, null)]));
    expect(rowOf(single.rows, 'highest sustained rate', 'legacy')).toMatchObject({ bInterval: null, bRuns: '1', verdict: 'single run: cannot tell' });
  });

  it('compares a metric marked exact in either run by value', () => {
    const row = (legacy: number, exact: boolean): HeadlineRow => ({
      runner: 'connections', metric: 'declared links', unit: 'links', legacy, hub: 10, ratio: 10 / legacy, better: 'lower', ...(exact ? { exact } : {}),
    });
    const d = diffReports(reportWith([row(24, false)]), reportWith([row(20, true)]));
    expect(rowOf(d.rows, 'declared links', 'legacy')).toMatchObject({ exact: true, verdict: 'better' });
    expect(rowOf(d.rows, 'declared links', 'hub')).toMatchObject({ exact: true, verdict: 'same' });
  });

  it('notes every way the runs are not like for like', () => {
    expect(diffReports(sampleReport(), laterRun()).notes).toEqual([
      'seed differs: 42 in A, 7 in B',
      'machine cores differs: 2 in A, 4 in B',
      'machine memoryBytes differs: 8589934592 in A, 17179869184 in B',
      'version of node differs: "v20.19.2" in A, "v20.20.0" in B',
      'setting failures.downMs differs: 5000 in A, 6000 in B',
    ]);
  });

  it('notes a different scenario or topology: by name, file, or the content hash of the file as run', () => {
    const a = sampleReport();
    const b = sampleReport();
    a.scenario.sha256 = 'a'.repeat(64);
    b.scenario.sha256 = 'a'.repeat(64);
    a.topology.sha256 = '0123456789ab'.padEnd(64, '0');
    b.topology.sha256 = 'fedcba987654'.padEnd(64, '0');
    expect(diffReports(a, b).notes).toEqual(['topology file content differs: sha256 0123456789ab… in A, fedcba987654… in B']);
    b.topology.sha256 = a.topology.sha256;
    expect(diffReports(a, b).notes).toEqual([]);
    b.scenario.name = 'shop-2';
    b.scenario.file = 'scenarios/shop-2.yaml';
    delete b.scenario.sha256;
    b.topology.name = 'shop-2';
    expect(diffReports(a, b).notes).toEqual([
      'scenario name differs: "shop" in A, "shop-2" in B',
      'scenario file differs: "scenarios/shop.yaml" in A, "scenarios/shop-2.yaml" in B',
      'scenario file content recorded only in A (sha256): cannot tell whether it is the same',
      'topology name differs: "shop" in A, "shop-2" in B',
    ]);
  });

  it('keeps metrics and runners that only one run has, with n/a on the other side', () => {
    const b = sampleReport();
    delete b.runners.onboarding;
    b.headline = headlineRows(b.runners);
    const d = diffReports(sampleReport(), b);
    expect(rowOf(d.rows, 'ingress downtime', 'legacy')).toMatchObject({ a: 4200, b: null, bRuns: '–', verdict: 'n/a', changePct: null });
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
    expect(header).toMatch(/^runner\s+metric\s+layout\s+A\s+B\s+change\s+better is\s+runs A\/B\s+B is$/);
    const rule = lines[4];
    expect(rule).toMatch(/^-+( {2}-+){8}$/);
    const rows = lines.slice(5, lines.indexOf(''  , 5));
    // connections 5, throughput and onboarding 4 metrics for legacy and hub; failures 10 for all four layouts.
    expect(rows).toHaveLength((5 + THROUGHPUT_METRICS.length + 4) * 2 + 10 * 4);
    // Right-aligned figures (a number, or a median's interval) end where their column's rule ends.
    const bEnd = rule.split('  ').slice(0, 5).join('  ').length;
    for (const row of rows) expect(row[bEnd - 1]).toMatch(/[0-9–)]/);
    expect(text).toMatch(/onboarding\s+existing systems restarted\s+legacy\s+3\s+2\s+-33\.33 %\s+lower\s+exact\s+better$/m);
    expect(text).toMatch(/failures\s+records lost\s+legacy\s+187\s+200\s+\+6\.95 %\s+lower\s+1\/1\s+single run: cannot tell$/m);
    expect(text).toContain('Notes (the runs are not like for like):\n  - seed differs: 42 in A, 7 in B');
  });

  it('says so when the runs are like for like', () => {
    expect(formatDiff(diffReports(sampleReport(), sampleReport()))).toContain('Notes: none; same scenario and topology, machine, versions, settings and seed.');
  });

  it('shows repeated figures as median (interval), rounded to their noise', () => {
    const text = formatDiff(diffReports(reportWith([repeated(142.37, [129.1, 155.6], 600, [560, 640])]), reportWith([repeated(150, [140, 160], 700, [660, 740])])));
    expect(text).toMatch(/throughput\s+highest sustained rate \(orders\/s\)\s+legacy\s+142 \(129–156\)\s+150 \(140–160\)\s+\+5\.36 %\s+higher\s+3\/3\s+within noise$/m);
    expect(text).toMatch(/highest sustained rate \(orders\/s\)\s+hub\s+600 \(560–640\)\s+700 \(660–740\)\s+\+16\.67 %\s+higher\s+3\/3\s+better$/m);
  });
});

/** B over another topology: without I, with a new system J, and the payment link over AMQP; its file's text edited to match. */
function otherTopology(): Report {
  const b = sampleReport();
  b.runId = 'other-topology';
  const t = b.topology;
  t.systems = [...t.systems.filter((s) => s.id !== 'I'), { id: 'J', name: 'returns', role: 'service' }];
  t.legacyLinks = t.legacyLinks.filter((l) => l.from !== 'I' && l.to !== 'I');
  t.legacyLinks.find((l) => l.id === 'a-b-payment')!.protocol = 'amqp';
  t.legacyLinks.push({ id: 'j-f-returns', from: 'J', to: 'F', protocol: 'http', format: 'json', data: ['return'] });
  t.text = `${t.text!.replace(/ {2}- id: I\n( {4}.*\n)+/, '')}  - { id: j-f-returns, from: J, to: F, data: return, legacy: { transport: rest-sync, format: json } }\n`;
  t.sha256 = 'fedcba987654'.padEnd(64, '0');
  return b;
}

describe('diff of runs over different topologies or scenario files', () => {
  it('knows two runs of the same files are over the same topology and scenario, and warns of nothing', () => {
    const d = diffReports(sampleReport(), sampleReport());
    expect(d).toMatchObject({ sameTopology: true, sameScenario: true, topologyChanges: null, warnings: [] });
    expect(formatDiff(d).split('\n')[0]).toBe('A: 2025-06-01T10-00-00Z-shop');
  });

  it('warns at the top, names the systems and links only in A, only in B and changed, and counts the differing lines of the texts', () => {
    const a = sampleReport();
    const d = diffReports(a, otherTopology());
    expect(d.sameTopology).toBe(false);
    expect(d.topologyChanges).toMatchObject({
      sha256: { a: a.topology.sha256, b: 'fedcba987654'.padEnd(64, '0') },
      systems: { removed: ['I'], added: ['J'], changed: [] },
      legacyLinks: { removed: ['a-i-score', 'b-i-payments', 'I-lake-export'], added: ['j-f-returns'], changed: ['a-b-payment'] },
      hubLinks: { removed: [], added: [], changed: [] },
    });
    expect(d.topologyChanges!.lines).toEqual({ onlyInA: 5, onlyInB: 1 });
    const text = formatDiff(d, { a: 'results/one', b: 'results/two' });
    const lines = text.split('\n');
    expect(lines.slice(0, 7)).toEqual([
      'WARNING: the runs used different topologies: the topology files differ and the systems and links they ran differ, so the comparison is not like with like.',
      `  topology file sha256 ${a.topology.sha256!.slice(0, 12)}… in A, fedcba987654… in B`,
      '  systems only in A: I; only in B: J',
      '  legacy links only in A: a-i-score, b-i-payments, I-lake-export; only in B: j-f-returns; changed: a-b-payment',
      '  topology file text: 5 lines only in A, 1 only in B (each report.json holds its text: jq -r .topology.text)',
      '',
      'A: 2025-06-01T10-00-00Z-shop (results/one)',
    ]);
    // The notes name them too, beside the hash.
    expect(d.notes).toEqual([
      `topology file content differs: sha256 ${a.topology.sha256!.slice(0, 12)}… in A, fedcba987654… in B`,
      'topology systems only in A: I; only in B: J',
      'topology legacy links only in A: a-i-score, b-i-payments, I-lake-export; only in B: j-f-returns; changed: a-b-payment',
    ]);
  });

  it('tells a different topology from the systems and links when the hashes were not recorded, and cannot tell otherwise', () => {
    const older = (r: Report): Report => {
      delete r.topology.sha256;
      delete r.topology.text;
      return r;
    };
    const d = diffReports(older(sampleReport()), older(otherTopology()));
    expect(d.sameTopology).toBe(false);
    expect(d.warnings[0]).toBe('WARNING: the runs used different topologies: the systems and links they ran differ, so the comparison is not like with like.');
    expect(d.warnings).toHaveLength(3);
    const unknown = diffReports(older(sampleReport()), sampleReport());
    expect(unknown).toMatchObject({ sameTopology: null, topologyChanges: null, warnings: [] });
    expect(unknown.notes).toEqual(['topology file content recorded only in B (sha256): cannot tell whether it is the same']);
    // The same file, but a scenario that ran only some of its systems: not the same landscape either.
    const fewer = sampleReport();
    fewer.topology.systems = fewer.topology.systems.filter((s) => s.id !== 'I');
    expect(diffReports(sampleReport(), fewer).warnings).toEqual([
      'WARNING: the runs used different topologies: the systems and links they ran differ, so the comparison is not like with like.',
      '  systems only in A: I',
    ]);
  });

  it('counts no difference in a field only one report carries (added later), nor in the order of a link\'s data kinds', () => {
    const b = sampleReport();
    (b.topology.hubLinks[0] as Record<string, unknown>).addedLater = 'from-to';
    b.topology.hubLinks.at(-1)!.data.reverse();
    expect(diffReports(sampleReport(), b)).toMatchObject({ sameTopology: true, warnings: [] });
    b.topology.hubLinks[0].format = 'avro';
    expect(diffReports(sampleReport(), b).topologyChanges?.hubLinks).toEqual({ removed: [], added: [], changed: ['A-hub'] });
  });

  it('notes a different scenario file at the top, more quietly', () => {
    const b = sampleReport();
    b.scenario.text = b.scenario.text!.replace('seed: 42', 'seed: 7\nrepeat: 3');
    b.scenario.sha256 = 'b'.repeat(64);
    const d = diffReports(sampleReport(), b);
    expect(d).toMatchObject({ sameTopology: true, sameScenario: false });
    expect(d.warnings).toEqual([`Note: the runs used different scenario files (sha256 ${sampleReport().scenario.sha256!.slice(0, 12)}… in A, bbbbbbbbbbbb… in B); `
      + '1 line only in A, 2 only in B (jq -r .scenario.text); the settings below may differ.']);
    expect(formatDiff(d).split('\n').slice(0, 2)).toEqual([d.warnings[0], '']);
    delete b.scenario.sha256;
    delete b.scenario.text;
    expect(diffReports(sampleReport(), b)).toMatchObject({ sameScenario: null, warnings: [] });
  });

  it('counts lines only in one text as multisets', () => {
    expect(lineChanges('a\nb\nb\n', 'b\na\n')).toEqual({ onlyInA: 1, onlyInB: 0 });
    expect(lineChanges('x', 'y\nz')).toEqual({ onlyInA: 1, onlyInB: 2 });
    expect(lineChanges('', '')).toEqual({ onlyInA: 0, onlyInB: 0 });
  });
});
