// Emits TypeScript interfaces, default values, default factories (defaultXxx) and the
// isDefaultXxx checks used to decide whether a tagged struct field is written.

import { type Code, type Imports, isNullableType, typeArgs } from './codegen.ts';
import type { ElementType, FieldSpec, MessageSpec, PrimitiveName, StructSpec } from './schema.ts';
import { format, intersect, isEmpty } from './versions.ts';

const INT_RANGES: Partial<Record<PrimitiveName, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-(2 ** 63), 2 ** 63],
};

function primitiveType(name: PrimitiveName, recordsType: string): string {
  switch (name) {
    case 'bool': return 'boolean';
    case 'string': return 'string';
    case 'bytes':
    case 'uuid':
      return 'Buffer';
    case 'records': return recordsType;
    default: return 'number';
  }
}

export function elementTsType(element: ElementType, recordsType: string): string {
  if (element.kind === 'primitive') return primitiveType(element.name, recordsType);
  return element.struct.typeName + typeArgs(element.struct, recordsType);
}

/** TS type of a field; `recordsType` fills the records type parameter ('R' in declarations, 'Buffer' for decoded values). */
export function fieldTsType(field: FieldSpec, struct: StructSpec, recordsType: string): string {
  const base = field.type.kind === 'array' ? `${elementTsType(field.type.element, recordsType)}[]` : elementTsType(field.type, recordsType);
  return isNullableType(field, struct) ? `${base} | null` : base;
}

function parseIntegerDefault(raw: string | number, name: PrimitiveName, what: string): string {
  let value: number;
  if (typeof raw === 'number') value = raw;
  else {
    const text = raw.trim();
    const hex = /^(-?)0x([0-9a-f]+)$/i.exec(text);
    value = hex ? (hex[1] ? -1 : 1) * parseInt(hex[2], 16) : Number(text);
  }
  const [min, max] = INT_RANGES[name] ?? [-Infinity, Infinity];
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${what}: bad ${name} default ${raw}`);
  return String(value);
}

/** Expression for the field's default value (used when the field is absent in a version). */
export function defaultValueCode(field: FieldSpec, struct: StructSpec, imports: Imports): string {
  const what = `${struct.typeName}.${field.prop}`;
  const raw = field.rawDefault;
  const nullable = isNullableType(field, struct);
  if (raw === 'null' && !nullable) throw new Error(`${what}: default null on a non-nullable field`);
  if (field.type.kind === 'array') {
    if (raw !== undefined && raw !== 'null' && raw !== '') throw new Error(`${what}: arrays only support a null default`);
    return raw === 'null' ? 'null' : '[]';
  }
  if (field.type.kind === 'struct') {
    if (raw === 'null') return 'null';
    if (raw !== undefined) throw new Error(`${what}: a struct field only takes the default "null", got ${String(raw)}`);
    return `default${field.type.struct.typeName}()`;
  }
  const name = field.type.name;
  switch (name) {
    case 'bool':
      if (raw === undefined || raw === 'false' || raw === false) return 'false';
      if (raw === 'true' || raw === true) return 'true';
      throw new Error(`${what}: bad bool default ${String(raw)}`);
    case 'float64':
      return raw === undefined ? '0' : String(Number(raw));
    case 'string':
      if (raw === 'null' || (raw === undefined && nullable)) return 'null';
      return JSON.stringify(raw === undefined ? '' : String(raw));
    case 'bytes':
      if (raw === 'null' || (raw === undefined && nullable)) return 'null';
      if (raw !== undefined) throw new Error(`${what}: bytes only support a null default`);
      return imports.value('EMPTY_BUFFER');
    case 'records':
      return 'null';
    case 'uuid':
      if (raw !== undefined) throw new Error(`${what}: uuid defaults are not supported`);
      return imports.value('ZERO_UUID');
    default:
      if (typeof raw === 'boolean') throw new Error(`${what}: bad ${name} default ${String(raw)}`);
      return raw === undefined ? '0' : parseIntegerDefault(raw, name, what);
  }
}

/** Expression that is true when `value` equals the field's default (Kafka writes tagged fields only otherwise). */
export function isDefaultCode(field: FieldSpec, struct: StructSpec, value: string, imports: Imports): string {
  const defaultCode = defaultValueCode(field, struct, imports);
  const nullable = isNullableType(field, struct);
  if (field.type.kind === 'struct') {
    if (defaultCode === 'null') return `${value} === null`;
    const check = `isDefault${field.type.struct.typeName}(${value})`;
    return nullable ? `${value} !== null && ${check}` : check;
  }
  if (field.type.kind === 'array' || (field.type.kind === 'primitive' && field.type.name === 'bytes')) {
    if (defaultCode === 'null') return `${value} === null`;
    return nullable ? `${value} !== null && ${value}.length === 0` : `${value}.length === 0`;
  }
  if (field.type.name === 'uuid') return `${imports.value('isZeroUuid')}(${value})`;
  return `${value} === ${defaultCode}`;
}

/** Negation of isDefaultCode, written without a leading `!(...)` where possible. */
export function isNotDefaultCode(field: FieldSpec, struct: StructSpec, value: string, imports: Imports): string {
  const defaultCode = defaultValueCode(field, struct, imports);
  const nullable = isNullableType(field, struct);
  if (field.type.kind === 'struct') {
    if (defaultCode === 'null') return `${value} !== null`;
    const check = `!isDefault${field.type.struct.typeName}(${value})`;
    return nullable ? `(${value} === null || ${check})` : check;
  }
  if (field.type.kind === 'array' || (field.type.kind === 'primitive' && field.type.name === 'bytes')) {
    if (defaultCode === 'null') return `${value} !== null`;
    return nullable ? `(${value} === null || ${value}.length !== 0)` : `${value}.length !== 0`;
  }
  if (field.type.name === 'uuid') return `!${imports.value('isZeroUuid')}(${value})`;
  return `${value} !== ${defaultCode}`;
}

function versionNote(field: FieldSpec, struct: StructSpec): string {
  const notes = [`versions ${format(intersect(field.versions, struct.context))}`];
  const nullable = intersect(field.nullableVersions, struct.context);
  if (!isEmpty(nullable)) notes.push(`nullable ${format(nullable)}`);
  const tagged = intersect(field.taggedVersions, struct.context);
  if (!isEmpty(tagged)) notes.push(`tag ${field.tag} in ${format(tagged)}`);
  if (field.rawDefault !== undefined) notes.push(`default ${String(field.rawDefault)}`);
  return notes.join(', ');
}

function docComment(code: Code, about: string | undefined, note: string): void {
  const text = (about ? `${about.trim()} ` : '') + `(${note})`;
  code.line(`/** ${text.replace(/\*\//g, '*\\/')} */`);
}

/**
 * Type parameter list of a struct with records. R defaults to what the broker handles: `Buffer`
 * for requests (which it decodes), RecordsInput for responses (which it encodes).
 */
function typeParams(struct: StructSpec, message: MessageSpec, imports: Imports): string {
  if (!struct.hasRecords) return '';
  return `<R extends ${imports.type('RecordsInput')} = ${message.kind === 'request' ? 'Buffer' : 'RecordsInput'}>`;
}

export function emitInterface(code: Code, message: MessageSpec, struct: StructSpec, imports: Imports): void {
  const where = struct === message.root ? `${message.name}, versions ${format(message.validVersions)}` : `${struct.origin} (versions ${format(struct.context)})`;
  const records = struct.hasRecords
    ? ' Records are `Buffer | null` when decoded (views of the input); encoding also accepts a list of buffers, written by reference.'
    : '';
  code.line(`/** ${where}.${records} */`);
  code.open(`export interface ${struct.typeName}${typeParams(struct, message, imports)} {`);
  for (const field of struct.fields) {
    docComment(code, field.about, versionNote(field, struct));
    code.line(`${field.prop}: ${fieldTsType(field, struct, 'R')};`);
  }
  code.close();
  code.line();
}

export function emitDefaultFactory(code: Code, message: MessageSpec, struct: StructSpec, imports: Imports): void {
  const type = struct.typeName + typeArgs(struct, 'R');
  code.line(`/** A ${struct.typeName} with every field at its schema default. */`);
  code.open(`export function default${struct.typeName}${typeParams(struct, message, imports)}(): ${type} {`);
  code.open('return {');
  for (const field of struct.fields) code.line(`${field.prop}: ${defaultValueCode(field, struct, imports)},`);
  code.close('};');
  code.close();
  code.line();
}

/**
 * Structs that need an isDefaultXxx function: those of tagged struct fields, and their struct fields,
 * except struct fields whose default is null (compared with === null).
 */
export function structsNeedingIsDefault(message: MessageSpec): Set<StructSpec> {
  const needed = new Set<StructSpec>();
  const comparedStruct = (field: FieldSpec): StructSpec | null =>
    field.type.kind === 'struct' && field.rawDefault !== 'null' ? field.type.struct : null;
  const add = (struct: StructSpec | null): void => {
    if (struct === null || needed.has(struct)) return;
    needed.add(struct);
    for (const field of struct.fields) add(comparedStruct(field));
  };
  for (const struct of message.structs) {
    for (const field of struct.fields) if (field.tag !== undefined) add(comparedStruct(field));
  }
  return needed;
}

export function emitIsDefault(code: Code, struct: StructSpec, imports: Imports): void {
  const type = struct.typeName + (struct.hasRecords ? `<${imports.type('RecordsInput')}>` : '');
  const checks = struct.fields.map((field) => isDefaultCode(field, struct, `value.${field.prop}`, imports));
  code.open(`function isDefault${struct.typeName}(value: ${type}): boolean {`);
  code.line(`return ${checks.length === 0 ? 'true' : checks.join(' &&\n' + '    ')};`);
  code.close();
  code.line();
}
