// Emits encodeXxx(w, msg, version) functions, mirroring emit-decode: one straight-line body per
// flexibility branch; fields absent in a version are skipped; tagged fields go into the tag
// buffer, in ascending tag order, only when they differ from their default.

import {
  Code,
  type EmitContext,
  type Imports,
  capitalize,
  isCompact,
  isNullableType,
  localName,
  nullableCondition,
  regularIn,
  structMarker,
  taggedIn,
  versionParam,
  writeMethod,
} from './codegen.ts';
import { isNotDefaultCode } from './emit-types.ts';
import type { ElementType, FieldSpec, MessageSpec, StructSpec } from './schema.ts';
import { format, isEmpty, splitByFlexibility, versionCondition, type VersionRange } from './versions.ts';

function requireNonNull(field: FieldSpec, value: string, ctx: EmitContext): string {
  return `${ctx.imports.value('requireNonNull')}(${value}, '${ctx.struct.typeName}.${field.prop}', version)`;
}

function elementWrite(element: ElementType, value: string, ctx: EmitContext): string {
  if (element.kind === 'struct') return `encode${element.struct.typeName}(w, ${value}, version);`;
  return `w.${writeMethod(element.name, ctx.flexible, false)}(${value});`;
}

/** Statements writing `value` (the field's value) for a version in `present`, inside a tagged field or not. */
function emitFieldWrite(code: Code, field: FieldSpec, value: string, present: VersionRange, ctx: EmitContext, tagged: boolean): void {
  const typeNullable = isNullableType(field, ctx.struct);
  const nullable = typeNullable ? nullableCondition(field, present) : false;
  const type = field.type;
  if (type.kind === 'struct') {
    const encode = (source: string): string => `encode${type.struct.typeName}(w, ${source}, version);`;
    if (!typeNullable) code.line(encode(value));
    else if (nullable === false) code.line(encode(requireNonNull(field, value, ctx)));
    else {
      const local = localName(field);
      const { writeNull, writePresent } = structMarker(tagged);
      code.line(`const ${local} = ${nullable === null ? value : `${nullable} ? ${value} : ${requireNonNull(field, value, ctx)}`};`);
      code.open(`if (${local} === null) {`).line(writeNull).middle('} else {');
      code.line(nullable === null ? writePresent : `if (${nullable}) ${writePresent}`);
      code.line(encode(local));
      code.close();
    }
    return;
  }
  if (type.kind === 'array') {
    const local = localName(field);
    let source = value;
    if (typeNullable && nullable === false) source = requireNonNull(field, value, ctx);
    else if (typeof nullable === 'string') source = `${nullable} ? ${value} : ${requireNonNull(field, value, ctx)}`;
    const lengthMethod = `w.write${ctx.flexible ? 'Compact' : ''}ArrayLength`;
    code.line(`const ${local} = ${source};`);
    if (nullable !== false) code.open(`if (${local} === null) {`).line(`${lengthMethod}(-1);`).middle('} else {');
    code.line(`${lengthMethod}(${local}.length);`);
    code.line(`for (let i = 0; i < ${local}.length; i++) ${elementWrite(type.element, `${local}[i]`, ctx)}`);
    if (nullable !== false) code.close();
    return;
  }
  const compact = isCompact(field, ctx);
  if (type.name === 'records') {
    const records = nullable === null ? value : nullable === false ? requireNonNull(field, value, ctx) : `${nullable} ? ${value} : ${requireNonNull(field, value, ctx)}`;
    code.line(`w.writeRecordsRef(${records}, ${compact});`);
    return;
  }
  if (!typeNullable) code.line(`w.${writeMethod(type.name, compact, false)}(${value});`);
  else if (nullable === null) code.line(`w.${writeMethod(type.name, compact, true)}(${value});`);
  else if (nullable === false) code.line(`w.${writeMethod(type.name, compact, false)}(${requireNonNull(field, value, ctx)});`);
  else {
    code.line(`if (${nullable}) w.${writeMethod(type.name, compact, true)}(${value});`);
    code.line(`else w.${writeMethod(type.name, compact, false)}(${requireNonNull(field, value, ctx)});`);
  }
}

function emitTaggedFieldsWrite(code: Code, tagged: FieldSpec[], ctx: EmitContext): void {
  if (tagged.length === 0) {
    code.line('w.writeEmptyTaggedFields();');
    return;
  }
  const sorted = [...tagged].sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
  const flags: string[] = [];
  for (const field of sorted) {
    const flag = `write${capitalize(field.prop)}`;
    flags.push(flag);
    const condition = versionCondition(taggedIn(field, ctx.range), ctx.range);
    const notDefault = isNotDefaultCode(field, ctx.struct, `msg.${field.prop}`, ctx.imports);
    code.line(`const ${flag} = ${condition === null ? '' : `${condition} && `}${notDefault};`);
  }
  const count = flags.length === 1 ? `${flags[0]} ? 1 : 0` : flags.map((flag) => `(${flag} ? 1 : 0)`).join(' + ');
  code.line(`w.writeUnsignedVarint(${count});`);
  sorted.forEach((field, index) => {
    code.open(`if (${flags[index]}) {`);
    code.line(`const mark = w.beginTaggedField(${field.tag});`);
    emitFieldWrite(code, field, `msg.${field.prop}`, taggedIn(field, ctx.range), ctx, true);
    code.line('w.endTaggedField(mark);');
    code.close();
  });
}

function emitBranch(code: Code, ctx: EmitContext): void {
  const tagged: FieldSpec[] = [];
  for (const field of ctx.struct.fields) {
    if (ctx.flexible && !isEmpty(taggedIn(field, ctx.range))) tagged.push(field);
    const regular = regularIn(field, ctx.range);
    const condition = versionCondition(regular, ctx.range);
    if (condition === false) continue;
    const value = `msg.${field.prop}`;
    if (condition === null) {
      emitFieldWrite(code, field, value, regular, ctx, false);
      continue;
    }
    const body = new Code();
    emitFieldWrite(body, field, value, regular, ctx, false);
    if (body.lines.length === 1) code.line(`if (${condition}) ${body.lines[0]}`);
    else {
      code.open(`if (${condition}) {`);
      for (const line of body.lines) code.line(line);
      code.close();
    }
  }
  if (ctx.flexible) emitTaggedFieldsWrite(code, tagged, ctx);
}

export function emitEncoder(code: Code, message: MessageSpec, struct: StructSpec, imports: Imports): void {
  const isRoot = struct === message.root;
  const type = struct.typeName + (struct.hasRecords ? `<${imports.type('RecordsInput')}>` : '');
  const body = new Code();
  if (isRoot) {
    const { min, max } = message.validVersions;
    body.open(`if (version < ${min} || version > ${max}) {`);
    body.line(`throw new RangeError(\`${message.name} version \${version} is not in ${min}-${max}\`);`);
    body.close();
  }
  const { classic, flexible } = splitByFlexibility(struct.context, message.flexibleVersions);
  if (!isEmpty(flexible)) {
    const branchContext: EmitContext = { message, struct, range: flexible, flexible: true, imports };
    if (isEmpty(classic)) emitBranch(body, branchContext);
    else {
      body.open(`if (version >= ${flexible.min}) {`);
      emitBranch(body, branchContext);
      body.line('return;');
      body.close();
    }
  }
  if (!isEmpty(classic)) emitBranch(body, { message, struct, range: classic, flexible: false, imports });
  if (isRoot) code.line(`/** Encodes a ${message.name} body of the given version (${format(message.validVersions)}). */`);
  code.open(`${isRoot ? 'export ' : ''}function encode${struct.typeName}(w: Writer, msg: ${type}, ${versionParam(body)}: number): void {`);
  code.append(body);
  code.close();
  code.line();
}
