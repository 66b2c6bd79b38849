import { describe, expect, it } from 'vitest';
import { connectionsHeadlineN, formatHeadlineTable, headlineRatio, headlineRows } from '../../report/headline.ts';
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
      ...Array(5).fill('connections'), ...Array(10).fill('failures'), ...Array(6).fill('throughput'), ...Array(4).fill('onboarding'),
    ]);
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

  it('takes throughput at saturation and latency at the lowest step', () => {
    const accepted = rowOf(rows, 'throughput', 'accepted orders/s at saturation');
    expect(accepted).toMatchObject({ legacy: 212.4, hub: 612.3, better: 'higher' });
    expect(accepted.ratio).toBeCloseTo(612.3 / 212.4);
    expect(rowOf(rows, 'throughput', 'ingress p99 at saturation')).toMatchObject({ legacy: 160, hub: 190 });
    expect(rowOf(rows, 'throughput', 'end-to-end p50 at the lowest load')).toMatchObject({ legacy: 2350, hub: 38 });
    expect(rowOf(rows, 'throughput', 'CPU per 1,000 orders at saturation')).toMatchObject({ legacy: 1.66, hub: 0.97 });
    expect(rowOf(rows, 'throughput', 'bytes written per order at saturation')).toMatchObject({ legacy: 8990, hub: 4230 });
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
    r.runners.throughput!.layouts = r.runners.throughput!.layouts.filter((l) => l.layout === 'hub');
    const accepted = rowOf(headlineRows(r.runners), 'throughput', 'accepted orders/s at saturation');
    expect(accepted).toMatchObject({ legacy: null, hub: 612.3, ratio: null });
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

  it('gives null latency when no step is at the saturation point', () => {
    const r = sampleReport();
    r.runners.throughput!.layouts[0].saturation.connections = 999;
    expect(rowOf(headlineRows(r.runners), 'throughput', 'ingress p99 at saturation').legacy).toBeNull();
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
    expect(first.split('\n')[1]).toMatch(/^runner\s+metric\s+legacy\s+hub\s+hub\/legacy\s+better$/);
    expect(first).toMatch(/declared links\s+24\s+10\s+0\.417×/);
    expect(second.split('\n')[0]).toBe('legacy-ha against hub-cluster (failures only)');
    expect(second.split('\n')[1]).toMatch(/^runner\s+metric\s+legacy-ha\s+hub-cluster\s+hub-cluster\/legacy-ha\s+better$/);
    expect(second).toMatch(/failures\s+records lost\s+6\s+0\s+0×\s+lower/);
    expect(second).not.toContain('declared links');
  });
});

describe('formatHeadlineTable', () => {
  it('prints an aligned plain-text table with units where the metric does not name them', () => {
    const r = sampleReport();
    delete r.runners.failures;
    const text = formatHeadlineTable(headlineRows(r.runners));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^runner\s+metric\s+legacy\s+hub\s+hub\/legacy\s+better$/);
    expect(text).toMatch(/connections\s+declared links\s+24\s+10\s+0\.417×\s+lower/);
    expect(text).toMatch(/newcomers that received history \(systems\)\s+0\s+3\s+–\s+higher/);
    expect(formatHeadlineTable(sampleReport().headline)).toMatch(/mean time from kill to service \(ms\)\s+8,567\s+6,142/);
    expect(formatHeadlineTable([])).toBe('no runner ran, so there is no headline');
  });
});
