// Loads Kafka message schemas (JSON with // comments) and normalises them into the model the
// emitters use: structs with TypeScript names, fields with parsed version ranges and types.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  NO_VERSIONS,
  covers,
  format,
  hull,
  intersect,
  isEmpty,
  parseVersions,
  subtract,
  type VersionRange,
} from './versions.ts';

export type PrimitiveName =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'uuid'
  | 'records';

const PRIMITIVES: ReadonlySet<string> = new Set<PrimitiveName>([
  'bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'uuid', 'records',
]);

export type ElementType = { kind: 'primitive'; name: PrimitiveName } | { kind: 'struct'; struct: StructSpec };
export type FieldType = ElementType | { kind: 'array'; element: ElementType };

/** One field of a schema as written (the subset of attributes the codec uses). */
export interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  default?: string | number | boolean;
  about?: string;
  fields?: RawField[];
}

interface RawMessage {
  apiKey?: number;
  type: 'request' | 'response' | 'header' | 'data';
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: RawField[];
  commonStructs?: { name: string; versions?: string; fields: RawField[] }[];
}

export interface FieldSpec {
  readonly schemaName: string;
  /** Property name in the generated interface (camelCase). */
  readonly prop: string;
  readonly about: string | undefined;
  readonly type: FieldType;
  readonly versions: VersionRange;
  /** Versions in which the field is written as a normal field (versions minus taggedVersions). */
  readonly regularVersions: VersionRange;
  readonly nullableVersions: VersionRange;
  readonly taggedVersions: VersionRange;
  readonly tag: number | undefined;
  /** Field-level flexibleVersions override (only "none" on RequestHeader.ClientId in practice). */
  readonly flexibleOverride: VersionRange | undefined;
  readonly rawDefault: string | number | boolean | undefined;
}

export interface StructSpec {
  /** Interface name, e.g. ProduceRequestTopicData. */
  readonly typeName: string;
  /** Where it appears, e.g. ProduceRequest.topicData[] (for doc comments). */
  readonly origin: string;
  readonly fields: FieldSpec[];
  /** Versions in which the struct is encoded (filled by computeContexts). */
  context: VersionRange;
  /** True if a records field is reachable: the interface then takes a records type parameter. */
  hasRecords: boolean;
}

export interface MessageSpec {
  readonly name: string;
  readonly kind: RawMessage['type'];
  readonly apiKey: number | undefined;
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange;
  readonly root: StructSpec;
  /** Every struct of the message, root first, then in schema (depth-first) order. */
  readonly structs: StructSpec[];
}

/** Removes // comments outside of string literals. */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += ch;
    }
  }
  return out;
}

export function loadMessage(schemaDir: string, messageName: string): MessageSpec {
  const path = join(schemaDir, `${messageName}.json`);
  const raw = JSON.parse(stripJsonComments(readFileSync(path, 'utf8'))) as RawMessage;
  if (raw.name !== messageName) throw new Error(`${path}: name is ${raw.name}, expected ${messageName}`);
  return normaliseMessage(raw);
}

function camelCase(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

/** Field names used by more than one struct-typed field in the message (their types get path names). */
function duplicateStructFieldNames(fields: RawField[]): Set<string> {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  const walk = (list: RawField[]): void => {
    for (const field of list) {
      if (!field.fields) continue;
      if (seen.has(field.name)) duplicates.add(field.name);
      seen.add(field.name);
      walk(field.fields);
    }
  };
  walk(fields);
  return duplicates;
}

function normaliseMessage(raw: RawMessage): MessageSpec {
  const name = raw.name;
  const validVersions = parseVersions(raw.validVersions, `${name}.validVersions`);
  const flexibleVersions = parseVersions(raw.flexibleVersions, `${name}.flexibleVersions`);
  if (isEmpty(validVersions) || validVersions.max === Infinity) throw new Error(`${name}: bad validVersions`);
  const duplicates = duplicateStructFieldNames(raw.fields);
  const commonRaw = new Map((raw.commonStructs ?? []).map((s) => [s.name, s]));
  const commonSpecs = new Map<string, StructSpec>();
  const structs: StructSpec[] = [];

  const makeStruct = (typeName: string, fields: RawField[], path: string[], origin: string): StructSpec => {
    const struct: StructSpec = { typeName, origin, fields: [], context: NO_VERSIONS, hasRecords: false };
    structs.push(struct);
    for (const field of fields) struct.fields.push(normaliseField(field, [...path, field.name]));
    return struct;
  };

  const resolveStruct = (typeName: string, field: RawField, path: string[]): StructSpec => {
    if (field.fields) {
      const tsName = name + (duplicates.has(field.name) ? path.join('') : field.name);
      return makeStruct(tsName, field.fields, path, name + path.map((p) => `.${camelCase(p)}`).join(''));
    }
    const common = commonRaw.get(typeName);
    if (!common) throw new Error(`${name}.${path.join('.')}: unknown type ${typeName}`);
    let spec = commonSpecs.get(typeName);
    if (!spec) {
      spec = makeStruct(name + typeName, common.fields, [typeName], `${name} common struct ${typeName}`);
      commonSpecs.set(typeName, spec);
    }
    return spec;
  };

  const normaliseField = (field: RawField, path: string[]): FieldSpec => {
    const what = `${name}.${path.join('.')}`;
    const versions = parseVersions(field.versions, `${what}.versions`);
    const taggedVersions = intersect(parseVersions(field.taggedVersions, `${what}.taggedVersions`), versions);
    if ((field.tag === undefined) !== isEmpty(taggedVersions)) {
      throw new Error(`${what}: tag and taggedVersions must be given together`);
    }
    const elementName = field.type.startsWith('[]') ? field.type.slice(2) : field.type;
    let element: ElementType;
    if (PRIMITIVES.has(elementName)) {
      if (field.fields) throw new Error(`${what}: primitive type ${elementName} with fields`);
      element = { kind: 'primitive', name: elementName as PrimitiveName };
    } else {
      if (elementName.startsWith('[]')) throw new Error(`${what}: arrays of arrays are not supported`);
      element = { kind: 'struct', struct: resolveStruct(elementName, field, path) };
    }
    const type: FieldType = field.type.startsWith('[]') ? { kind: 'array', element } : element;
    const nullableVersions = intersect(parseVersions(field.nullableVersions, `${what}.nullableVersions`), versions);
    if (type.kind === 'struct' && field.default !== undefined && field.default !== 'null') {
      throw new Error(`${what}: a struct field only takes the default "null" (with nullableVersions), got ${JSON.stringify(field.default)}`);
    }
    if (type.kind === 'primitive' && !isEmpty(nullableVersions) && !['string', 'bytes', 'records'].includes(type.name)) {
      throw new Error(`${what}: type ${type.name} cannot be nullable`);
    }
    const flexibleOverride =
      field.flexibleVersions === undefined ? undefined : parseVersions(field.flexibleVersions, `${what}.flexibleVersions`);
    if (flexibleOverride && !(type.kind === 'primitive' && (type.name === 'string' || type.name === 'bytes'))) {
      throw new Error(`${what}: a field-level flexibleVersions is only supported on string and bytes fields`);
    }
    return {
      schemaName: field.name,
      prop: camelCase(field.name),
      about: field.about,
      type,
      versions,
      regularVersions: subtract(versions, taggedVersions, what),
      nullableVersions,
      taggedVersions,
      tag: field.tag,
      flexibleOverride,
      rawDefault: field.default,
    };
  };

  const root = makeStruct(name, raw.fields, [], name);
  computeContexts(root, validVersions);
  for (const struct of structs) {
    if (isEmpty(struct.context)) throw new Error(`${struct.typeName}: never encoded in ${format(validVersions)}`);
  }
  computeHasRecords(root, new Set());
  for (const struct of structs) checkTags(struct, flexibleVersions, validVersions);
  return { name, kind: raw.type, apiKey: raw.apiKey, validVersions, flexibleVersions, root, structs };
}

function elementOf(type: FieldType): ElementType {
  return type.kind === 'array' ? type.element : type;
}

/** A struct's context is the hull of the versions in which any field referring to it is present. */
function computeContexts(struct: StructSpec, context: VersionRange): void {
  struct.context = hull(struct.context, context);
  for (const field of struct.fields) {
    const element = elementOf(field.type);
    if (element.kind !== 'struct') continue;
    const fieldContext = intersect(field.versions, context);
    if (!isEmpty(fieldContext)) computeContexts(element.struct, fieldContext);
  }
}

function computeHasRecords(struct: StructSpec, visiting: Set<StructSpec>): boolean {
  if (visiting.has(struct)) return struct.hasRecords;
  visiting.add(struct);
  for (const field of struct.fields) {
    const element = elementOf(field.type);
    if (element.kind === 'primitive' && element.name === 'records') struct.hasRecords = true;
    if (element.kind === 'struct' && computeHasRecords(element.struct, visiting)) struct.hasRecords = true;
  }
  return struct.hasRecords;
}

function checkTags(struct: StructSpec, flexibleVersions: VersionRange, validVersions: VersionRange): void {
  const tags = new Set<number>();
  for (const field of struct.fields) {
    if (field.tag === undefined) continue;
    const what = `${struct.typeName}.${field.prop}`;
    if (tags.has(field.tag)) throw new Error(`${what}: duplicate tag ${field.tag}`);
    tags.add(field.tag);
    if (!covers(flexibleVersions, intersect(field.taggedVersions, validVersions))) {
      throw new Error(`${what}: tagged in non-flexible versions`);
    }
    const element = elementOf(field.type);
    if ((element.kind === 'primitive' && element.name === 'records') || (element.kind === 'struct' && element.struct.hasRecords)) {
      throw new Error(`${what}: records inside tagged fields are not supported`);
    }
  }
}
