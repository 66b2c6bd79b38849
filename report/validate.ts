/**
 * Validates report.json: first against the committed JSON Schema (report/report.schema.json) with ajv,
 * exactly as anyone without our code could, then with the zod schema for the typed value.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { REPORT_SCHEMA_FILE } from './json-schema.ts';
import { reportSchema, type Report } from './model.ts';

export type ValidationResult = { ok: true; report: Report } | { ok: false; errors: string[] };

/** At most this many schema errors are listed; the last line says how many more there were. */
export const MAX_LISTED_ERRORS = 20;

let compiled: ValidateFunction | null = null;

function schemaValidator(): ValidateFunction {
  if (compiled) return compiled;
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(REPORT_SCHEMA_FILE, 'utf8'));
  } catch (err) {
    throw new Error(`cannot load the report schema ${REPORT_SCHEMA_FILE}: ${(err as Error).message} (npm run generate:report-schema writes it)`, { cause: err });
  }
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  compiled = ajv.compile(schema as object);
  return compiled;
}

/** "/runners/failures/layouts/0/downMs" → "runners.failures.layouts[0].downMs"; the root is "(report)". */
export function jsonPointerToPath(pointer: string): string {
  if (pointer === '') return '(report)';
  return pointer
    .split('/')
    .slice(1)
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`), '');
}

function describeAjvError(e: ErrorObject): string {
  const where = jsonPointerToPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${where}: missing required property "${String(params.missingProperty)}"`;
    case 'additionalProperties':
      return `${where}: unknown property "${String(params.additionalProperty)}"`;
    case 'enum':
      return `${where}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${where}: must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}

function limitErrors(errors: string[]): string[] {
  const unique = [...new Set(errors)];
  if (unique.length <= MAX_LISTED_ERRORS) return unique;
  return [...unique.slice(0, MAX_LISTED_ERRORS), `... and ${unique.length - MAX_LISTED_ERRORS} more`];
}

export function validateReport(json: unknown): ValidationResult {
  const validate = schemaValidator();
  if (!validate(json)) return { ok: false, errors: limitErrors((validate.errors ?? []).map(describeAjvError)) };
  // The JSON Schema and zod should agree (the schema file is generated from zod and a test keeps it
  // current); zod also gives the typed value.
  const parsed = reportSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      errors: limitErrors(parsed.error.issues.map((i) => `${jsonPointerToPath(i.path.map((p) => `/${String(p)}`).join(''))}: ${i.message}`)),
    };
  }
  return { ok: true, report: parsed.data };
}
