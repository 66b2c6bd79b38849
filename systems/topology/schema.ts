/**
 * The zod schema of a topology file as written: shapes, types, enum values, id formats and ranges,
 * with unknown keys rejected everywhere. It has no transforms, so the same schema gives the JSON
 * Schema of the format (docs/topology.schema.json, `npm run generate:topology-schema`); normalize.ts
 * turns a parsed file into the Topology model. Cross-references (flows to missing systems, rules
 * for kinds nobody sends, expressions) are checked in semantics.ts and systems/model/compile.ts,
 * which also run when this schema fails, so one load reports every problem.
 * Each leaf carries a `.describe()` text saying what is expected; issues.ts puts it into messages.
 */
import { z } from 'zod';
import { DATA_FORMATS, LAKE_FILE_FORMATS, LAKE_PARTITION_KEYS, LEGACY_TRANSPORTS, SCALAR_TYPES, SYSTEM_ROLES } from './model.ts';

export const SYSTEM_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
export const DATA_KIND_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const FLOW_ID_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Topology names become topic and group prefixes, so they keep to Kafka's topic characters. */
export const TOPOLOGY_NAME_PATTERN = /^[a-z][a-z0-9._-]*$/;
export const FIELD_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Names of the integration's own components and link ends: no system may take them. */
export const RESERVED_SYSTEM_IDS = ['hub', 'lake', 'lake-sink', 'broker', 'rabbitmq', 'quorum-leader', 'runner', 'load'];
export const RESERVED_SYSTEM_ID_PATTERN = /^(broker|rabbitmq)-\d+$/;

/** Largest payload a kind may declare, in bytes. */
export const PAYLOAD_BYTES_MAX = 1024 * 1024;
export const LIST_ITEMS_MAX = 10_000;

const text = z.string().min(1).describe('a non-empty string');
const systemId = z
  .string()
  .regex(SYSTEM_ID_PATTERN)
  .describe('a system id: a letter, then letters, digits, "_" or "-" (A, C2, core-banking), at most 32 characters');
const dataKindId = z
  .string()
  .regex(DATA_KIND_ID_PATTERN)
  .describe('a data kind id in lower-case kebab case (order, risk-score)');
const fieldName = z.string().regex(FIELD_NAME_PATTERN).describe('a field name: a letter or "_", then letters, digits or "_"');
const positiveMs = z.number().int().min(1).describe('a whole number of milliseconds >= 1');
const count = z.number().int().min(0).describe('a whole number >= 0');
const dataFormat = z.enum(DATA_FORMATS);

const scalarType = z.enum(SCALAR_TYPES);
const enumField = z.strictObject({ enum: z.array(z.string().min(1)).min(1).max(1000).describe('a non-empty list of values') });
const scalarField = z.union([scalarType, enumField]).describe('a field type: string, int, number, bool, or { enum: [values] }');
const listField = z.strictObject({
  list: z.record(fieldName, scalarField).describe('the fields of one list element: name: type'),
  min: count.max(LIST_ITEMS_MAX).optional(),
  max: z.number().int().min(1).max(LIST_ITEMS_MAX).describe('a whole number from 1 to 10000').optional(),
});
const fieldType = z.union([scalarType, enumField, listField])
  .describe('a field type: string, int, number, bool, { enum: [values] } or { list: { field: type, ... }, min, max }');

const payloadBytes = z.number().int().min(1).max(PAYLOAD_BYTES_MAX).describe('a whole number of bytes from 1 to 1048576');
const payloadSchema = z.union([
  payloadBytes,
  z.strictObject({ min: payloadBytes, max: payloadBytes }),
  z.strictObject({ mean: payloadBytes, sd: z.number().min(0).max(PAYLOAD_BYTES_MAX).describe('a number of bytes >= 0') }),
]).describe('a size in bytes, { min, max } (uniform) or { mean, sd } (normal)');

const dataKindSchema = z.strictObject({
  id: dataKindId,
  description: text.optional(),
  key: fieldName.describe('the field used as message key, such as orderId'),
  identity: z.array(fieldName).min(1).max(8).describe('the fields that identify one record (default: the key)').optional(),
  fields: z.record(fieldName, fieldType).describe('the fields of a record: name: type, in order'),
  payloadBytes: payloadSchema.optional(),
  checks: z.array(z.string().min(1).max(4000).describe('an expression giving true for a valid record'))
    .max(32).describe('conditions every record of the kind must meet: expressions over its fields giving true').optional(),
});

/** A value: a literal, or a string holding ${expression} parts. */
const value = z.union([z.string().max(4000), z.number(), z.boolean()]).describe('a literal value, or a string with ${expression} parts');
const expression = z.string().min(1).max(4000).describe('an expression (Common Expression Language), bare or as ${...}');
const letBlock = z.record(fieldName, value).describe('named values: name: value or ${expression}').optional();
const fieldsBlock = z.record(fieldName, value).describe('fields of the record made: name: value or ${expression}').optional();

const emitSchema = z.strictObject({
  kind: dataKindId,
  when: expression.optional(),
  forEach: expression.optional(),
  let: letBlock,
  fields: fieldsBlock,
});

const ruleSchema = z.strictObject({
  costUs: z.number().min(0).max(1_000_000).describe('a number of microseconds from 0 to 1000000').optional(),
  delayMs: z.number().int().min(0).max(60_000).describe('a whole number of milliseconds from 0 to 60000').optional(),
  emit: z.array(emitSchema).max(32).describe('a list of records to emit (kind, when, forEach, let, fields)').optional(),
});

const ingressSchema = z.strictObject({
  kind: dataKindId,
  weight: z.number().positive().max(1_000_000).describe('a number > 0').optional(),
  let: letBlock,
  fields: fieldsBlock,
});

const sourceSchema = z.strictObject({
  kind: dataKindId,
  everyMs: z.number().int().min(100).max(86_400_000).describe('a whole number of milliseconds from 100 to 86400000'),
  records: z.number().int().min(1).max(10_000).describe('a whole number from 1 to 10000').optional(),
  times: z.number().int().min(1).max(1_000_000).describe('a whole number >= 1').optional(),
  let: letBlock,
  fields: fieldsBlock,
});

const lakeExportSchema = z.strictObject({
  format: dataFormat,
  scheduleMs: positiveMs,
});

const systemSchema = z.strictObject({
  id: systemId,
  name: text,
  description: text.optional(),
  role: z.enum(SYSTEM_ROLES).optional(),
  instances: z.number().int().min(1).max(16).describe('a whole number from 1 to 16').optional(),
  joinsLate: z.boolean().describe('true or false').optional(),
  costPerMessageUs: z.number().min(0).max(1_000_000).describe('a number of microseconds from 0 to 1000000').optional(),
  ingress: z.array(ingressSchema).min(1).max(16).describe('a list of ingress kinds (kind, weight, let, fields)').optional(),
  sources: z.array(sourceSchema).max(16).describe('a list of scheduled sources (kind, everyMs, records, times, let, fields)').optional(),
  on: z.record(dataKindId, ruleSchema).describe('what the system does per received kind: kind: { costUs, delayMs, emit }').optional(),
  lakeExport: lakeExportSchema.optional(),
});

const legacySchema = z.strictObject({
  transport: z.enum(LEGACY_TRANSPORTS),
  format: dataFormat,
  scheduleMs: positiveMs.optional(),
  retries: count.max(100).optional(),
  timeoutMs: positiveMs.optional(),
  prefetch: z.number().int().min(1).max(65_535).describe('a whole number from 1 to 65535').optional(),
});

const flowSchema = z.strictObject({
  id: z
    .string()
    .regex(FLOW_ID_PATTERN)
    .describe('a flow id in lower-case kebab case (a-b-payment)'),
  from: systemId,
  to: systemId,
  data: dataKindId,
  purpose: text.optional(),
  legacy: legacySchema,
});

const defaultsSchema = z.strictObject({
  restTimeoutMs: positiveMs.optional(),
  restRetries: count.optional(),
  amqpPrefetch: z.number().int().min(1).describe('a whole number >= 1').optional(),
});

const lakeSchema = z.strictObject({
  hub: z
    .strictObject({
      format: z.enum(LAKE_FILE_FORMATS).optional(),
      partitionBy: z
        .array(z.enum(LAKE_PARTITION_KEYS))
        .describe('a list of partition keys')
        .optional(),
    })
    .optional(),
});

const constantValue: z.ZodType = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.array(constantValue), z.record(z.string(), constantValue)]));

export const topologyFileSchema = z.strictObject({
  name: z
    .string()
    .regex(TOPOLOGY_NAME_PATTERN)
    .describe('a name in lower case: a letter, then letters, digits, ".", "_" or "-"'),
  description: text.optional(),
  constants: z.record(fieldName, constantValue).describe('named values for expressions: lists, maps, numbers, strings').optional(),
  dataKinds: z.array(dataKindSchema).min(1).max(200).describe('a non-empty list of data kinds'),
  systems: z.array(systemSchema).min(1).max(200).describe('a non-empty list of systems'),
  flows: z.array(flowSchema).max(2000).describe('a list of flows').optional(),
  defaults: defaultsSchema.optional(),
  lake: lakeSchema.optional(),
});

export type TopologyFile = z.infer<typeof topologyFileSchema>;
