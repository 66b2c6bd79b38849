/**
 * Values across the boundary between records (JSON: numbers are doubles) and CEL (integers are
 * BigInt, doubles are numbers). Going in, a field's declared type decides; constants have none, so
 * a whole number becomes an int there. Coming out, the declared type of the field set decides, and
 * a value that cannot be that type is an error naming the field.
 */
import type { FieldSpec, ScalarField } from '../topology/model.ts';

/** A constant (or any untyped value) for CEL: whole numbers become ints. */
export function constantToCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(constantToCel);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, constantToCel(x)]));
  return v;
}

function scalarToCel(spec: ScalarField, v: unknown): unknown {
  if (spec.type === 'int' && typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (spec.type === 'number' && typeof v === 'bigint') return Number(v);
  return v;
}

/** A record field for CEL, by its declared type. */
export function fieldToCel(spec: FieldSpec | undefined, v: unknown): unknown {
  if (!spec) return constantToCel(v);
  if (spec.type !== 'list') return scalarToCel(spec, v);
  if (!Array.isArray(v)) return v;
  return v.map((e) => {
    if (e === null || typeof e !== 'object') return e;
    const out: Record<string, unknown> = {};
    for (const f of spec.fields) if (f.name in (e as object)) out[f.name] = scalarToCel(f.spec, (e as Record<string, unknown>)[f.name]);
    return out;
  });
}

export class ValueError extends Error {}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'bigint') return `the int ${v}`;
  if (typeof v === 'object') return 'a map';
  return `${typeof v === 'string' ? 'the string' : `the ${typeof v}`} ${JSON.stringify(v)?.slice(0, 40)}`;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return undefined;
    return Number(v);
  }
  return typeof v === 'number' ? v : undefined;
}

function scalarFromCel(spec: ScalarField, v: unknown, where: string): unknown {
  switch (spec.type) {
    case 'string':
    case 'enum':
      if (typeof v !== 'string') throw new ValueError(`${where}: expected a string, got ${describe(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new ValueError(`${where}: expected true or false, got ${describe(v)}`);
      return v;
    case 'int': {
      const n = toNumber(v);
      if (n === undefined || !Number.isInteger(n)) throw new ValueError(`${where}: expected a whole number (int), got ${describe(v)}${typeof v === 'number' ? ' (use round(), floor() or ceil())' : ''}`);
      return n;
    }
    case 'number': {
      const n = toNumber(v);
      if (n === undefined || !Number.isFinite(n)) throw new ValueError(`${where}: expected a number, got ${describe(v)}`);
      return n;
    }
  }
}

/** A CEL result as the JSON value of a field of type `spec`. */
export function fieldFromCel(spec: FieldSpec, v: unknown, where: string): unknown {
  if (spec.type !== 'list') return scalarFromCel(spec, v, where);
  const list = v instanceof Set ? [...v] : v;
  if (!Array.isArray(list)) throw new ValueError(`${where}: expected a list, got ${describe(v)}`);
  return list.map((e, i) => {
    const entry = e instanceof Map ? Object.fromEntries(e) : e;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new ValueError(`${where}[${i}]: expected a map of ${spec.fields.map((f) => f.name).join(', ')}, got ${describe(entry)}`);
    const out: Record<string, unknown> = {};
    for (const f of spec.fields) {
      if (!(f.name in entry)) throw new ValueError(`${where}[${i}]: missing ${f.name}`);
      out[f.name] = scalarFromCel(f.spec, (entry as Record<string, unknown>)[f.name], `${where}[${i}].${f.name}`);
    }
    const extra = Object.keys(entry).filter((k) => !spec.fields.some((f) => f.name === k));
    if (extra.length > 0) throw new ValueError(`${where}[${i}]: unknown ${extra.join(', ')} (expected ${spec.fields.map((f) => f.name).join(', ')})`);
    return out;
  });
}

/** A value in a template string: ints and doubles as numbers are written. */
export function templateText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  throw new ValueError(`a ${Array.isArray(v) ? 'list' : 'map'} cannot be written into text`);
}

/** The CEL type name of a declared field, for type checks and variable declarations. */
export function celTypeOf(spec: FieldSpec | undefined): string {
  if (!spec) return 'dyn';
  switch (spec.type) {
    case 'string':
    case 'enum':
      return 'string';
    case 'int':
      return 'int';
    case 'number':
      return 'double';
    case 'bool':
      return 'bool';
    case 'list':
      return 'list<map<string, dyn>>';
  }
}

/** Can a checked expression type be stored in a field of `spec`? */
export function celTypeFits(type: string, spec: FieldSpec): boolean {
  if (type === 'dyn' || type.startsWith('dyn')) return true;
  switch (spec.type) {
    case 'string':
    case 'enum':
      return type === 'string';
    case 'int':
      return type === 'int' || type === 'uint';
    case 'number':
      return type === 'double' || type === 'int' || type === 'uint';
    case 'bool':
      return type === 'bool';
    case 'list':
      return type.startsWith('list');
  }
}
