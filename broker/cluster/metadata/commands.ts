// The controller's metadata log records: what the Raft log carries and the state machine applies.
//
// Records are plain JSON. The zod schemas check the shape (types, integer ranges, known fields)
// when a record is decoded; whether a record makes sense against the current state (known broker,
// leader in ISR, epochs moving forward...) is checked by apply() in state.ts.
import { z } from 'zod';
import { alterScramCredentialsSchema, createAclsSchema, removeAclsSchema } from './security.ts';

/** Leader id of a partition that has no leader (offline). */
export const NO_LEADER = -1;

const brokerId = z.number().int().min(0).max(2 ** 31 - 1);
const nonNegInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const leaderId = z.number().int().min(NO_LEADER).max(2 ** 31 - 1);
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** Kafka-style config names: lowercase, dotted. Rules out "__proto__" and friends as record keys. */
const CONFIG_NAME = /^[a-z][a-z0-9._-]{0,254}$/;
export const topicNameSchema = z.string().regex(TOPIC_NAME).refine((n) => n !== '.' && n !== '..', 'topic name must not be "." or ".."');
export const configNameSchema = z.string().regex(CONFIG_NAME);
const configValue = z.string().max(4096);

/** One partition of a new topic, as computed by the controller before it proposes CreateTopic. */
export const partitionAssignmentSchema = z.strictObject({
  replicas: z.array(brokerId).min(1).max(64),
  leader: leaderId,
  isr: z.array(brokerId).min(1).max(64),
  leaderEpoch: z.literal(0),
});
export type PartitionAssignment = z.infer<typeof partitionAssignmentSchema>;

/** Security protocols a listener may speak (server/listeners.ts). */
export const securityProtocolSchema = z.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']);
/** One advertised listener of a broker: clients on listener `name` are told the other brokers' endpoints on the same name. */
export const brokerListenerSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  securityProtocol: securityProtocolSchema,
});
export type BrokerListener = z.infer<typeof brokerListenerSchema>;
/** Most listeners one broker registers. */
export const MAX_BROKER_LISTENERS = 16;
export const brokerListenersSchema = z.array(brokerListenerSchema).min(1).max(MAX_BROKER_LISTENERS).refine((ls) => new Set(ls.map((l) => l.name)).size === ls.length, 'listener names must be distinct');

export const registerBrokerSchema = z.strictObject({
  type: z.literal('RegisterBroker'),
  brokerId,
  /** The first listener's endpoint (replica fetches go there). */
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  /** Every listener; absent in records written before listeners were registered (then host:port serves every listener). */
  listeners: brokerListenersSchema.optional(),
  /** Random per process start; a new one means the broker restarted. */
  incarnationId: z.string().min(1).max(64),
  /** Chosen by the controller; must be greater than the broker's previous epoch. */
  epoch: nonNegInt,
});

export const brokerHeartbeatSchema = z.strictObject({
  type: z.literal('BrokerHeartbeat'),
  brokerId,
  epoch: nonNegInt,
  /** The controller's clock when it accepted the heartbeat; the lease runs from here. */
  nowMs: nonNegInt,
});

export const fenceBrokerSchema = z.strictObject({
  type: z.literal('FenceBroker'),
  brokerId,
  /** The registration being fenced: a fence decided for an older incarnation is rejected. */
  epoch: nonNegInt,
  reason: z.string().max(1024),
});

export const unfenceBrokerSchema = z.strictObject({
  type: z.literal('UnfenceBroker'),
  brokerId,
  epoch: nonNegInt,
});

export const createTopicSchema = z.strictObject({
  type: z.literal('CreateTopic'),
  name: topicNameSchema,
  replicationFactor: z.number().int().min(1).max(64),
  configs: z.record(configNameSchema, configValue),
  partitions: z.array(partitionAssignmentSchema).min(1).max(100_000),
});

/** Partitions added to an existing topic: they take the indices after its current last one. */
export const createPartitionsSchema = z.strictObject({
  type: z.literal('CreatePartitions'),
  name: topicNameSchema,
  partitions: z.array(partitionAssignmentSchema).min(1).max(100_000),
});

export const deleteTopicSchema = z.strictObject({
  type: z.literal('DeleteTopic'),
  name: topicNameSchema,
});

export const changePartitionSchema = z.strictObject({
  type: z.literal('ChangePartition'),
  topic: topicNameSchema,
  partition: nonNegInt,
  leader: leaderId,
  isr: z.array(brokerId).min(1).max(64),
  leaderEpoch: nonNegInt,
  /** The partition epoch the change was computed from (compare-and-set against concurrent changes). */
  partitionEpoch: nonNegInt,
});

export const alterTopicConfigSchema = z.strictObject({
  type: z.literal('AlterTopicConfig'),
  name: topicNameSchema,
  /** New values; null removes the config (back to the broker default). */
  configs: z.record(configNameSchema, configValue.nullable()),
});

export const metadataCommandSchema = z.discriminatedUnion('type', [
  registerBrokerSchema,
  brokerHeartbeatSchema,
  fenceBrokerSchema,
  unfenceBrokerSchema,
  createTopicSchema,
  createPartitionsSchema,
  deleteTopicSchema,
  changePartitionSchema,
  alterTopicConfigSchema,
  alterScramCredentialsSchema,
  createAclsSchema,
  removeAclsSchema,
]);

export type MetadataCommand = z.infer<typeof metadataCommandSchema>;
export type RegisterBroker = z.infer<typeof registerBrokerSchema>;
export type BrokerHeartbeat = z.infer<typeof brokerHeartbeatSchema>;
export type FenceBroker = z.infer<typeof fenceBrokerSchema>;
export type UnfenceBroker = z.infer<typeof unfenceBrokerSchema>;
export type CreateTopic = z.infer<typeof createTopicSchema>;
export type CreatePartitions = z.infer<typeof createPartitionsSchema>;
export type DeleteTopic = z.infer<typeof deleteTopicSchema>;
export type ChangePartition = z.infer<typeof changePartitionSchema>;
export type AlterTopicConfig = z.infer<typeof alterTopicConfigSchema>;

export function encodeCommand(command: MetadataCommand): string {
  return JSON.stringify(command);
}

export type DecodeResult = { readonly ok: true; readonly command: MetadataCommand } | { readonly ok: false; readonly error: string };

/** Decodes a record from its JSON text (or an already parsed value), checking its shape. */
export function decodeCommand(input: unknown): DecodeResult {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (err) {
      return { ok: false, error: `metadata record is not valid JSON: ${(err as Error).message}` };
    }
  }
  // zod silently drops a "__proto__" record key; refuse the record instead of half-reading it.
  if (hasProtoKey(value)) return { ok: false, error: 'invalid metadata record: "__proto__" is not allowed as a key' };
  const parsed = metadataCommandSchema.safeParse(value);
  if (!parsed.success) return { ok: false, error: `invalid metadata record: ${z.prettifyError(parsed.error)}` };
  return { ok: true, command: parsed.data };
}

function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.hasOwn(value, '__proto__')) return true;
  return Object.values(value).some(hasProtoKey);
}
