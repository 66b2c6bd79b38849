/**
 * The records of a landscape, built from its data kinds' field declarations: a validator per kind
 * (a REST body answered 400, a poison message dead-lettered, a corrupt batch line quarantined, all
 * with a reason naming the field), a record's identity and message key, the payload filler, and the
 * conversion of values to and from CEL (whose integers are BigInt). Strings are bounded and free of
 * control characters, and list elements free of the CSV list separators, so every valid record
 * survives every codec unchanged.
 */
import { z } from 'zod';
import type { Problem } from '../topology/errors.ts';
import { PADDING_FIELD, type DataKind, type FieldSpec, type ScalarField, type Topology } from '../topology/model.ts';
import { CEL_RESERVED, celErrorText, hash32, mulberry32, rootEnvironment } from './expressions.ts';
import { celTypeOf, fieldToCel } from './values.ts';

/** A kind's check compiled: its text (for the reason) and the function that runs it. */
interface Check {
  readonly text: string;
  readonly run: (ctx: Record<string, unknown>) => unknown;
}

export const TEXT_CHARS_MAX = 10_000;
/** Characters a list element's text may not hold: the CSV flattening of lists uses them. */
export const LIST_FORBIDDEN = /[|:]/;

export type Validation<T = Record<string, unknown>> = { ok: true; record: T } | { ok: false; reason: string };

const REASON_ISSUES_MAX = 5;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

function scalarSchema(spec: ScalarField, inList: boolean): z.ZodType {
  const text = z.string().max(TEXT_CHARS_MAX, `must be at most ${TEXT_CHARS_MAX} characters`).regex(NO_CONTROL, 'must not contain control characters');
  const listText = inList ? text.refine((s) => !LIST_FORBIDDEN.test(s), 'must not contain ":" or "|" (they separate list entries in CSV)') : text;
  switch (spec.type) {
    case 'string': return listText;
    case 'int': return z.number().int('must be a whole number').min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
    case 'number': return z.number().finite();
    case 'bool': return z.boolean();
    case 'enum': return z.enum(spec.values as [string, ...string[]]);
  }
}

function fieldSchema(spec: FieldSpec): z.ZodType {
  if (spec.type !== 'list') return scalarSchema(spec, false);
  const element = z.strictObject(Object.fromEntries(spec.fields.map((f) => [f.name, scalarSchema(f.spec, true)])));
  return z.array(element).min(spec.min, `must have at least ${spec.min} entries`).max(spec.max, `must have at most ${spec.max} entries`);
}

/** The filler alphabet: the base64 letters, so the text neither compresses to nothing nor needs escaping. */
const FILLER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const FILLER_CHARS = 1 << 17;
let filler: string | null = null;
function fillerText(): string {
  if (filler) return filler;
  const r = mulberry32(0x5eed);
  let s = '';
  for (let i = 0; i < FILLER_CHARS; i++) s += FILLER_ALPHABET[Math.floor(r() * 64)];
  return (filler = s);
}

/** Deterministic filler of `chars` characters, chosen by `id`. */
export function fillerFor(id: string, chars: number): string {
  const f = fillerText();
  let out = '';
  let offset = hash32(id) % FILLER_CHARS;
  while (out.length < chars) {
    const take = Math.min(chars - out.length, FILLER_CHARS - offset);
    out += f.slice(offset, offset + take);
    offset = 0;
  }
  return out;
}

/** One data kind's record handling. */
export class RecordKind {
  readonly id: string;
  readonly key: string;
  readonly schema: z.ZodType<Record<string, unknown>>;
  readonly fieldNames: readonly string[];
  private readonly types: ReadonlyMap<string, FieldSpec>;

  constructor(readonly spec: DataKind, private readonly checks: readonly Check[] = []) {
    this.id = spec.id;
    this.key = spec.key;
    const shape: Record<string, z.ZodType> = Object.fromEntries(spec.fields.map((f) => [f.name, fieldSchema(f.spec)]));
    if (spec.payload) shape[PADDING_FIELD] = z.string().max(2 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*$/, 'must be filler text');
    this.schema = z.strictObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
    this.fieldNames = Object.keys(shape);
    this.types = new Map(spec.fields.map((f) => [f.name, f.spec]));
  }

  /** The declared type of a field (padding is a string). */
  typeOf(field: string): FieldSpec | undefined {
    if (field === PADDING_FIELD && this.spec.payload) return { type: 'string' };
    return this.types.get(field);
  }

  validate(value: unknown): Validation {
    const result = this.schema.safeParse(value);
    if (result.success) return this.checked(result.data);
    const parts = result.error.issues.slice(0, REASON_ISSUES_MAX).map((issue) => {
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(record)';
      return `${where}: ${issue.message}`;
    });
    const more = result.error.issues.length > REASON_ISSUES_MAX ? ` (+${result.error.issues.length - REASON_ISSUES_MAX} more)` : '';
    return { ok: false, reason: `invalid ${this.id}: ${parts.join('; ')}${more}` };
  }

  /** The record's fields as CEL values, by their declared types (what expressions over it see). */
  toCel(record: Record<string, unknown>): Record<string, unknown> {
    const ctx: Record<string, unknown> = {};
    for (const name of this.fieldNames) ctx[name] = fieldToCel(this.typeOf(name), record[name]);
    return ctx;
  }

  /** Runs the kind's checks on a record of the right shape. */
  private checked(record: Record<string, unknown>): Validation {
    if (this.checks.length === 0) return { ok: true, record };
    const ctx = this.toCel(record);
    for (const c of this.checks) {
      let holds: unknown;
      try {
        holds = c.run(ctx);
      } catch (err) {
        return { ok: false, reason: `invalid ${this.id}: check ${JSON.stringify(c.text)} could not be evaluated: ${celErrorText(err)}` };
      }
      if (holds !== true) return { ok: false, reason: `invalid ${this.id}: check ${JSON.stringify(c.text)} does not hold` };
    }
    return { ok: true, record };
  }

  /** The identity of a record within its kind: its identity fields joined by '/'. */
  idOf(record: Record<string, unknown>): string {
    return this.spec.identity.map((f) => String(record[f] ?? '')).join('/');
  }

  keyOf(record: Record<string, unknown>): string {
    return String(record[this.key] ?? '');
  }

  /** The JSON size this record should have (chosen by its id), or null when the kind declares none. */
  targetBytes(id: string): number | null {
    const p = this.spec.payload;
    if (!p) return null;
    if ('bytes' in p) return p.bytes;
    const r = mulberry32(hash32(`${this.id}/${id}`));
    if ('min' in p) return Math.round(p.min + r() * (p.max - p.min));
    // Box-Muller, cut at 1 byte and at twice the mean.
    const g = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.max(1, Math.min(2 * p.mean, Math.round(p.mean + g * p.sd)));
  }

  /** Fills the record up to its target size with padding (no-op for kinds without a payload size). */
  pad(record: Record<string, unknown>): Record<string, unknown> {
    if (!this.spec.payload) return record;
    const id = this.idOf(record);
    const target = this.targetBytes(id)!;
    delete record[PADDING_FIELD];
    const bare = Buffer.byteLength(JSON.stringify(record));
    const overhead = Buffer.byteLength(`,"${PADDING_FIELD}":""`);
    record[PADDING_FIELD] = fillerFor(`${this.id}/${id}`, Math.max(0, target - bare - overhead));
    return record;
  }
}

/** Every data kind of a topology, by id. */
export class RecordKinds {
  private readonly byId: ReadonlyMap<string, RecordKind>;

  /**
   * Compiles each kind's checks against its fields and the topology's constants. A check that does
   * not compile is a problem at its place in the file when `problems` is given, an error otherwise.
   */
  constructor(t: Pick<Topology, 'dataKinds'> & { constants?: Topology['constants'] }, problems?: Problem[]) {
    const root = t.dataKinds.some((k) => (k.checks ?? []).length > 0) ? rootEnvironment('rule', t.constants ?? {}) : null;
    this.byId = new Map(t.dataKinds.map((k, ki) => {
      const checks: Check[] = [];
      if (root && k.checks && k.checks.length > 0) {
        const env = root.clone();
        for (const f of k.fields) if (!CEL_RESERVED.has(f.name) && !(t.constants && f.name in t.constants)) env.registerVariable(f.name, celTypeOf(f.spec));
        k.checks.forEach((text, ci) => {
          const fail = (message: string): void => {
            if (!problems) throw new Error(`data kind ${k.id}, check ${ci + 1}: ${message}`);
            problems.push({ path: ['dataKinds', ki, 'checks', ci], message });
          };
          let result: { valid: boolean; type?: unknown; error?: unknown };
          try {
            result = env.check(text) as typeof result;
          } catch (err) {
            return fail(`check ${JSON.stringify(text)} does not parse: ${celErrorText(err)}`);
          }
          if (!result.valid) return fail(`check ${JSON.stringify(text)} is wrong: ${celErrorText(result.error)}`);
          if (String(result.type) !== 'bool' && String(result.type) !== 'dyn') return fail(`check ${JSON.stringify(text)} must give true or false, this gives ${String(result.type)}`);
          const parsed = env.parse(text) as unknown as (ctx: Record<string, unknown>) => unknown;
          checks.push({ text, run: (ctx) => parsed(ctx) });
        });
      }
      return [k.id, new RecordKind(k, checks)];
    }));
  }

  has(kind: string): boolean {
    return this.byId.has(kind);
  }

  get(kind: string): RecordKind {
    const k = this.byId.get(kind);
    if (!k) throw new Error(`unknown data kind "${kind}" (known: ${[...this.byId.keys()].join(', ')})`);
    return k;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Checks `value` as a record of `kind`; an unknown kind is a problem too. */
  validate(kind: string, value: unknown): Validation {
    const k = this.byId.get(kind);
    if (!k) return { ok: false, reason: `unknown data kind "${kind}"` };
    return k.validate(value);
  }

  idOf(kind: string, record: unknown): string {
    return this.get(kind).idOf(record as Record<string, unknown>);
  }

  /** A validator in the shape the transports take: a reason, or undefined when the record is fine. */
  readonly problem = (kind: string, record: unknown): string | undefined => {
    const v = this.validate(kind, record);
    return v.ok ? undefined : v.reason;
  };
}

const cache = new WeakMap<object, RecordKinds>();
/** The RecordKinds of a topology, built once per topology object. */
export function recordKindsOf(t: Pick<Topology, 'dataKinds'> & { constants?: Topology['constants'] }, problems?: Problem[]): RecordKinds {
  let k = cache.get(t);
  if (!k) {
    k = new RecordKinds(t, problems);
    // A kinds object built with problems reported elsewhere is only kept when it compiled cleanly.
    if (!problems || problems.length === 0) cache.set(t, k);
  }
  return k;
}
