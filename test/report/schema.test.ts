import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPORT_SCHEMA_FILE, reportJsonSchemaText } from '../../report/json-schema.ts';
import { REPORT_SCHEMA_VERSION } from '../../report/model.ts';
import { validateReport } from '../../report/validate.ts';
import { sampleReport } from './fixture.ts';

/** The errors of an invalid input (fails the test when the input is valid). */
function errorsOf(json: unknown): string[] {
  const r = validateReport(json);
  if (r.ok) throw new Error('expected the report to be rejected');
  return r.errors;
}

describe('report.schema.json', () => {
  it('is exactly what the generator produces from report/model.ts (run npm run generate:report-schema when this fails)', () => {
    expect(readFileSync(REPORT_SCHEMA_FILE, 'utf8')).toBe(reportJsonSchemaText());
  });

  it('is a draft 2020-12 schema with an id and a title', () => {
    const schema = JSON.parse(readFileSync(REPORT_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(`urn:untangle:report:v${REPORT_SCHEMA_VERSION}`);
    expect(schema.required).toContain('runners');
  });
});

describe('validateReport', () => {
  it('accepts the complete sample report, also after a JSON round trip', () => {
    const r = validateReport(JSON.parse(JSON.stringify(sampleReport())));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.report.runners.failures?.layouts).toHaveLength(2);
  });

  it('accepts a report with only some runners, and one with none', () => {
    const some = sampleReport();
    delete some.runners.throughput;
    delete some.runners.onboarding;
    expect(validateReport(some).ok).toBe(true);
    expect(validateReport({ ...sampleReport(), runners: {}, headline: [] }).ok).toBe(true);
  });

  it('rejects what is not an object at all', () => {
    expect(errorsOf(null)).toEqual(['(report): must be object']);
    expect(errorsOf([])).toEqual(['(report): must be object']);
  });

  it('names a missing property and where it was missing', () => {
    const r = sampleReport() as unknown as Record<string, unknown>;
    delete r.runId;
    expect(errorsOf(r)).toEqual(['(report): missing required property "runId"']);
    const m = sampleReport();
    delete (m.machine as Partial<typeof m.machine>).cores;
    expect(errorsOf(m)).toEqual(['machine: missing required property "cores"']);
  });

  it('names an unknown property', () => {
    expect(errorsOf({ ...sampleReport(), colour: 'blue' })).toEqual(['(report): unknown property "colour"']);
  });

  it('gives the path into arrays and lists the allowed values of an enum', () => {
    const r = sampleReport();
    (r.runners.connections!.points[3] as { layout: string }).layout = 'mesh';
    expect(errorsOf(r)).toEqual(['runners.connections.points[3].layout: must be one of "legacy", "hub"']);
  });

  it('checks ranges and integers', () => {
    const r = sampleReport();
    r.runners.failures!.layouts[0].components[1].ingressErrorRate = 1.5;
    r.runners.throughput!.layouts[1].runs[2].search.points[0].sent = -3;
    r.machine.cores = 2.5;
    expect(errorsOf(r)).toEqual([
      'machine.cores: must be integer',
      'runners.failures.layouts[0].components[1].ingressErrorRate: must be <= 1',
      'runners.throughput.layouts[1].runs[2].search.points[0].sent: must be >= 0',
    ]);
  });

  it('refuses another schema version and wrong types', () => {
    expect(errorsOf({ ...sampleReport(), schemaVersion: REPORT_SCHEMA_VERSION - 1 })).toEqual([`schemaVersion: must be ${REPORT_SCHEMA_VERSION}`]);
    expect(errorsOf({ ...sampleReport(), seed: '42' })).toEqual(['seed: must be integer']);
  });

  it('takes the files\' content hashes as 64 lowercase hex digits, and does without them', () => {
    const r = sampleReport();
    r.scenario.sha256 = 'ab'.repeat(32);
    r.topology.sha256 = 'AB'.repeat(32);
    expect(errorsOf(r)).toEqual(['topology.sha256: must match pattern "^[0-9a-f]{64}$"']);
    r.topology.sha256 = 'cd'.repeat(32);
    expect(validateReport(r).ok).toBe(true);
    delete r.scenario.sha256;
    delete r.topology.sha256;
    expect(validateReport(r).ok).toBe(true);
  });

  it('lists at most 20 errors and says how many more there were', () => {
    const r = sampleReport();
    // 14 points, two wrong fields each: 28 errors.
    for (const p of r.runners.connections!.points) Object.assign(p, { n: 'many', declaredLinks: 'lots' });
    const errors = errorsOf(r);
    expect(errors).toHaveLength(21);
    expect(errors[0]).toBe('runners.connections.points[0].n: must be integer');
    expect(errors[20]).toBe('... and 8 more');
  });
});
