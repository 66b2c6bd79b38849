/**
 * The JSON Schema (draft 2020-12) of report.json, generated from the zod schemas in model.ts.
 * report/report.schema.json is this text, committed so anyone can validate a report without our code;
 * `npm run generate:report-schema` rewrites it, and a test fails when the committed file is stale.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { REPORT_SCHEMA_VERSION, reportSchema } from './model.ts';

/** Where the committed schema lives. */
export const REPORT_SCHEMA_FILE: string = fileURLToPath(new URL('./report.schema.json', import.meta.url));

/** The schema as an object: draft 2020-12, with a title and an $id naming the report version. */
export function buildReportJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(reportSchema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'throw' });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: `urn:untangle:report:v${REPORT_SCHEMA_VERSION}`,
    title: `untangle report, schema version ${REPORT_SCHEMA_VERSION}`,
    description: 'One run of untangle (results/<run-id>/report.json): every raw measurement of the runners, '
      + 'where and how they were taken, and the headline comparison of the legacy and hub layouts. '
      + 'Generated from report/model.ts; do not edit by hand.',
    ...rest,
  };
}

/** The exact text of report.schema.json: two-space indented, with a final newline. */
export function reportJsonSchemaText(): string {
  return `${JSON.stringify(buildReportJsonSchema(), null, 2)}\n`;
}
