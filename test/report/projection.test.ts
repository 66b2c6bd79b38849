// Growth to large landscapes: the least-squares line and its projection checked against a hand
// computation, the worst cases against their formulas, projectTo from the settings, and the chart
// drawing every measured point inside its plotted area.
import { describe, expect, it } from 'vitest';
import { PROJECTION_CHART_HEIGHT, projectionCharts, projectionChartData } from '../../report/charts-projection.ts';
import { formulaText, projectionSection } from '../../report/document-projection.ts';
import type { ConnectionsPoint, Report } from '../../report/model.ts';
import { DEFAULT_PROJECT_TO, fitAt, linearFit, projectedAt, projectionOf } from '../../report/projection.ts';
import { sampleReport } from './fixture.ts';

/** The sample report with only n = 3..6 measured, legacy declared links 5, 8, 10, 13 and hub n + 1. */
function smallReport(projectTo?: unknown): Report {
  const r = sampleReport();
  const legacyLinks: Record<number, number> = { 3: 5, 4: 8, 5: 10, 6: 13 };
  r.runners.connections!.points = r.runners.connections!.points
    .filter((p) => p.n <= 6)
    .map((p): ConnectionsPoint => ({ ...p, declaredLinks: p.layout === 'legacy' ? legacyLinks[p.n] : p.n + 1 }));
  if (projectTo !== undefined) r.scenario.settings.runners = { connections: { from: 3, to: 6, projectTo } };
  return r;
}

describe('linearFit', () => {
  it('matches the least squares worked out by hand for links 5, 8, 10, 13 at n = 3..6', () => {
    // mean n = 4.5, mean links = 9
    // Sxx = 1.5² + 0.5² + 0.5² + 1.5² = 5
    // Sxy = (−1.5)(−4) + (−0.5)(−1) + (0.5)(1) + (1.5)(4) = 13
    // slope b = 13 / 5 = 2.6; intercept a = 9 − 2.6 · 4.5 = −2.7
    // line at 3..6: 5.1, 7.7, 10.3, 12.9; residuals −0.1, 0.3, −0.3, 0.1; SSres = 0.2
    // SStot = 16 + 1 + 1 + 16 = 34; R² = 1 − 0.2 / 34; RMS residual = √(0.2 / 4)
    // at n = 200: −2.7 + 2.6 · 200 = 517.3
    const fit = linearFit([{ x: 3, y: 5 }, { x: 4, y: 8 }, { x: 5, y: 10 }, { x: 6, y: 13 }])!;
    expect(fit.slope).toBeCloseTo(2.6, 12);
    expect(fit.intercept).toBeCloseTo(-2.7, 12);
    expect(fit.r2).toBeCloseTo(1 - 0.2 / 34, 12);
    expect(fit.rmsResidual).toBeCloseTo(Math.sqrt(0.05), 12);
    expect(fitAt(fit, 200)).toBeCloseTo(517.3, 9);
    expect(formulaText(fit)).toBe('2.6·n − 2.7');
  });

  it('is exact for a straight line, and none for a single n', () => {
    expect(linearFit([{ x: 3, y: 4 }, { x: 4, y: 5 }, { x: 9, y: 10 }])).toMatchObject({ slope: 1, intercept: 1, r2: 1, rmsResidual: 0 });
    expect(linearFit([{ x: 3, y: 1 }, { x: 4, y: 1 }])).toMatchObject({ slope: 0, intercept: 1, r2: 1 });
    expect(linearFit([{ x: 5, y: 1 }, { x: 5, y: 2 }])).toBeNull();
  });
});

describe('projectionOf', () => {
  const p = projectionOf(smallReport(200))!;
  const links = p.metrics.find((m) => m.id === 'declaredLinks')!;
  const legacy = links.layouts.find((l) => l.layout === 'legacy')!;
  const hub = links.layouts.find((l) => l.layout === 'hub')!;

  it('projects the fitted line to n = 200 and bounds it by the full mesh plus the lake exports', () => {
    expect(p).toMatchObject({ nFrom: 3, nTo: 6, projectTo: 200, projectToNote: null, sizes: [6, 50, 100, 200], lakeLinksPerSystem: 1, hubIsNPlusOne: true });
    expect(projectedAt(legacy, 200).fit).toBeCloseTo(517.3, 9);
    // Worst case: n(n−1)/2 + 1 · n (each of A–F exports to the lake once): 200 · 199 / 2 + 200.
    expect(legacy.worst!.formula).toBe('n(n−1)/2 + n');
    expect(projectedAt(legacy, 200).worst).toBe(20_100);
    expect(projectedAt(legacy, 50).worst).toBe(50 * 49 / 2 + 50);
    // The hub: n + 1, and its fit is that line exactly.
    expect(hub.worst!.formula).toBe('n + 1');
    expect(projectedAt(hub, 200)).toEqual({ fit: 201, worst: 201, capped: false });
  });

  it('bounds adapters and formats by what the measured landscape speaks, and gives live TCP no worst case', () => {
    const adapters = p.metrics.find((m) => m.id === 'adaptersTotal')!.layouts.find((l) => l.layout === 'legacy')!;
    // A–F in the fixture speak rest-sync/json, rest-poll/json, amqp/xml and batch/csv, and export to the lake as batch/json, batch/csv
    // and batch/xml: 6 distinct combinations.
    expect(adapters.worst!.formula).toBe('6·n');
    const tcp = p.metrics.find((m) => m.id === 'liveTcpTotal')!;
    expect(tcp.layouts.every((l) => l.worst === null)).toBe(true);
    const formats = p.metrics.find((m) => m.id === 'formatsPerSystem')!.layouts.find((l) => l.layout === 'legacy')!;
    expect(formats.worst!.formula).toBe('3');
    // A line that outgrows the worst case is held at it.
    expect(projectedAt(formats, 200)).toEqual({ fit: 3, worst: 3, capped: true });
  });

  it('reads projectTo from the settings: the default for older reports, refused below the largest n', () => {
    expect(projectionOf(smallReport(50))!.projectTo).toBe(50);
    expect(projectionOf(smallReport(50))!.sizes).toEqual([6, 50]);
    const old = projectionOf(smallReport())!;
    expect(old.projectTo).toBe(DEFAULT_PROJECT_TO);
    expect(old.projectToNote).toContain('no projectTo');
    const low = projectionOf(smallReport(4))!;
    expect(low.projectTo).toBe(DEFAULT_PROJECT_TO);
    expect(low.projectToNote).toContain('not a whole number of at least the largest n measured (6)');
  });

  it('says in the section that it is a model extrapolated from the measured points', () => {
    const s = projectionSection(smallReport(200))!;
    const text = JSON.stringify(s.blocks);
    expect(text).toContain('This section is a model, not a measurement');
    expect(text).toContain('measured at n = 3..6');
    expect(text).toContain('linear');
    expect(text).toContain('R²');
    const values = s.blocks.find((b) => b.kind === 'table' && b.table.id === 'projection-values');
    expect(values?.kind === 'table' && values.table.rows.find((row) => row[0] === 'declared links' && row[1] === 'legacy' && row[2] === 'fitted line'))
      .toEqual(['declared links', 'legacy', 'fitted line', '13', '127', '257', '517']);
    const none = sampleReport();
    delete none.runners.connections;
    expect(projectionSection(none)).toBeNull();
  });
});

describe('projection charts', async () => {
  const r = smallReport(200);
  const p = projectionOf(r)!;
  const charts = await projectionCharts(r);

  it('draws one chart per measure, each a model with axis titles', () => {
    expect(charts.map((c) => c.id)).toEqual(['chart-projection-links', 'chart-projection-adapters', 'chart-projection-live-tcp', 'chart-projection-formats']);
    for (const c of charts) {
      expect(c.caption).toContain('A model, not a measurement');
      expect(c.svg.match(/class="mark-text role-axis-title"/g)).toHaveLength(2);
      expect(c.svg).toContain('systems n (log scale');
    }
  });

  it('draws every measured point as a dot inside the plotted area', () => {
    const links = p.metrics.find((m) => m.id === 'declaredLinks')!;
    const measured = projectionChartData(p, links).filter((d) => d.kind === 'measured');
    expect(measured.map((d) => `${d.layout} ${d.n}: ${d.value}`)).toEqual([
      'legacy 3: 5', 'legacy 4: 8', 'legacy 5: 10', 'legacy 6: 13', 'hub 3: 4', 'hub 4: 5', 'hub 5: 6', 'hub 6: 7',
    ]);
    const svg = charts[0].svg;
    const group = /<g class="mark-symbol role-mark [^"]*"[^>]*>([\s\S]*?)<\/g>/.exec(svg)![1];
    const dots = [...group.matchAll(/<path aria-label="([^"]*)"[^>]*transform="translate\(([-\d.e]+),([-\d.e]+)\)"/g)];
    expect(dots).toHaveLength(8);
    for (const [, label, x, y] of dots) {
      expect(label).toContain('dot: measured');
      expect(Number(x), label).toBeGreaterThanOrEqual(0);
      expect(Number(x), label).toBeLessThanOrEqual(620);
      expect(Number(y), label).toBeGreaterThanOrEqual(0);
      expect(Number(y), label).toBeLessThanOrEqual(PROJECTION_CHART_HEIGHT);
    }
    expect(dots.map((d) => d[1].replace(/^.*: (\d+); layout: (\w+).*$/, '$2 $1'))).toEqual(['legacy 5', 'legacy 8', 'legacy 10', 'legacy 13', 'hub 4', 'hub 5', 'hub 6', 'hub 7']);
  });
});
