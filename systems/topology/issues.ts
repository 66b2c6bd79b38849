/**
 * Turns zod issues into Problems whose messages say what was expected and what was found, using
 * the schema itself (its `.describe()` texts, enum values, object keys) as the source of truth.
 * A message is always a plain sentence of ours: zod's own wording ("Invalid input", "Too small:
 * expected array to have >=1 items") never reaches the user, whatever the issue code.
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
  keyType?: SchemaLike;
  valueType?: SchemaLike;
  options?: SchemaLike[];
  getter?: () => SchemaLike;
  values?: unknown[];
}
interface SchemaLike {
  _zod: { def: SchemaDef };
  description?: string;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch']);

function unwrap(schema: SchemaLike): SchemaLike {
  let s = schema;
  for (let depth = 0; depth < 32; depth += 1) {
    const def = s._zod.def;
    if (WRAPPERS.has(def.type) && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else if (def.type === 'lazy' && def.getter) s = def.getter();
    else break;
  }
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

function step(schema: SchemaLike, path: readonly PathSegment[], depth: number): SchemaLike | undefined {
  if (path.length === 0) return schema;
  if (depth > 64) return undefined;
  const [segment, ...rest] = path;
  const def: SchemaDef = unwrap(schema)._zod.def;
  let next: SchemaLike | undefined;
  if (def.type === 'object' && typeof segment === 'string') next = def.shape?.[segment];
  else if (def.type === 'array' && typeof segment === 'number') next = def.element;
  else if (def.type === 'record') next = def.valueType;
  else if (def.type === 'union') {
    // The first form the path fits (a field type: a scalar name, { enum }, or { list }).
    for (const option of def.options ?? []) {
      const found = step(option, path, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  return next ? step(next, rest, depth + 1) : undefined;
}

/** The schema that validates the value at `path`, or undefined when the path leaves the schema. */
export function schemaAt(root: z.ZodType, path: readonly PathSegment[]): SchemaLike | undefined {
  return step(root as unknown as SchemaLike, path, 0);
}

/** The schema of the keys of the record at `path` (the path of the record itself). */
function recordKeySchema(root: z.ZodType, path: readonly PathSegment[]): SchemaLike | undefined {
  const s = schemaAt(root, path);
  const def = s ? unwrap(s)._zod.def : undefined;
  return def?.type === 'record' ? def.keyType : undefined;
}

export function objectKeys(schema: SchemaLike | undefined): string[] {
  const def = schema ? unwrap(schema)._zod.def : undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function enumValues(schema: SchemaLike | undefined): string[] | undefined {
  const def = schema ? unwrap(schema)._zod.def : undefined;
  return def?.type === 'enum' && def.entries ? Object.values(def.entries).map(String) : undefined;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', array: 'a list',
  object: 'a mapping', record: 'a mapping', null: 'an empty value', bigint: 'a whole number', date: 'a date',
};

/** A value type in words: `a list`, `true or false`. */
function typeWords(type: string): string {
  return TYPE_WORDS[type] ?? `a value of type ${type}`;
}

/** What the schema at a path expects, in words. */
export function expectedText(schema: SchemaLike | undefined, fallback: string, depth = 0): string {
  if (!schema) return fallback;
  const description = descriptionOf(schema);
  if (description) return description;
  const values = enumValues(schema);
  if (values) return `one of ${values.join(', ')}`;
  const keys = objectKeys(schema);
  if (keys.length > 0) return `a mapping with keys ${keys.join(', ')}`;
  const def = unwrap(schema)._zod.def;
  if (def.type === 'literal' && def.values) return def.values.map((v) => JSON.stringify(v)).join(' or ');
  if (def.type === 'union' && def.options && depth < 3) {
    return [...new Set(def.options.map((o) => expectedText(o, typeWords(unwrap(o)._zod.def.type), depth + 1)))].join(', or ');
  }
  return fallback;
}

/** True for zod's own default wording, which is never shown; a message written in our schemas is. */
function isLibraryText(message: string): boolean {
  return /^(Invalid|Too (small|big)|Expected|Unrecognized|Required)\b/.test(message) || /[<>]=?\d|\/\^/.test(message);
}

/** A size or range limit in words, from a too_small or too_big issue. */
function limitText(issue: { code: 'too_small' | 'too_big'; origin?: string; inclusive?: boolean; minimum?: unknown; maximum?: unknown }): string {
  const small = issue.code === 'too_small';
  const bound = String(small ? issue.minimum : issue.maximum);
  const atLeast = small ? 'at least' : 'at most';
  switch (issue.origin) {
    case 'array':
    case 'set':
      return `a list of ${atLeast} ${bound} item${bound === '1' ? '' : 's'}`;
    case 'string':
      return `a string of ${atLeast} ${bound} character${bound === '1' ? '' : 's'}`;
    case 'number':
    case 'int':
    case 'bigint':
      return `a number ${small ? (issue.inclusive === false ? '>' : '>=') : (issue.inclusive === false ? '<' : '<=')} ${bound}`;
    default:
      return `a value of ${atLeast} ${bound}`;
  }
}

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let v = raw;
  for (const segment of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[String(segment)];
  }
  return v;
}

/** Edit distance (case-insensitive), for "did you mean" on unknown keys. */
export function distance(a: string, b: string): number {
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

/** One zod issue as one or more Problems (one per unknown key), each with a plain sentence of ours. */
export function problemsFromIssue(issue: z.core.$ZodIssue, root: z.ZodType, raw: unknown): Problem[] {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  const schema = schemaAt(root, path);
  const found = valueAt(raw, path);
  const got = describeValue(found);
  const expectedOr = (fallback: string): string => expectedText(schema, fallback);
  const ours = (message: string): string | undefined => (message && !isLibraryText(message) ? message : undefined);
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
      const expected = expectedOr(typeWords(issue.expected));
      if (found === undefined) return [{ path, message: `missing (expected ${expected})` }];
      return [{ path, message: `expected ${expected}, got ${got}` }];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const expected = values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
      if (found === undefined) return [{ path, message: `missing (expected ${expected})` }];
      return [{ path, message: `expected ${expected}, got ${got}` }];
    }
    case 'too_small':
    case 'too_big':
      return [{ path, message: `expected ${expectedOr(ours(issue.message) ?? limitText(issue))}, got ${got}` }];
    case 'invalid_format':
      return [{ path, message: `expected ${expectedOr(ours(issue.message) ?? 'a string in the expected format')}, got ${got}` }];
    case 'not_multiple_of':
      return [{ path, message: `expected ${expectedOr(`a multiple of ${String(issue.divisor)}`)}, got ${got}` }];
    case 'invalid_union':
      if (found === undefined) return [{ path, message: `missing (expected ${expectedOr('a value of another form')})` }];
      return [{ path, message: `expected ${expectedOr('a value of another form')}, got ${got}` }];
    case 'invalid_key': {
      // A key of a mapping whose keys are checked (field names, data kind ids): point at the key.
      const key = path[path.length - 1];
      const keySchema = recordKeySchema(root, path.slice(0, -1));
      return [{ path, at: 'key', message: `key ${describeValue(String(key))} is not allowed here (expected ${expectedText(keySchema, 'a different key')})` }];
    }
    case 'invalid_element':
      return [{ path, message: `expected ${expectedOr('a value of another form')}, got ${got}` }];
    case 'custom':
      return [{ path, message: ours(issue.message) ?? `expected ${expectedOr('a different value')}, got ${got}` }];
    default:
      return [{ path, message: `expected ${expectedOr('a different value')}, got ${got}` }];
  }
}
