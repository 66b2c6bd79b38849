import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { validateReport } from '../../report/validate.ts';

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
});
