/**
 * One recipe compiled: how a record of a kind is made from a context (a received record, or a
 * generator's event number) by the let values and fields of a topology file. Every expression is
 * parsed and type-checked against the variables it will see before anything runs, and every field
 * of the kind made must be set or copied from the input, so a landscape that loads cannot fail at
 * run time for a reason the file could have shown; what is left (a division by zero, a missing map
 * key) is a RecipeError naming the system, the kind and the field.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { PathSegment, Problem } from '../topology/errors.ts';
import type { FieldSpec, FieldValue, RecordRecipe } from '../topology/model.ts';
import { PADDING_FIELD } from '../topology/model.ts';
import { CEL_RESERVED, celErrorText } from './expressions.ts';
import type { RecordKind } from './kinds.ts';
import { celTypeFits, celTypeOf, fieldFromCel, fieldToCel, templateText, ValueError } from './values.ts';

export type Context = Record<string, unknown>;
type Evaluate = (ctx: Context) => unknown;

/** A rule, source or ingress failed on one record at run time. */
export class RecipeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecipeError';
  }
}

/** Splits `a-${x}-${y}` into text and expression parts, braces and quotes inside expressions respected. */
export function templateParts(text: string): ({ text: string } | { expression: string })[] {
  const parts: ({ text: string } | { expression: string })[] = [];
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start < 0) {
      parts.push({ text: text.slice(i) });
      break;
    }
    if (start > i) parts.push({ text: text.slice(i, start) });
    let depth = 1;
    let j = start + 2;
    let quote: string | null = null;
    for (; j < text.length && depth > 0; j++) {
      const ch = text[j];
      if (quote) {
        if (ch === '\\') j++;
        else if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '{') depth++;
      else if (ch === '}') depth--;
    }
    if (depth > 0) throw new ValueError(`"\${" at character ${start + 1} is never closed by "}"`);
    parts.push({ expression: text.slice(start + 2, j - 1) });
    i = j;
  }
  return parts;
}

export interface Variable {
  readonly name: string;
  readonly type: string;
}

/** Declares variables on a fresh child environment; a name the environment refuses is a problem. */
export function declare(env: Environment, vars: readonly Variable[], path: readonly PathSegment[], problems: Problem[]): Set<string> {
  const declared = new Set<string>();
  for (const v of vars) {
    if (CEL_RESERVED.has(v.name) || declared.has(v.name)) continue;
    try {
      env.registerVariable(v.name, v.type);
      declared.add(v.name);
    } catch (err) {
      problems.push({ path, message: `cannot name a value "${v.name}": ${celErrorText(err)} (a constant of that name? rename one of them)` });
    }
  }
  return declared;
}

/** Parses and type-checks one expression; undefined (with a problem) when it does not check. */
function checked(env: Environment, expr: string, path: readonly PathSegment[], problems: Problem[]): { run: Evaluate; type: string } | undefined {
  let result: { valid: boolean; type?: unknown; error?: unknown };
  try {
    result = env.check(expr) as typeof result;
  } catch (err) {
    problems.push({ path, message: `expression ${JSON.stringify(clipText(expr))} does not parse: ${celErrorText(err)}` });
    return undefined;
  }
  if (!result.valid) {
    problems.push({ path, message: `expression ${JSON.stringify(clipText(expr))} is wrong: ${celErrorText(result.error)}` });
    return undefined;
  }
  const parsed = env.parse(expr) as unknown as Evaluate;
  return { run: (ctx) => parsed(ctx), type: String(result.type) };
}

function clipText(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** A value of a file compiled: a literal, one expression, or a template. */
export function compileValue(env: Environment, value: FieldValue, path: readonly PathSegment[], problems: Problem[]): { run: Evaluate; type: string } | undefined {
  if (value.expression === undefined) {
    const lit = value.literal;
    const type = typeof lit === 'string' ? 'string' : typeof lit === 'boolean' ? 'bool' : Number.isInteger(lit) ? 'int' : 'double';
    const celValue = typeof lit === 'number' && Number.isInteger(lit) ? BigInt(lit) : lit;
    return { run: () => celValue, type };
  }
  if (!value.template) return checked(env, value.expression, path, problems);
  let parts: ReturnType<typeof templateParts>;
  try {
    parts = templateParts(value.expression);
  } catch (err) {
    problems.push({ path, message: (err as Error).message });
    return undefined;
  }
  const runs: Evaluate[] = [];
  let ok = true;
  for (const p of parts) {
    if ('text' in p) {
      const t = p.text;
      runs.push(() => t);
    } else {
      const c = checked(env, p.expression, path, problems);
      if (!c) ok = false;
      else runs.push(c.run);
    }
  }
  if (!ok) return undefined;
  return { run: (ctx) => runs.map((r) => templateText(r(ctx))).join(''), type: 'string' };
}

function sameSpec(a: FieldSpec | undefined, b: FieldSpec | undefined): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

interface FieldStep {
  readonly name: string;
  readonly spec: FieldSpec;
  /** Computed: the expression; copied: null. */
  readonly run: Evaluate | null;
}

export interface CompiledRecipe {
  readonly kind: RecordKind;
  /**
   * Makes the record from `ctx` (mutated: let values and fields are added), or null when the
   * recipe's condition is false. `input` is the record fields are copied from.
   */
  make(ctx: Context, input: Record<string, unknown> | null, where: string): Record<string, unknown> | null;
}

/**
 * Compiles a recipe of kind `kind` in `env` (already holding the context's variables). `input` is
 * the kind of the received record (fields not set are copied from it), null for generators.
 */
export function compileRecipe(env: Environment, recipe: RecordRecipe, kind: RecordKind, input: RecordKind | null,
  path: readonly PathSegment[], problems: Problem[], declared: Set<string>, condition?: (env: Environment) => Evaluate | undefined): CompiledRecipe | undefined {
  const before = problems.length;
  const lets: { name: string; run: Evaluate }[] = [];
  for (const l of recipe.let) {
    const at = [...path, 'let', l.name];
    const c = compileValue(env, l.value, at, problems);
    if (!c) continue;
    if (declared.has(l.name)) {
      problems.push({ path: at, at: 'key', message: `"${l.name}" is already a name here (an input field or an earlier value): choose another name` });
      continue;
    }
    declare(env, [{ name: l.name, type: c.type.startsWith('list') || c.type.startsWith('map') ? 'dyn' : c.type }], at, problems);
    declared.add(l.name);
    lets.push({ name: l.name, run: c.run });
  }
  // The condition sees the let values, not the fields.
  const when = condition?.(env);
  const explicit = new Map(recipe.fields.map((f) => [f.name, f]));
  const steps: FieldStep[] = [];
  for (const f of recipe.fields) {
    const at = [...path, 'fields', f.name];
    const spec = kind.typeOf(f.name);
    if (f.name === PADDING_FIELD && kind.spec.payload) {
      problems.push({ path: at, at: 'key', message: `"${PADDING_FIELD}" is filled in automatically for kinds with payloadBytes; do not set it` });
      continue;
    }
    if (!spec) {
      problems.push({ path: at, at: 'key', message: `kind "${kind.id}" has no field "${f.name}" (fields: ${kind.spec.fields.map((x) => x.name).join(', ')})` });
      continue;
    }
    const c = compileValue(env, f.value, at, problems);
    if (!c) continue;
    if (!celTypeFits(c.type, spec)) {
      problems.push({ path: at, message: `field "${f.name}" of kind "${kind.id}" is ${celTypeOf(spec)}${spec.type === 'enum' ? ` (one of ${spec.values.join(', ')})` : ''}, but this gives ${c.type}${spec.type === 'int' && c.type === 'double' ? ' (use round(), floor() or ceil())' : ''}` });
      continue;
    }
    if (declared.has(f.name)) {
      const inputSpec = input?.typeOf(f.name);
      if (inputSpec && !sameSpec(inputSpec, spec)) {
        problems.push({ path: at, at: 'key', message: `field "${f.name}" of kind "${kind.id}" (${celTypeOf(spec)}) has the name of input field "${f.name}" of kind "${input!.id}" of another type (${celTypeOf(inputSpec)}): expressions below would see either` });
        continue;
      }
    } else {
      declare(env, [{ name: f.name, type: celTypeOf(spec) }], at, problems);
      declared.add(f.name);
    }
    steps.push({ name: f.name, spec, run: c.run });
  }
  for (const f of kind.spec.fields) {
    if (explicit.has(f.name)) continue;
    const inputSpec = input?.typeOf(f.name);
    if (!input) {
      problems.push({ path: [...path, 'fields'], message: `field "${f.name}" of kind "${kind.id}" is not set (expected ${f.name}: a value or \${expression})` });
    } else if (!inputSpec) {
      problems.push({ path: [...path, 'fields'], message: `field "${f.name}" of kind "${kind.id}" is not set, and the input kind "${input.id}" has no field "${f.name}" to copy (expected ${f.name}: a value or \${expression})` });
    } else if (!sameSpec(inputSpec, f.spec)) {
      problems.push({ path: [...path, 'fields'], message: `field "${f.name}" of kind "${kind.id}" is not set, and input field "${f.name}" of kind "${input.id}" has another type (${celTypeOf(inputSpec)}, expected ${celTypeOf(f.spec)}): set it explicitly` });
    } else {
      steps.push({ name: f.name, spec: f.spec, run: null });
    }
  }
  if (problems.length > before) return undefined;
  const order = kind.spec.fields.map((f) => f.name);
  return {
    kind,
    make(ctx, inputRecord, where) {
      for (const l of lets) ctx[l.name] = evaluate(l.run, ctx, `${where}, let ${l.name}`);
      if (when && evaluate(when, ctx, `${where}, when`) !== true) return null;
      const values: Record<string, unknown> = {};
      for (const s of steps) {
        if (s.run === null) {
          values[s.name] = structuredClone(inputRecord![s.name]);
          continue;
        }
        const v = evaluate(s.run, ctx, `${where}, field ${s.name}`);
        try {
          values[s.name] = fieldFromCel(s.spec, v, `${where}, field ${s.name}`);
        } catch (err) {
          throw new RecipeError((err as Error).message);
        }
        ctx[s.name] = fieldToCel(s.spec, values[s.name]);
      }
      const out: Record<string, unknown> = {};
      for (const name of order) out[name] = values[name];
      kind.pad(out);
      const v = kind.validate(out);
      if (!v.ok) throw new RecipeError(`${where}: the record made is not a valid ${kind.id}: ${v.reason}`);
      return v.record;
    },
  };
}

export function evaluate(run: Evaluate, ctx: Context, where: string): unknown {
  try {
    return run(ctx);
  } catch (err) {
    if (err instanceof RecipeError) throw err;
    throw new RecipeError(`${where}: ${celErrorText(err)}`);
  }
}

/** The variables a received record gives: its fields (by declared type) and `input`. */
export function inputVariables(kind: RecordKind): Variable[] {
  return [
    ...kind.spec.fields.map((f) => ({ name: f.name, type: celTypeOf(f.spec) })),
    ...(kind.spec.payload ? [{ name: PADDING_FIELD, type: 'string' }] : []),
    { name: 'input', type: 'map<string, dyn>' },
  ];
}

/** The context of a received record: its fields for CEL, and the whole record as `input`. */
export function inputContext(kind: RecordKind, record: Record<string, unknown>): Context {
  const ctx: Context = kind.toCel(record);
  ctx.input = { ...ctx };
  return ctx;
}
