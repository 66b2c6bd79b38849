/**
 * Turns zod issues into Problems whose messages say what was expected and what was found, using
 * the schema itself (its `.describe()` texts, enum values, object keys) as the source of truth.
 */
import type { z } from 'zod';
import { describeValue, listNames, type PathSegment, type Problem } from './errors.ts';

/** The parts of a zod 4 schema definition this module reads. */
interface SchemaDef {
  type: string;
  innerType?: SchemaLike;
  in?: SchemaLike;
  shape?: Record<string, SchemaLike>;
  element?: SchemaLike;
  entries?: Record<string, string | number>;
}
interface SchemaLike {
  _zod: { def: SchemaDef };
  description?: string;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch']);

function unwrap(schema: SchemaLike): SchemaLike {
  let s = schema;
  while (WRAPPERS.has(s._zod.def.type) && s._zod.def.innerType) s = s._zod.def.innerType;
  if (s._zod.def.type === 'pipe' && s._zod.def.in) return unwrap(s._zod.def.in);
  return s;
}

/** The description set by `.describe()` on the schema or any wrapper around it. */
function descriptionOf(schema: SchemaLike): string | undefined {
  let s: SchemaLike | undefined = schema;
  while (s) {
    if (s.description) return s.description;
    s = WRAPPERS.has(s._zod.def.type) ? s._zod.def.innerType : undefined;
  }
  return undefined;
}

/** The schema that validates the value at `path`, or undefined when the path leaves the schema. */
export function schemaAt(root: z.ZodType, path: readonly PathSegment[]): SchemaLike | undefined {
  let s: SchemaLike | undefined = root as unknown as SchemaLike;
  for (const segment of path) {
    if (!s) return undefined;
    const def: SchemaDef = unwrap(s)._zod.def;
    if (def.type === 'object' && typeof segment === 'string') s = def.shape?.[segment];
    else if (def.type === 'array' && typeof segment === 'number') s = def.element;
    else return undefined;
  }
  return s;
}

export function objectKeys(schema: SchemaLike | undefined): string[] {
  const def = schema ? unwrap(schema)._zod.def : undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function enumValues(schema: SchemaLike | undefined): string[] | undefined {
  const def = schema ? unwrap(schema)._zod.def : undefined;
  return def?.type === 'enum' && def.entries ? Object.values(def.entries).map(String) : undefined;
}

/** What the schema at a path expects, in words. */
export function expectedText(schema: SchemaLike | undefined, fallback: string): string {
  if (!schema) return fallback;
  const description = descriptionOf(schema);
  if (description) return description;
  const values = enumValues(schema);
  if (values) return `one of ${values.join(', ')}`;
  const keys = objectKeys(schema);
  if (keys.length > 0) return `a mapping with keys ${keys.join(', ')}`;
  return fallback;
}

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let v = raw;
  for (const segment of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[String(segment)];
  }
  return v;
}

/** Edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j];
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length];
}

function suggestion(key: string, allowed: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = distance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean "${best}"?` : '';
}

/** One zod issue as one or more Problems (one per unknown key). */
export function problemsFromIssue(issue: z.core.$ZodIssue, root: z.ZodType, raw: unknown): Problem[] {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  const schema = schemaAt(root, path);
  const found = valueAt(raw, path);
  const got = describeValue(found);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = objectKeys(schema);
      return issue.keys.map((key) => ({
        path: [...path, key],
        at: 'key' as const,
        message: `unknown key "${key}" (expected one of: ${listNames(allowed)})${suggestion(key, allowed)}`,
      }));
    }
    case 'invalid_type': {
      const expected = expectedText(schema, issue.expected === 'int' ? 'a whole number' : `a ${issue.expected}`);
      if (found === undefined) return [{ path, message: `missing (expected ${expected})` }];
      return [{ path, message: `expected ${expected}, got ${got}` }];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const expected = values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
      if (found === undefined) return [{ path, message: `missing (expected ${expected})` }];
      return [{ path, message: `expected ${expected}, got ${got}` }];
    }
    case 'invalid_format':
    case 'too_small':
    case 'too_big':
    case 'not_multiple_of':
      return [{ path, message: `expected ${expectedText(schema, issue.message)}, got ${got}` }];
    default:
      return [{ path, message: issue.message }];
  }
}
