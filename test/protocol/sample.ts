// Builds sample messages from the generated field descriptions (generated/schemas.ts), and the
// value a decoder must return for them at a given version. Defaults are computed here from the
// raw schema attributes, independently of the generator's own default handling.

import * as protocol from '../../broker/protocol/generated/index.ts';
import type { FieldDescription, MessageDescription, VersionSpan } from '../../broker/protocol/generated/schemas.ts';
import type { Reader, Writer } from '../../broker/protocol/wire.ts';

export type Decode = (r: Reader, version: number) => unknown;
export type Encode = (w: Writer, msg: unknown, version: number) => void;

export function codecOf(name: string): { decode: Decode; encode: Encode } {
  const exports = protocol as unknown as Record<string, unknown>;
  const decode = exports[`decode${name}`];
  const encode = exports[`encode${name}`];
  if (typeof decode !== 'function' || typeof encode !== 'function') throw new Error(`no codec exported for ${name}`);
  return { decode: decode as Decode, encode: encode as Encode };
}

export function versionsOf(message: MessageDescription): number[] {
  const versions: number[] = [];
  for (let v = message.validVersions[0]; v <= message.validVersions[1]; v++) versions.push(v);
  return versions;
}

export function inSpan(span: VersionSpan | undefined, version: number): boolean {
  return span !== undefined && span !== null && version >= span[0] && version <= span[1];
}

function parseInteger(raw: string | number): number {
  if (typeof raw === 'number') return raw;
  const hex = /^(-?)0x([0-9a-f]+)$/i.exec(raw.trim());
  return hex ? (hex[1] ? -1 : 1) * parseInt(hex[2], 16) : Number(raw);
}

/** The value of an absent field: the schema default, else 0 / '' / null if nullable / [] / false / zero uuid / empty bytes. */
export function defaultOf(field: FieldDescription): unknown {
  const raw = field.default;
  const nullable = field.nullableVersions !== undefined || field.type === 'records';
  if (field.type.startsWith('[]')) return raw === 'null' ? null : [];
  switch (field.type) {
    case 'struct':
      if (raw === 'null') return null;
      return Object.fromEntries((field.fields ?? []).map((f) => [f.name, defaultOf(f)]));
    case 'bool':
      return raw === 'true' || raw === true;
    case 'string':
      if (raw === 'null' || (raw === undefined && nullable)) return null;
      return raw === undefined ? '' : String(raw);
    case 'bytes':
      return raw === 'null' || (raw === undefined && nullable) ? null : Buffer.alloc(0);
    case 'records':
      return null;
    case 'uuid':
      return Buffer.alloc(16);
    default:
      return raw === undefined ? 0 : parseInteger(raw as string | number);
  }
}

export type SampleMode = 'values' | 'nulls';

interface Sample {
  /** What is given to the encoder (absent fields carry non-default values, which must be ignored). */
  input: unknown;
  /** What the decoder must return. */
  expected: unknown;
}

/** Deterministic non-default values of every type. */
export class SampleBuilder {
  private counter = 0;

  constructor(private readonly mode: SampleMode) {}

  private next(): number {
    return ++this.counter;
  }

  private scalar(type: string, field: FieldDescription): unknown {
    const n = this.next();
    const defaultValue = defaultOf({ ...field, type });
    let value: unknown;
    switch (type) {
      case 'bool': return !(defaultValue as boolean);
      case 'int8': value = (n % 200) - 100; break;
      case 'int16': value = -((n * 97) % 30000) - 2; break;
      case 'uint16': value = 40000 + n; break;
      case 'int32': value = n % 2 === 0 ? 2_000_000_000 - n : -(n * 100_003); break;
      case 'uint32': value = 3_000_000_000 + n; break;
      case 'int64': value = n % 2 === 0 ? 2 ** 50 + n : -(2 ** 40) - n; break;
      case 'float64': value = n + 0.25; break;
      case 'string': return `s${n}-é`;
      case 'bytes': return Buffer.from([n & 0xff, 0xab, 0xcd]);
      case 'uuid': return Buffer.from(Array.from({ length: 16 }, (_, i) => (n + i) & 0xff));
      case 'records': return Buffer.from(`records-${n}`);
      default: throw new Error(`unknown type ${type}`);
    }
    return value === defaultValue ? (value as number) + 1 : value;
  }

  /** Encoder input and decoder expectation for one struct at `version`. */
  struct(fields: readonly FieldDescription[], version: number, present: boolean): Sample {
    const input: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const field of fields) {
      const fieldPresent = present && inSpan(field.versions, version);
      const sample = this.field(field, version, fieldPresent);
      input[field.name] = sample.input;
      expected[field.name] = fieldPresent ? sample.expected : defaultOf(field);
    }
    return { input, expected };
  }

  private field(field: FieldDescription, version: number, present: boolean): Sample {
    if (present && this.mode === 'nulls' && inSpan(field.nullableVersions, version)) return { input: null, expected: null };
    const isArray = field.type.startsWith('[]');
    const elementType = isArray ? field.type.slice(2) : field.type;
    const element = (): Sample => {
      if (elementType === 'struct') return this.struct(field.fields ?? [], version, present);
      const value = this.scalar(elementType, field);
      return { input: value, expected: value };
    };
    if (isArray) {
      const items = [element(), element()];
      return { input: items.map((s) => s.input), expected: items.map((s) => s.expected) };
    }
    if (elementType === 'records' && this.counter % 2 === 0) {
      const parts = [Buffer.from('batch-a'), Buffer.from('batch-b')];
      this.next();
      return { input: parts, expected: Buffer.concat(parts) };
    }
    return element();
  }
}

/** A sample of a whole message at one version. */
export function sampleMessage(message: MessageDescription, version: number, mode: SampleMode): Sample {
  return new SampleBuilder(mode).struct(message.fields, version, true);
}
