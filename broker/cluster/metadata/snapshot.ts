// Whole-state snapshots of the metadata state machine, for Raft snapshots / log compaction.
//
// The format is JSON with a version field. Brokers are sorted by id and topics by name, so equal
// states give byte-identical snapshots whatever order their maps were filled in. Loading checks
// the shape (zod) and the state's invariants, and reports problems instead of throwing.
import { z } from 'zod';
import { brokerListenersSchema, configNameSchema, topicNameSchema } from './commands.ts';
import { checkInvariants, type BrokerState, type MetadataState, type TopicState } from './state.ts';
import { securityProblems, serializeUsers, snapshotAclsSchema, snapshotUsersSchema, type ScramUserCredentials } from './security.ts';

export const METADATA_SNAPSHOT_VERSION = 1;

const int = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const brokerId = z.number().int().min(0).max(2 ** 31 - 1);

const brokerSchema = z.strictObject({
  brokerId,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  listeners: brokerListenersSchema.optional(),
  incarnationId: z.string().min(1),
  epoch: int,
  fenced: z.boolean(),
  leaseExpiresAtMs: int.nullable(),
});

const partitionSchema = z.strictObject({
  partition: int,
  replicas: z.array(brokerId).min(1),
  leader: z.number().int().min(-1).max(2 ** 31 - 1),
  isr: z.array(brokerId).min(1),
  leaderEpoch: int,
  partitionEpoch: int,
});

const topicSchema = z.strictObject({
  name: topicNameSchema,
  replicationFactor: z.number().int().min(1),
  configs: z.record(configNameSchema, z.string()),
  partitions: z.array(partitionSchema).min(1),
});

const snapshotSchema = z.strictObject({
  version: z.literal(METADATA_SNAPSHOT_VERSION),
  offset: int,
  brokerSessionTimeoutMs: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  brokers: z.array(brokerSchema),
  topics: z.array(topicSchema),
  /** SCRAM users and ACLs (security.ts); absent when there are none, as in snapshots written before they were replicated. */
  users: snapshotUsersSchema.optional(),
  acls: snapshotAclsSchema.optional(),
});

type Snapshot = z.infer<typeof snapshotSchema>;

const byName = (a: TopicState, b: TopicState): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function serializeSnapshot(state: MetadataState): string {
  const snapshot: Snapshot = {
    version: METADATA_SNAPSHOT_VERSION,
    offset: state.offset,
    brokerSessionTimeoutMs: state.brokerSessionTimeoutMs,
    brokers: [...state.brokers.values()].sort((a, b) => a.brokerId - b.brokerId).map(({ listeners, ...b }) => (listeners ? { ...b, listeners: listeners.map((l) => ({ ...l })) } : b)),
    topics: [...state.topics.values()].sort(byName).map((t) => ({
      name: t.name,
      replicationFactor: t.replicationFactor,
      configs: { ...t.configs },
      partitions: t.partitions.map((p) => ({ ...p, replicas: [...p.replicas], isr: [...p.isr] })),
    })),
    ...(state.users.size > 0 ? { users: serializeUsers(state.users) } : {}),
    ...(state.acls.length > 0 ? { acls: state.acls.map((b) => ({ ...b })) } : {}),
  };
  return JSON.stringify(snapshot);
}

export type LoadResult = { readonly ok: true; readonly state: MetadataState } | { readonly ok: false; readonly error: string };

export function deserializeSnapshot(text: string): LoadResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `metadata snapshot is not valid JSON: ${(err as Error).message}` };
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (version !== METADATA_SNAPSHOT_VERSION) return { ok: false, error: `unsupported metadata snapshot version ${JSON.stringify(version)} (this build reads version ${METADATA_SNAPSHOT_VERSION})` };
  const parsed = snapshotSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: `invalid metadata snapshot: ${z.prettifyError(parsed.error)}` };
  const s = parsed.data;
  const brokers = new Map<number, BrokerState>();
  for (const b of s.brokers) {
    if (brokers.has(b.brokerId)) return { ok: false, error: `invalid metadata snapshot: broker ${b.brokerId} appears twice` };
    brokers.set(b.brokerId, b);
  }
  const topics = new Map<string, TopicState>();
  for (const t of s.topics) {
    if (topics.has(t.name)) return { ok: false, error: `invalid metadata snapshot: topic "${t.name}" appears twice` };
    topics.set(t.name, t);
  }
  const users = new Map<string, ScramUserCredentials>();
  for (const u of s.users ?? []) {
    if (users.has(u.user)) return { ok: false, error: `invalid metadata snapshot: user "${u.user}" appears twice` };
    users.set(u.user, u.credentials);
  }
  const state: MetadataState = { offset: s.offset, brokerSessionTimeoutMs: s.brokerSessionTimeoutMs, brokers, topics, users, acls: s.acls ?? [] };
  const problems = [...checkInvariants(state), ...securityProblems(state)];
  if (problems.length > 0) return { ok: false, error: `invalid metadata snapshot: ${problems.join('; ')}` };
  return { ok: true, state };
}
