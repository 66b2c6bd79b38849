/**
 * The zod schema of a topology file: shapes, types, enum values, id formats and ranges, with
 * unknown keys rejected everywhere. Cross-references (flows to missing systems, data provenance,
 * rest-sync cycles, transport-specific keys) are checked in semantics.ts, which also runs when
 * this schema fails, so one load reports every problem.
 * Each leaf carries a `.describe()` text saying what is expected; issues.ts puts it into messages.
 */
import { z } from 'zod';
import {
  DATA_FORMATS,
  LAKE_FILE_FORMATS,
  LAKE_PARTITION_KEYS,
  LEGACY_TRANSPORTS,
  SYSTEM_ROLES,
  type Topology,
} from './model.ts';

export const SYSTEM_ID_PATTERN = /^[A-Z][A-Z0-9]*$/;
export const DATA_KIND_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const FLOW_ID_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Topology names become topic and group prefixes, so they keep to Kafka's topic characters. */
export const TOPOLOGY_NAME_PATTERN = /^[a-z][a-z0-9._-]*$/;
export const FIELD_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const text = z.string().min(1).describe('a non-empty string');
const systemId = z
  .string()
  .regex(SYSTEM_ID_PATTERN)
  .describe('a system id: an upper-case letter, then upper-case letters or digits (A, B, C2)');
const dataKindId = z
  .string()
  .regex(DATA_KIND_ID_PATTERN)
  .describe('a data kind id in lower-case kebab case (order, risk-score)');
const positiveMs = z.number().int().min(1).describe('a whole number of milliseconds >= 1');
const count = z.number().int().min(0).describe('a whole number >= 0');
const dataFormat = z.enum(DATA_FORMATS);

const dataKindSchema = z.strictObject({
  id: dataKindId,
  description: text.optional(),
  key: z.string().regex(FIELD_NAME_PATTERN).describe('a record field name such as orderId'),
});

const lakeExportSchema = z.strictObject({
  format: dataFormat,
  scheduleMs: positiveMs,
});

const systemSchema = z.strictObject({
  id: systemId,
  name: text,
  description: text.optional(),
  role: z.enum(SYSTEM_ROLES).default('service'),
  joinsLate: z.boolean().describe('true or false').default(false),
  costPerMessageUs: z.number().min(0).describe('a number of microseconds >= 0'),
  produces: z.array(dataKindId).describe('a list of data kind ids').default([]),
  lakeExport: lakeExportSchema.optional(),
});

const legacySchema = z.strictObject({
  transport: z.enum(LEGACY_TRANSPORTS),
  format: dataFormat,
  scheduleMs: positiveMs.optional(),
  retries: count.optional(),
  timeoutMs: positiveMs.optional(),
  prefetch: z.number().int().min(1).describe('a whole number >= 1').optional(),
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
  restTimeoutMs: positiveMs.default(2000),
  restRetries: count.default(2),
  amqpPrefetch: z.number().int().min(1).describe('a whole number >= 1').default(50),
});

const lakeSchema = z.strictObject({
  hub: z
    .strictObject({
      format: z.enum(LAKE_FILE_FORMATS).default('jsonl'),
      partitionBy: z
        .array(z.enum(LAKE_PARTITION_KEYS))
        .describe('a list of partition keys')
        .default(['topic', 'date']),
    })
    .prefault({}),
});

export const topologySchema: z.ZodType<Topology> = z.strictObject({
  name: z
    .string()
    .regex(TOPOLOGY_NAME_PATTERN)
    .describe('a name in lower case: a letter, then letters, digits, ".", "_" or "-"'),
  description: text.optional(),
  dataKinds: z.array(dataKindSchema).min(1).describe('a non-empty list of data kinds'),
  systems: z.array(systemSchema).min(1).describe('a non-empty list of systems'),
  flows: z.array(flowSchema).describe('a list of flows').default([]),
  defaults: defaultsSchema.prefault({}),
  lake: lakeSchema.prefault({}),
});
