import { describe, expect, it } from 'vitest';
import { connectionsHeadlineN, formatHeadlineTable, headlineRatio, headlineRows, THROUGHPUT_METRICS } from '../../report/headline.ts';
import { verdictCell } from '../../report/headline-cells.ts';
import type { HeadlineRow, Report } from '../../report/model.ts';
import { sampleReport, sampleReportWithCluster } from './fixture.ts';

function rowOf(rows: HeadlineRow[], runner: string, metric: string): HeadlineRow {
  const row = rows.find((r) => r.runner === runner && r.metric === metric);
  if (!row) throw new Error(`no headline row ${runner} / ${metric} in ${rows.map((r) => `${r.runner} / ${r.metric}`).join(', ')}`);
  return row;
}

describe('headlineRatio', () => {
  it('is hub / legacy, and null when legacy is 0 or either side is missing', () => {
    expect(headlineRatio(24, 10)).toBeCloseTo(10 / 24);
    expect(headlineRatio(4, 0)).toBe(0);
    expect(headlineRatio(0, 3)).toBeNull();
    expect(headlineRatio(0, 0)).toBeNull();
    expect(headlineRatio(null, 3)).toBeNull();
    expect(headlineRatio(3, null)).toBeNull();
  });
});

describe('headlineRows of the sample report', () => {
  const rows = headlineRows(sampleReport().runners);

  it('has every metric of the four runners, in runner order', () => {
    expect(rows.map((r) => r.runner)).toEqual([
      ...Array(5).fill('connections'), ...Array(10).fill('failures'), ...Array(THROUGHPUT_METRICS.length).fill('throughput'), ...Array(4).fill('onboarding'),
    ]);
  });

  it('marks exact the rows counted from the topology or the wiring, and only those', () => {
    expect(rows.filter((r) => r.exact === true).map((r) => `${r.runner} / ${r.metric}`)).toEqual([
      'connections / declared links', 'connections / protocols', 'connections / formats', 'connections / adapters (all systems)',
      'failures / single points of failure', 'failures / single points of failure in the integration',
      'onboarding / existing systems restarted', 'onboarding / existing systems reconfigured',
    ]);
    // Measured rows carry no exact flag at all (not exact: false), so report.json stays as it was for them.
    expect('exact' in rowOf(rows, 'connections', 'live TCP connections')).toBe(false);
  });

  it('compares connections at the largest n both layouts measured', () => {
    expect(rowOf(rows, 'connections', 'declared links')).toMatchObject({ legacy: 24, hub: 10, better: 'lower' });
    expect(rowOf(rows, 'connections', 'declared links').ratio).toBeCloseTo(10 / 24);
    expect(rowOf(rows, 'connections', 'live TCP connections')).toMatchObject({ legacy: 17, hub: 19 });
    expect(rowOf(rows, 'connections', 'protocols')).toMatchObject({ legacy: 3, hub: 1 });
    expect(rowOf(rows, 'connections', 'formats')).toMatchObject({ legacy: 3, hub: 1 });
    expect(rowOf(rows, 'connections', 'adapters (all systems)')).toMatchObject({ legacy: 26, hub: 9 });
  });

  it('compares failures legacy against hub over the components both failed (the hub\'s lake sink left out)', () => {
    expect(rowOf(rows, 'failures', 'single points of failure')).toMatchObject({ legacy: 5, hub: 2, ratio: 0.4 });
    expect(rowOf(rows, 'failures', 'single points of failure in the integration')).toMatchObject({ legacy: 1, hub: 1, ratio: 1 });
    expect(rowOf(rows, 'failures', 'records lost')).toMatchObject({ legacy: 187, hub: 0, ratio: 0 });
    expect(rowOf(rows, 'failures', 'records duplicated')).toMatchObject({ legacy: 18, hub: 15 });
    expect(rowOf(rows, 'failures', 'orders lost')).toMatchObject({ legacy: 4, hub: 0 });
    expect(rowOf(rows, 'failures', 'mean blast radius').legacy).toBeCloseTo(14 / 6);
    expect(rowOf(rows, 'failures', 'mean blast radius').hub).toBeCloseTo(5 / 6);
    expect(rowOf(rows, 'failures', 'mean time from kill to ready')).toMatchObject({ legacy: 5000, hub: 5000, unit: 'ms' });
    // rabbitmq's service was not back within its 13 s observation: it counts with those 13 s.
    expect(rowOf(rows, 'failures', 'mean time from kill to service').legacy).toBeCloseTo((6800 + 7400 + 8100 + 5900 + 10_200 + 13_000) / 6);
    expect(rowOf(rows, 'failures', 'mean time from kill to service').hub).toBeCloseTo((6500 + 5700 + 5650 + 5600 + 5800 + 7600) / 6);
    expect(rowOf(rows, 'failures', 'longest ingress outage')).toMatchObject({ legacy: 7400, hub: 7600 });
    const errorRate = rowOf(rows, 'failures', 'mean ingress error rate during faults');
    expect(errorRate.unit).toBe('%');
    expect(errorRate.legacy).toBeCloseTo(((1 + 1 + 0.4 + 0 + 0 + 0.02) / 6) * 100);
  });

  it('carries the second pair in the failures rows, null when not measured, and no other runner\'s', () => {
    for (const r of rows) {
      if (r.runner === 'failures') expect(r).toMatchObject({ 'legacy-ha': null, 'hub-cluster': null, clusterRatio: null });
      else expect('hub-cluster' in r || 'legacy-ha' in r, `${r.runner} / ${r.metric}`).toBe(false);
    }
  });

  it('takes throughput as the median of the runs, with intervals, run i of legacy paired with run i of hub for the ratio', () => {
    const sustained = rowOf(rows, 'throughput', 'highest sustained rate');
    // Runs sustained 175, 163, 188 (legacy) and 600, 500, 700 (hub); the per-run ratios' median is run 1's, 600 / 175.
    expect(sustained).toMatchObject({ legacy: 175, hub: 600, better: 'higher', runs: 3 });
    expect(sustained.ratio).toBeCloseTo(600 / 175);
    expect(sustained.intervals!.legacy![0]).toBeLessThan(163);
    expect(sustained.intervals!.legacy![1]).toBeGreaterThan(188);
    expect(rowOf(rows, 'throughput', 'CPU per order at the cost rate')).toMatchObject({ legacy: 16.906, hub: 12.549 });
    expect(rowOf(rows, 'throughput', 'idle CPU, no load')).toMatchObject({ legacy: 31.7, hub: 47.6 });
    expect(rowOf(rows, 'throughput', 'disk bytes per order (write_bytes)')).toMatchObject({ legacy: 14_200, hub: 9_650 });
    expect(rowOf(rows, 'throughput', 'socket and pipe bytes per order')).toMatchObject({ legacy: 21_400, hub: 30_800 });
  });

  it('counts onboarding changes; history is better higher and has no ratio when legacy got none', () => {
    expect(rowOf(rows, 'onboarding', 'existing systems restarted')).toMatchObject({ legacy: 3, hub: 0 });
    expect(rowOf(rows, 'onboarding', 'existing systems reconfigured')).toMatchObject({ legacy: 5, hub: 0 });
    expect(rowOf(rows, 'onboarding', 'ingress downtime')).toMatchObject({ legacy: 4200, hub: 0 });
    expect(rowOf(rows, 'onboarding', 'newcomers that received history')).toMatchObject({ legacy: 0, hub: 3, ratio: null, better: 'higher' });
  });
});

describe('headlineRows edge cases', () => {
  it('has rows only for the runners present', () => {
    const r = sampleReport();
    delete r.runners.connections;
    delete r.runners.onboarding;
    expect(new Set(headlineRows(r.runners).map((x) => x.runner))).toEqual(new Set(['failures', 'throughput']));
    expect(headlineRows({})).toEqual([]);
  });

  it('gives null (and no ratio) for a layout a runner did not measure', () => {
    const r = sampleReport();
    r.runners.onboarding!.layouts = r.runners.onboarding!.layouts.filter((l) => l.layout === 'legacy');
    expect(rowOf(headlineRows(r.runners), 'onboarding', 'ingress downtime')).toMatchObject({ legacy: 4200, hub: null, ratio: null });
  });

  it('uses the largest n common to both layouts when they measured different ranges', () => {
    const r: Report = sampleReport();
    const c = r.runners.connections!;
    c.points = c.points.filter((p) => !(p.layout === 'hub' && p.n > 6));
    expect(connectionsHeadlineN(c)).toBe(6);
    expect(rowOf(headlineRows(r.runners), 'connections', 'declared links')).toMatchObject({ legacy: 13, hub: 7 });
    c.points = c.points.filter((p) => p.layout === 'legacy');
    expect(connectionsHeadlineN(c)).toBe(9);
    expect(rowOf(headlineRows(r.runners), 'connections', 'declared links')).toMatchObject({ legacy: 24, hub: null });
  });

  it('leaves a run that did not sustain the cost rate out of the cost rows', () => {
    const r = sampleReport();
    r.runners.throughput!.layouts[1].runs[1].cost = null;
    const cpu = rowOf(headlineRows(r.runners), 'throughput', 'CPU per order at the cost rate');
    expect(cpu.hub).toBeCloseTo((12.549 + 12.345) / 2);
    expect(cpu.legacy).toBe(16.906);
    expect(rowOf(headlineRows(r.runners), 'throughput', 'highest sustained rate').hub).toBe(600);
  });
});

describe('headlineRows compare only the same components', () => {
  it('leaves out of both sides a component one side did not fail', () => {
    const r = sampleReport();
    const hub = r.runners.failures!.layouts[1];
    hub.components = hub.components.filter((c) => c.component !== 'B');
    const rows = headlineRows(r.runners);
    // legacy's B (a single point of failure) is not compared: hub did not fail B.
    expect(rowOf(rows, 'failures', 'single points of failure')).toMatchObject({ legacy: 4, hub: 2 });
    expect(rowOf(rows, 'failures', 'mean blast radius').legacy).toBeCloseTo(12 / 5);
  });

  it('has nothing to compare when the two layouts share no component, and shows one side alone when the other was not measured', () => {
    const r = sampleReportWithCluster();
    const f = r.runners.failures!;
    const ha = f.layouts.find((l) => l.layout === 'legacy-ha')!;
    ha.components = ha.components.filter((c) => c.kind === 'system');
    expect(rowOf(headlineRows(r.runners), 'failures', 'records lost')).toMatchObject({ 'legacy-ha': null, 'hub-cluster': null });
    f.layouts = f.layouts.filter((l) => l.layout !== 'legacy-ha');
    expect(rowOf(headlineRows(r.runners), 'failures', 'single points of failure')).toMatchObject({ 'legacy-ha': null, 'hub-cluster': 0, clusterRatio: null });
  });
});

describe('headlineRows with the failures runner\'s legacy-ha and hub-cluster layouts', () => {
  const rows = headlineRows(sampleReportWithCluster().runners);

  it('compares legacy-ha against hub-cluster over the nodes and quorum leader both failed (legacy-ha\'s A left out)', () => {
    expect(rowOf(rows, 'failures', 'single points of failure')).toMatchObject({ legacy: 5, hub: 2, 'legacy-ha': 1, 'hub-cluster': 0, clusterRatio: 0 });
    expect(rowOf(rows, 'failures', 'records lost')).toMatchObject({ 'legacy-ha': 6, 'hub-cluster': 0 });
    expect(rowOf(rows, 'failures', 'records duplicated')).toMatchObject({ 'legacy-ha': 12, 'hub-cluster': 3 });
    expect(rowOf(rows, 'failures', 'mean time from kill to service')).toMatchObject({ 'legacy-ha': (2600 + 2700 + 2500 + 3900) / 4, 'hub-cluster': (3200 + 3400 + 4700 + 4300) / 4 });
    expect(rowOf(rows, 'failures', 'longest ingress outage')).toMatchObject({ 'legacy-ha': 3600, 'hub-cluster': 4600 });
    // The first pair's ratio stays hub / legacy.
    expect(rowOf(rows, 'failures', 'single points of failure').ratio).toBe(0.4);
  });

  it('prints the two pairs as two tables', () => {
    const text = formatHeadlineTable(rows);
    const [first, second] = text.split('\n\n');
    expect(first.split('\n')[0]).toBe('legacy against hub (one RabbitMQ node against one broker)');
    expect(first.split('\n')[1]).toMatch(/^runner\s+metric\s+legacy\s+hub\s+hub\/legacy\s+better\s+runs\s+verdict$/);
    expect(first).toMatch(/declared links\s+24\s+10\s+0\.417×\s+lower\s+exact\s+lower by 58 % \(better\)/);
    expect(second.split('\n')[0]).toBe('legacy-ha against hub-cluster (failures only)');
    expect(second.split('\n')[1]).toMatch(/^runner\s+metric\s+legacy-ha\s+hub-cluster\s+hub-cluster\/legacy-ha\s+better\s+runs\s+verdict$/);
    expect(second).toMatch(/failures\s+records lost\s+6\s+0\s+0×\s+lower\s+1\s+one run: no interval$/m);
    expect(second).toMatch(/failures\s+single points of failure \(components\)\s+1\s+0\s+0×\s+lower\s+exact\s+lower by 100 % \(better\)$/m);
    expect(second).not.toContain('declared links');
  });
});

/** Rows as a repeated run gives them, built here so the table's tests do not depend on any runner's results. */
function repeatedRows(): HeadlineRow[] {
  return [
    {
      runner: 'connections', metric: 'declared links', unit: 'links', legacy: 24, hub: 10, ratio: 10 / 24, better: 'lower', exact: true,
    },
    { runner: 'connections', metric: 'live TCP connections', unit: 'connections', legacy: 17, hub: 19, ratio: 19 / 17, better: 'lower' },
    {
      runner: 'throughput', metric: 'highest sustained rate', unit: 'orders/s', legacy: 142.37, hub: 598.2, ratio: 4.21, better: 'higher',
      runs: 3, intervals: { legacy: [129.1, 155.6], hub: [560.4, 640.1], ratio: [3.9, 4.6] },
    },
    {
      runner: 'throughput', metric: 'ingress p99', unit: 'ms', legacy: 45, hub: 44, ratio: 0.978, better: 'lower',
      runs: 3, intervals: { legacy: [40, 50], hub: [38, 50], ratio: [0.85, 1.12] },
    },
  ];
}

describe('formatHeadlineTable', () => {
  it('shows a repeated row as median (interval), its ratio likewise, the runs and a verdict; one-run and exact rows as they are', () => {
    const lines = formatHeadlineTable(repeatedRows()).split('\n');
    expect(lines[0]).toMatch(/^runner\s+metric\s+legacy\s+hub\s+hub\/legacy\s+better\s+runs\s+verdict$/);
    expect(lines[2]).toMatch(/^connections\s+declared links\s+24\s+10\s+0\.417×\s+lower\s+exact\s+lower by 58 % \(better\)$/);
    expect(lines[3]).toMatch(/^connections\s+live TCP connections\s+17\s+19\s+1\.12×\s+lower\s+1\s+one run: no interval$/);
    expect(lines[4]).toMatch(/^throughput\s+highest sustained rate \(orders\/s\)\s+142 \(129–156\)\s+598 \(560–640\)\s+4\.21× \(3\.90–4\.60\)\s+higher\s+3\s+higher by 4\.2× \(better\)$/);
    expect(lines[5]).toMatch(/^throughput\s+ingress p99 \(ms\)\s+45 \(40–50\)\s+44 \(38–50\)\s+0\.98× \(0\.85–1\.12\)\s+lower\s+3\s+no clear difference$/);
  });

  it('prints an aligned plain-text table with units where the metric does not name them', () => {
    const r = sampleReport();
    delete r.runners.failures;
    const text = formatHeadlineTable(headlineRows(r.runners));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^runner\s+metric\s+legacy\s+hub\s+hub\/legacy\s+better\s+runs\s+verdict$/);
    expect(text).toMatch(/connections\s+declared links\s+24\s+10\s+0\.417×\s+lower/);
    // No ratio (legacy got none), one run: no verdict either way.
    expect(text).toMatch(/newcomers that received history \(systems\)\s+0\s+3\s+–\s+higher\s+1\s+one run: no interval$/m);
    expect(formatHeadlineTable(sampleReport().headline)).toMatch(/mean time from kill to service \(ms\)\s+8,567\s+6,142/);
    // Equal values of one run: the same.
    expect(formatHeadlineTable(sampleReport().headline)).toMatch(/mean time from kill to ready \(ms\)\s+5,000\s+5,000\s+1×\s+lower\s+1\s+same$/m);
    expect(formatHeadlineTable([])).toBe('no runner ran, so there is no headline');
  });
});

describe('verdictCell', () => {
  const measured = { better: 'lower' as const, runs: 3 };

  it('judges by the ratio\'s interval when there is one', () => {
    expect(verdictCell(measured, 45, 44, 0.978, { legacy: [40, 50], hub: [38, 50], ratio: [0.85, 1.12] })).toBe('no clear difference');
    expect(verdictCell(measured, 45, 20, 0.44, { legacy: [40, 50], hub: [18, 22], ratio: [0.4, 0.5] })).toBe('lower by 56 % (better)');
  });

  it('without a ratio interval (a ratio of 0, or legacy 0), judges by whether the layouts\' intervals overlap', () => {
    // Nothing lost in any hub run: the ratio is 0 and has no interval on the log scale.
    expect(verdictCell(measured, 187, 0, 0, { legacy: [150, 210], hub: [0, 0], ratio: null })).toBe('lower by 100 % (better)');
    expect(verdictCell(measured, 0, 3, null, { legacy: [0, 0], hub: [1, 5], ratio: null })).toBe('higher (worse)');
    expect(verdictCell(measured, 0, 1, null, { legacy: [0, 2], hub: [0, 3], ratio: null })).toBe('no clear difference');
    expect(verdictCell(measured, 0, 1, null, { legacy: null, hub: [0, 3], ratio: null })).toBe('no interval');
  });

  it('judges exact rows by value, one-run rows not at all unless equal, and has none for a missing side', () => {
    expect(verdictCell({ better: 'lower', exact: true }, 3, 0, 0)).toBe('lower by 100 % (better)');
    expect(verdictCell({ better: 'lower', exact: true }, 0, 2, null)).toBe('higher (worse)');
    expect(verdictCell({ better: 'lower', exact: true }, 1, 1, 1)).toBe('same');
    expect(verdictCell({ better: 'lower' }, 17, 19, 19 / 17)).toBe('one run: no interval');
    expect(verdictCell({ better: 'lower' }, 5, 5, 1)).toBe('same');
    expect(verdictCell({ better: 'lower', runs: 3 }, 5, 6, 1.2)).toBe('no interval');
    expect(verdictCell({ better: 'lower' }, null, 5, null)).toBe('–');
  });
});
