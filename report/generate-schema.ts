/**
 * Writes report/report.schema.json from the zod schemas in report/model.ts.
 *
 *   npm run generate:report-schema
 */
import { renameSync, writeFileSync } from 'node:fs';
import { REPORT_SCHEMA_FILE, reportJsonSchemaText } from './json-schema.ts';

const text = reportJsonSchemaText();
const tmp = `${REPORT_SCHEMA_FILE}.${process.pid}.tmp`;
writeFileSync(tmp, text);
renameSync(tmp, REPORT_SCHEMA_FILE);
process.stdout.write(`wrote ${REPORT_SCHEMA_FILE} (${text.length} bytes)\n`);
