// Emits decodeXxx(r, version) functions: one straight-line body per flexibility branch, each field
// read behind a version check only where the branch's version range needs one.

import {
  Code,
  type EmitContext,
  type Imports,
  isCompact,
  localName,
  minElementBytes,
  nullableCondition,
  readMethod,
  regularIn,
  structMarker,
  taggedIn,
  typeArgs,
  versionParam,
} from './codegen.ts';
import { defaultValueCode, elementTsType, fieldTsType } from './emit-types.ts';
import type { ElementType, FieldSpec, MessageSpec, StructSpec } from './schema.ts';
import { format, isEmpty, splitByFlexibility, versionCondition, type VersionRange } from './versions.ts';

/** Expression reading one non-array value present in `present` (a sub-range of the branch), inside a tagged field or not. */
function scalarRead(field: FieldSpec, element: ElementType, present: VersionRange, ctx: EmitContext, tagged: boolean): string {
  const nullable = nullableCondition(field, present);
  if (element.kind === 'struct') {
    const read = `decode${element.struct.typeName}(r, version)`;
    if (nullable === false) return read;
    const { readIsNull } = structMarker(tagged);
    return `${nullable === null ? '' : `${nullable} && `}${readIsNull} ? null : ${read}`;
  }
  const compact = isCompact(field, ctx);
  if (nullable === null) return `r.${readMethod(element.name, compact, true)}()`;
  if (nullable === false) return `r.${readMethod(element.name, compact, false)}()`;
  return `${nullable} ? r.${readMethod(element.name, compact, true)}() : r.${readMethod(element.name, compact, false)}()`;
}

/** Expression reading one array element (elements are never null). */
function elementRead(element: ElementType, ctx: EmitContext): string {
  if (element.kind === 'struct') return `decode${element.struct.typeName}(r, version)`;
  return `r.${readMethod(element.name, ctx.flexible, false)}()`;
}

/** Statements reading an array field present in `present` into the already declared `target`. */
function emitArrayReadInto(code: Code, field: FieldSpec, target: string, present: VersionRange, ctx: EmitContext): void {
  if (field.type.kind !== 'array') throw new Error('not an array');
  const element = field.type.element;
  const what = `${ctx.struct.typeName}.${field.prop}`;
  const minBytes = minElementBytes(element, ctx, what);
  const lengthMethod = (nullable: boolean): string =>
    `r.read${ctx.flexible ? 'Compact' : ''}${nullable ? 'Nullable' : ''}ArrayLength(${minBytes})`;
  const nullable = nullableCondition(field, present);
  const countExpr =
    nullable === null ? lengthMethod(true) : nullable === false ? lengthMethod(false) : `${nullable} ? ${lengthMethod(true)} : ${lengthMethod(false)}`;
  const read = elementRead(element, ctx);
  const elementType = elementTsType(element, 'Buffer');
  code.line(`const count = ${countExpr};`);
  if (nullable !== false) code.open('if (count < 0) {').line(`${target} = null;`).middle('} else {');
  code.line(`const items = new Array<${elementType}>(count);`);
  code.line(`for (let i = 0; i < count; i++) items[i] = ${read};`);
  code.line(`${target} = items;`);
  if (nullable !== false) code.close();
}

/** Emits the reads of one flexibility branch, ending with the return of the decoded object. */
function emitBranch(code: Code, ctx: EmitContext): void {
  const { struct, range, imports } = ctx;
  const entries: string[] = [];
  const tagged: FieldSpec[] = [];
  for (const field of struct.fields) {
    const local = localName(field);
    const entry = local === field.prop ? local : `${field.prop}: ${local}`;
    const regular = regularIn(field, range);
    const regularCondition = versionCondition(regular, range);
    const isTagged = ctx.flexible && !isEmpty(taggedIn(field, range));
    if (isTagged) tagged.push(field);
    if (regularCondition === false && !isTagged) {
      entries.push(`${field.prop}: ${defaultValueCode(field, struct, imports)}`);
      continue;
    }
    entries.push(entry);
    const type = fieldTsType(field, struct, 'Buffer');
    const unconditional = regularCondition === null && !isTagged;
    if (field.type.kind === 'array') {
      if (unconditional && nullableCondition(field, regular) === false) {
        const element = field.type.element;
        const minBytes = minElementBytes(element, ctx, `${struct.typeName}.${field.prop}`);
        const read = elementRead(element, ctx);
        code.line(`const ${local}Count = r.read${ctx.flexible ? 'Compact' : ''}ArrayLength(${minBytes});`);
        code.line(`const ${local} = new Array<${elementTsType(element, 'Buffer')}>(${local}Count);`);
        code.line(`for (let i = 0; i < ${local}Count; i++) ${local}[i] = ${read};`);
        continue;
      }
      const initial = unconditional ? '' : ` = ${defaultValueCode(field, struct, imports)}`;
      code.line(`let ${local}: ${type}${initial};`);
      if (regularCondition !== false) {
        code.open(regularCondition === null ? '{' : `if (${regularCondition}) {`);
        emitArrayReadInto(code, field, local, regular, ctx);
        code.close();
      }
      continue;
    }
    const read = scalarRead(field, field.type, regular, ctx, false);
    if (unconditional) code.line(`const ${local} = ${read};`);
    else if (!isTagged) code.line(`const ${local} = ${regularCondition} ? ${read} : ${defaultValueCode(field, struct, imports)};`);
    else {
      code.line(`let ${local}: ${type} = ${defaultValueCode(field, struct, imports)};`);
      if (regularCondition === null) code.line(`${local} = ${read};`);
      else if (regularCondition !== false) code.line(`if (${regularCondition}) ${local} = ${read};`);
    }
  }
  if (ctx.flexible) emitTaggedFieldsRead(code, tagged, ctx);
  code.open('return {');
  for (const entry of entries) code.line(`${entry},`);
  code.close('};');
}

function emitTaggedFieldsRead(code: Code, tagged: FieldSpec[], ctx: EmitContext): void {
  if (tagged.length === 0) {
    code.line('r.skipTaggedFields();');
    return;
  }
  code.line('const tagCount = r.readTaggedFieldCount();');
  code.open('for (let t = 0; t < tagCount; t++) {');
  code.line('const tag = r.readUnsignedVarint();');
  code.line('const outerEnd = r.beginTaggedField();');
  code.open('switch (tag) {');
  for (const field of [...tagged].sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0))) {
    const local = localName(field);
    const present = taggedIn(field, ctx.range);
    const condition = versionCondition(present, ctx.range);
    code.open(`case ${field.tag}: {`);
    if (condition !== null) code.open(`if (!(${condition})) {`).line('r.skip(r.remaining);').line('break;').close();
    if (field.type.kind === 'array') emitArrayReadInto(code, field, local, present, ctx);
    else code.line(`${local} = ${scalarRead(field, field.type, present, ctx, true)};`);
    code.line('break;');
    code.close();
  }
  code.line('default:').line('  r.skip(r.remaining);');
  code.close();
  code.line('r.endTaggedField(outerEnd, tag);');
  code.close();
}

export function emitDecoder(code: Code, message: MessageSpec, struct: StructSpec, imports: Imports): void {
  const isRoot = struct === message.root;
  const returnType = struct.typeName + typeArgs(struct, 'Buffer');
  const body = new Code();
  if (isRoot) {
    const { min, max } = message.validVersions;
    body.open(`if (version < ${min} || version > ${max}) {`);
    body.line(`throw new ${imports.value('ProtocolError')}(\`${message.name} version \${version} is not in ${min}-${max}\`, r.offset);`);
    body.close();
  }
  const { classic, flexible } = splitByFlexibility(struct.context, message.flexibleVersions);
  if (!isEmpty(flexible)) {
    const branchContext: EmitContext = { message, struct, range: flexible, flexible: true, imports };
    if (isEmpty(classic)) emitBranch(body, branchContext);
    else {
      body.open(`if (version >= ${flexible.min}) {`);
      emitBranch(body, branchContext);
      body.close();
    }
  }
  if (!isEmpty(classic)) emitBranch(body, { message, struct, range: classic, flexible: false, imports });
  if (isRoot) code.line(`/** Decodes a ${message.name} body of the given version (${format(message.validVersions)}). */`);
  code.open(`${isRoot ? 'export ' : ''}function decode${struct.typeName}(r: Reader, ${versionParam(body)}: number): ${returnType} {`);
  code.append(body);
  code.close();
  code.line();
}
