import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validateReport } from '../../report/validate.ts';
import { renderMarkdown } from '../../report/render-md.ts';
import { renderHtml } from '../../report/render-html.ts';
import { measuredOnLine } from '../../report/reference-line.ts';

// The committed reference run (made with `npm run compare`) stays valid against the schema, and the
// README quotes its headline table as it is.

describe('results/reference', () => {
  const report = JSON.parse(readFileSync('results/reference/report.json', 'utf8')) as unknown;

  it('is a complete run of the compare scenario that validates against report/report.schema.json', () => {
    const checked = validateReport(report);
    expect(checked.ok ? [] : checked.errors).toEqual([]);
    if (!checked.ok) return;
    expect(checked.report.scenario).toMatchObject({ name: 'compare', quick: false });
    expect(Object.keys(checked.report.runners).sort()).toEqual(['connections', 'failures', 'onboarding', 'throughput']);
    expect(checked.report.topology.systems).toHaveLength(9);
  });

  it('is quoted in the README with the same headline table', () => {
    const table = (text: string): string[] => text.split('\n').filter((l) => /^\| (connections|failures|throughput|onboarding) \|/.test(l));
    const md = readFileSync('results/reference/report.md', 'utf8');
    const headline = md.slice(md.indexOf('## Headline'), md.indexOf('\n## ', md.indexOf('## Headline') + 1));
    const fromReport = table(headline);
    expect(fromReport.length).toBeGreaterThan(10);
    expect(table(readFileSync('README.md', 'utf8'))).toEqual(fromReport);
  });

  it('carries the commit it was made from (a clean tree), and the scenario and topology as run with their hashes', () => {
    const checked = validateReport(report);
    if (!checked.ok) throw new Error(checked.errors.join('\n'));
    const r = checked.report;
    expect(r.source?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(r.source?.dirty).toBe(false);
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
    expect(sha(r.scenario.text!)).toBe(r.scenario.sha256);
    expect(sha(r.topology.text!)).toBe(r.topology.sha256);
  });

  it('is introduced in the README by the machine, versions and run its report.json names', () => {
    const checked = validateReport(report);
    if (!checked.ok) throw new Error(checked.errors.join('\n'));
    expect(readFileSync('README.md', 'utf8').split('\n')).toContain(measuredOnLine(checked.report));
  });

  it('measures the failures runner in all four layouts, every figure of this code present, and renders with it', async () => {
    const checked = validateReport(report);
    if (!checked.ok) throw new Error(checked.errors.join('\n'));
    const failures = checked.report.runners.failures!;
    expect(failures.layouts.map((l) => l.layout)).toEqual(['legacy', 'legacy-ha', 'hub', 'hub-cluster']);
    for (const l of failures.layouts) {
      expect(l.practices, l.layout).toBeDefined();
      expect(l.summary.components, l.layout).toBeDefined();
      for (const c of l.components) {
        expect(c.killToServiceMs, `${l.layout} ${c.component}`).not.toBeUndefined();
        expect(c.lostByCause, `${l.layout} ${c.component}`).toBeDefined();
        expect(c.ingressOutageMs, `${l.layout} ${c.component}`).toBeDefined();
      }
    }
    const md = renderMarkdown(checked.report);
    expect(md).toContain('## Failures');
    expect(md).toContain('| runner | metric | legacy-ha | hub-cluster | hub-cluster/legacy-ha | better |');
    const html = await renderHtml(checked.report);
    expect(html).toContain('legacy-ha');
  }, 60_000);
});
