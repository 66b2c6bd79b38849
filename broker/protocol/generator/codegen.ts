// Shared emitter plumbing: an indenting code builder, per-module import tracking, and the
// wire-level decisions (compact or classic, nullable or not, minimum sizes) both codecs need.

import type { ElementType, FieldSpec, MessageSpec, PrimitiveName, StructSpec } from './schema.ts';
import { contains, intersect, isEmpty, listVersions, versionCondition, type VersionRange } from './versions.ts';

export class Code {
  private readonly output: string[] = [];
  private depth = 0;

  line(text = ''): this {
    this.output.push(text === '' ? '' : '  '.repeat(this.depth) + text);
    return this;
  }

  /** Writes `header` (ending in `{`) and indents until close(). */
  open(header: string): this {
    this.line(header);
    this.depth++;
    return this;
  }

  /** Writes a line at the enclosing level and stays indented, e.g. `} else {`. */
  middle(text: string): this {
    this.depth--;
    this.line(text);
    this.depth++;
    return this;
  }

  close(footer = '}'): this {
    this.depth--;
    return this.line(footer);
  }

  /** Appends another builder's lines at the current indentation. */
  append(other: Code): this {
    for (const text of other.output) this.line(text);
    return this;
  }

  /** The lines written so far, indented relative to this builder's base level. */
  get lines(): readonly string[] {
    return this.output;
  }

  toString(): string {
    return this.output.join('\n') + '\n';
  }
}

/** `version`, or `_version` when the function body never reads it (keeps the lint clean). */
export function versionParam(body: Code): string {
  return body.lines.some((line) => /\bversion\b/.test(line)) ? 'version' : '_version';
}

/** Names a generated module imports from ../wire.ts. */
export class Imports {
  readonly values = new Set<string>();
  readonly types = new Set<string>(['Reader', 'Writer']);

  value(name: string): string {
    this.values.add(name);
    return name;
  }

  type(name: string): string {
    this.types.add(name);
    return name;
  }
}

/** What a field- or element-level emitter needs to know about where it is. */
export interface EmitContext {
  readonly message: MessageSpec;
  readonly struct: StructSpec;
  /** Versions handled by the code being emitted (one flexibility branch of one struct). */
  readonly range: VersionRange;
  readonly flexible: boolean;
  readonly imports: Imports;
}

const RESERVED_LOCALS = new Set([
  'r', 'w', 'msg', 'version', 'i', 'tag', 'tagCount', 'outerEnd', 'mark', 'break', 'case', 'catch', 'class', 'const',
  'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export', 'extends', 'false', 'finally', 'for',
  'function', 'if', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super', 'switch', 'this', 'throw', 'true',
  'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'let', 'static', 'implements', 'interface', 'package',
  'private', 'protected', 'public', 'await',
]);

/** Local variable name for a field's value. */
export function localName(field: FieldSpec): string {
  return RESERVED_LOCALS.has(field.prop) ? `${field.prop}Value` : field.prop;
}

export function capitalize(name: string): string {
  return name[0].toUpperCase() + name.slice(1);
}

/** The versions of `range` in which the field is a normal (untagged) field / a tagged field. */
export function regularIn(field: FieldSpec, range: VersionRange): VersionRange {
  return intersect(field.regularVersions, range);
}

export function taggedIn(field: FieldSpec, range: VersionRange): VersionRange {
  return intersect(field.taggedVersions, range);
}

/** Whether string/bytes encodings are compact, honouring a field-level flexibleVersions override. */
export function isCompact(field: FieldSpec, ctx: EmitContext): boolean {
  if (!ctx.flexible || !field.flexibleOverride) return ctx.flexible;
  const condition = versionCondition(field.flexibleOverride, ctx.range);
  if (condition === null) return true;
  if (condition === false) return false;
  throw new Error(`${ctx.struct.typeName}.${field.prop}: flexibleVersions override splits ${condition}; unsupported`);
}

/** True if the TS type of the field admits null (nullable in some valid version). */
export function isNullableType(field: FieldSpec, struct: StructSpec): boolean {
  if (field.type.kind === 'primitive' && field.type.name === 'records') return true;
  return !isEmpty(intersect(field.nullableVersions, struct.context));
}

/** Condition (within `present`) under which null is allowed on the wire: null = always, false = never. */
export function nullableCondition(field: FieldSpec, present: VersionRange): string | null | false {
  return versionCondition(field.nullableVersions, present);
}

/**
 * Presence marker of a nullable struct, as Kafka's MessageDataGenerator writes it: an INT8 before a
 * regular field (-1 null, 1 present; read: negative = null), an unsigned varint as the payload's
 * first byte inside a tagged field (0 null, 1 present; read: 0 = null).
 */
export function structMarker(tagged: boolean): { writeNull: string; writePresent: string; readIsNull: string } {
  return tagged
    ? { writeNull: 'w.writeUnsignedVarint(0);', writePresent: 'w.writeUnsignedVarint(1);', readIsNull: 'r.readUnsignedVarint() === 0' }
    : { writeNull: 'w.writeInt8(-1);', writePresent: 'w.writeInt8(1);', readIsNull: 'r.readInt8() < 0' };
}

export function typeArgs(struct: StructSpec, recordsType: string): string {
  return struct.hasRecords ? `<${recordsType}>` : '';
}

const FIXED_SIZE_BYTES: Partial<Record<PrimitiveName, number>> = {
  bool: 1, int8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, float64: 8, uuid: 16,
};

/** Smallest encoding of one value of a primitive (null where allowed counts as its length prefix). */
function minPrimitiveBytes(name: PrimitiveName, compact: boolean): number {
  const fixed = FIXED_SIZE_BYTES[name];
  if (fixed !== undefined) return fixed;
  if (name === 'string') return compact ? 1 : 2;
  return compact ? 1 : 4; // bytes, records
}

/** Smallest encoding of a struct at one version. */
function minStructBytesAt(struct: StructSpec, version: number, message: MessageSpec): number {
  const flexible = contains(message.flexibleVersions, version);
  let total = flexible ? 1 : 0; // tag buffer
  for (const field of struct.fields) {
    if (!contains(field.regularVersions, version)) continue;
    if (field.type.kind === 'array') total += flexible ? 1 : 4;
    else if (field.type.kind === 'struct') {
      // A nullable struct can be just its INT8 null marker.
      total += contains(field.nullableVersions, version) ? 1 : minStructBytesAt(field.type.struct, version, message);
    }
    else total += minPrimitiveBytes(field.type.name, flexible && !(field.flexibleOverride && !contains(field.flexibleOverride, version)));
  }
  return total;
}

/** Lower bound on one array element's size over `range`, used to reject impossible counts before allocating. */
export function minElementBytes(element: ElementType, ctx: EmitContext, what: string): number {
  if (element.kind === 'primitive') return minPrimitiveBytes(element.name, ctx.flexible);
  const range = intersect(ctx.range, element.struct.context);
  let min = Infinity;
  for (const version of listVersions(range)) min = Math.min(min, minStructBytesAt(element.struct, version, ctx.message));
  if (!(min >= 1)) throw new Error(`${what}: elements can encode to 0 bytes; cannot bound array counts`);
  return min;
}

/** Reader method for a primitive (records are read like nullable bytes: a view of the input). */
export function readMethod(name: PrimitiveName, compact: boolean, nullable: boolean): string {
  switch (name) {
    case 'bool': return 'readBool';
    case 'int8': return 'readInt8';
    case 'int16': return 'readInt16';
    case 'uint16': return 'readUInt16';
    case 'int32': return 'readInt32';
    case 'uint32': return 'readUInt32';
    case 'int64': return 'readInt64';
    case 'float64': return 'readFloat64';
    case 'uuid': return 'readUuid';
    case 'string': return `read${compact ? 'Compact' : ''}${nullable ? 'Nullable' : ''}String`;
    case 'bytes':
    case 'records':
      return `read${compact ? 'Compact' : ''}${nullable ? 'Nullable' : ''}Bytes`;
  }
}

/** Writer method for a primitive other than records. */
export function writeMethod(name: PrimitiveName, compact: boolean, nullable: boolean): string {
  return 'write' + readMethod(name, compact, nullable).slice('read'.length);
}
