// The controller's metadata state machine: MetadataState and apply(state, index, command).
//
// apply() is pure and deterministic (no clock, no randomness, no I/O): every controller that applies
// the same committed log ends with the same state. It never mutates its input; it returns a new
// state that shares every unchanged broker, topic and partition with the old one. A command that
// does not make sense against the state is rejected with a typed error and the state left exactly
// as it was (same object), including `offset`: the offset is the index of the last command that
// was applied successfully, and the Raft applier keeps its own applied index.
import type { AlterTopicConfig, ChangePartition, CreatePartitions, CreateTopic, FenceBroker, MetadataCommand, PartitionAssignment, RegisterBroker } from './commands.ts';
import { NO_LEADER, type BrokerListener } from './commands.ts';
import { alterScramCredentials, createAcls, removeAcls, type SecurityErrorCode, type SecurityState } from './security.ts';

export { NO_LEADER };

export interface BrokerState {
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  /** Every listener the broker registered; absent for registrations without them (host:port then serves every listener). */
  readonly listeners?: readonly BrokerListener[];
  readonly incarnationId: string;
  readonly epoch: number;
  readonly fenced: boolean;
  /** End of the lease given by the last heartbeat (controller clock); null since registration or fencing. */
  readonly leaseExpiresAtMs: number | null;
}

export interface PartitionState {
  readonly partition: number;
  /** Assigned replicas; the first is the preferred leader. */
  readonly replicas: readonly number[];
  /** NO_LEADER (-1) when offline. */
  readonly leader: number;
  /** In-sync replicas, never empty: an offline partition keeps its last in-sync member. */
  readonly isr: readonly number[];
  /** Bumped when the leader changes. */
  readonly leaderEpoch: number;
  /** Bumped on every change of the partition. */
  readonly partitionEpoch: number;
}

export interface TopicState {
  readonly name: string;
  readonly replicationFactor: number;
  /** Topic-level config overrides, keys sorted. */
  readonly configs: Readonly<Record<string, string>>;
  readonly partitions: readonly PartitionState[];
}

export interface MetadataState extends SecurityState {
  /** Index of the last successfully applied log entry; 0 for the empty state. */
  readonly offset: number;
  /** A heartbeat extends a broker's lease to nowMs + this (Kafka's broker.session.timeout.ms). */
  readonly brokerSessionTimeoutMs: number;
  readonly brokers: ReadonlyMap<number, BrokerState>;
  readonly topics: ReadonlyMap<string, TopicState>;
}

export type MetadataErrorCode =
  | 'STALE_INDEX'
  | 'UNKNOWN_BROKER'
  | 'STALE_BROKER_EPOCH'
  | 'BROKER_NOT_READY'
  | 'DUPLICATE_TOPIC'
  | 'UNKNOWN_TOPIC'
  | 'UNKNOWN_PARTITION'
  | 'INVALID_REPLICATION_FACTOR'
  | 'INVALID_ASSIGNMENT'
  | 'INVALID_PARTITIONS'
  | 'INVALID_ISR'
  | 'INVALID_LEADER'
  | 'STALE_LEADER_EPOCH'
  | 'STALE_PARTITION_EPOCH'
  | 'INVALID_CONFIG'
  | SecurityErrorCode;

export interface MetadataError {
  readonly code: MetadataErrorCode;
  readonly message: string;
}

export type ApplyResult =
  | { readonly ok: true; readonly state: MetadataState }
  | { readonly ok: false; readonly state: MetadataState; readonly error: MetadataError };

export const DEFAULT_BROKER_SESSION_TIMEOUT_MS = 9_000;

export function emptyMetadataState(options: { brokerSessionTimeoutMs?: number } = {}): MetadataState {
  const brokerSessionTimeoutMs = options.brokerSessionTimeoutMs ?? DEFAULT_BROKER_SESSION_TIMEOUT_MS;
  if (!Number.isSafeInteger(brokerSessionTimeoutMs) || brokerSessionTimeoutMs < 1) throw new RangeError(`brokerSessionTimeoutMs must be a positive integer, got ${brokerSessionTimeoutMs}`);
  return { offset: 0, brokerSessionTimeoutMs, brokers: new Map(), topics: new Map(), users: new Map(), acls: [] };
}

/** A topic config override, or undefined (safe against names like "constructor"). */
export function topicConfig(topic: TopicState, name: string): string | undefined {
  return Object.hasOwn(topic.configs, name) ? topic.configs[name] : undefined;
}

type Changes = { readonly brokers?: ReadonlyMap<number, BrokerState>; readonly topics?: ReadonlyMap<string, TopicState> } & Partial<SecurityState>;
type Failure = { readonly error: MetadataError };
type Outcome = Changes | Failure;

const fail = (code: MetadataErrorCode, message: string): Failure => ({ error: { code, message } });

/** Applies the committed log entry at `index` (greater than state.offset). Never throws on bad input. */
export function apply(state: MetadataState, index: number, command: MetadataCommand): ApplyResult {
  const outcome: Outcome =
    !Number.isSafeInteger(index) || index <= state.offset
      ? fail('STALE_INDEX', `log index ${index} is not after the last applied index ${state.offset}`)
      : applyCommand(state, command);
  if ('error' in outcome) return { ok: false, state, error: outcome.error };
  return { ok: true, state: { ...state, ...outcome, offset: index } };
}

function applyCommand(s: MetadataState, c: MetadataCommand): Outcome {
  switch (c.type) {
    case 'RegisterBroker':
      return registerBroker(s, c);
    case 'BrokerHeartbeat':
      return withBroker(s, c.brokerId, c.epoch, (b) => {
        const lease = c.nowMs + s.brokerSessionTimeoutMs;
        return { ...b, leaseExpiresAtMs: b.leaseExpiresAtMs === null ? lease : Math.max(b.leaseExpiresAtMs, lease) };
      });
    case 'FenceBroker':
      return fenceBroker(s, c);
    case 'UnfenceBroker':
      return withBroker(s, c.brokerId, c.epoch, (b) => {
        if (!b.fenced) return fail('NO_CHANGE', `broker ${b.brokerId} is not fenced`);
        if (b.leaseExpiresAtMs === null) return fail('BROKER_NOT_READY', `broker ${b.brokerId} has not sent a heartbeat since it was registered or fenced`);
        return { ...b, fenced: false };
      });
    case 'CreateTopic':
      return createTopic(s, c);
    case 'CreatePartitions':
      return createPartitions(s, c);
    case 'DeleteTopic': {
      if (!s.topics.has(c.name)) return fail('UNKNOWN_TOPIC', `topic "${c.name}" does not exist`);
      const topics = new Map(s.topics);
      topics.delete(c.name);
      return { topics };
    }
    case 'ChangePartition':
      return changePartition(s, c);
    case 'AlterTopicConfig':
      return alterTopicConfig(s, c);
    case 'AlterScramCredentials':
      return alterScramCredentials(s, c);
    case 'CreateAcls':
      return createAcls(s, c);
    case 'RemoveAcls':
      return removeAcls(s, c);
  }
}

function registerBroker(s: MetadataState, c: RegisterBroker): Outcome {
  const old = s.brokers.get(c.brokerId);
  if (old && c.epoch <= old.epoch) return fail('STALE_BROKER_EPOCH', `broker ${c.brokerId} registration epoch ${c.epoch} is not greater than its current epoch ${old.epoch}`);
  // A (re)registered broker starts fenced, without a lease, until it heartbeats and is unfenced.
  const broker: BrokerState = { brokerId: c.brokerId, host: c.host, port: c.port, ...(c.listeners ? { listeners: c.listeners.map((l) => ({ ...l })) } : {}), incarnationId: c.incarnationId, epoch: c.epoch, fenced: true, leaseExpiresAtMs: null };
  return { brokers: new Map(s.brokers).set(c.brokerId, broker) };
}

function fenceBroker(s: MetadataState, c: FenceBroker): Outcome {
  return withBroker(s, c.brokerId, c.epoch, (b) => (b.fenced ? fail('NO_CHANGE', `broker ${b.brokerId} is already fenced`) : { ...b, fenced: true, leaseExpiresAtMs: null }));
}

/** Replaces one broker, after checking it exists and `epoch` is its current registration. */
function withBroker(s: MetadataState, brokerId: number, epoch: number, update: (b: BrokerState) => BrokerState | Failure): Outcome {
  const b = s.brokers.get(brokerId);
  if (!b) return fail('UNKNOWN_BROKER', `broker ${brokerId} is not registered`);
  if (b.epoch !== epoch) return fail('STALE_BROKER_EPOCH', `broker ${brokerId} epoch ${epoch} does not match its current epoch ${b.epoch}`);
  const next = update(b);
  if ('error' in next) return next;
  return { brokers: new Map(s.brokers).set(brokerId, next) };
}

function createTopic(s: MetadataState, c: CreateTopic): Outcome {
  if (s.topics.has(c.name)) return fail('DUPLICATE_TOPIC', `topic "${c.name}" already exists`);
  const configError = checkConfigs(c.configs);
  if (configError) return fail('INVALID_CONFIG', `topic "${c.name}": ${configError}`);
  const partitions = appendPartitions(s, c.name, [], c.partitions, c.replicationFactor);
  if ('error' in partitions) return partitions;
  const topic: TopicState = { name: c.name, replicationFactor: c.replicationFactor, configs: sortedConfigs(Object.entries(c.configs)), partitions };
  return { topics: new Map(s.topics).set(c.name, topic) };
}

/** Most partitions one topic may have (as CreateTopic allows). */
const MAX_PARTITIONS_PER_TOPIC = 100_000;

function createPartitions(s: MetadataState, c: CreatePartitions): Outcome {
  const topic = s.topics.get(c.name);
  if (!topic) return fail('UNKNOWN_TOPIC', `topic "${c.name}" does not exist`);
  const total = topic.partitions.length + c.partitions.length;
  if (total > MAX_PARTITIONS_PER_TOPIC) return fail('INVALID_PARTITIONS', `topic "${c.name}" would have ${total} partitions, more than ${MAX_PARTITIONS_PER_TOPIC}`);
  const partitions = appendPartitions(s, c.name, topic.partitions, c.partitions, topic.replicationFactor);
  if ('error' in partitions) return partitions;
  return { topics: new Map(s.topics).set(c.name, { ...topic, partitions }) };
}

/** `existing` followed by new partitions from `assignments` (numbered on from it), each checked against the state. */
function appendPartitions(s: MetadataState, name: string, existing: readonly PartitionState[], assignments: readonly PartitionAssignment[], replicationFactor: number): PartitionState[] | Failure {
  const partitions = existing.slice();
  for (const p of assignments) {
    const where = `topic "${name}" partition ${partitions.length}`;
    if (p.replicas.length !== replicationFactor) return fail('INVALID_REPLICATION_FACTOR', `${where} has ${p.replicas.length} replicas, expected replication factor ${replicationFactor}`);
    const replicasError = checkReplicas(s, p.replicas);
    if (replicasError) return fail('INVALID_ASSIGNMENT', `${where}: ${replicasError}`);
    const next: PartitionState = { partition: partitions.length, replicas: [...p.replicas], leader: p.leader, isr: [...p.isr], leaderEpoch: 0, partitionEpoch: 0 };
    const error = checkLeaderAndIsr(s, next, where);
    if (error) return { error };
    partitions.push(next);
  }
  return partitions;
}

function changePartition(s: MetadataState, c: ChangePartition): Outcome {
  const topic = s.topics.get(c.topic);
  if (!topic) return fail('UNKNOWN_TOPIC', `topic "${c.topic}" does not exist`);
  const cur = topic.partitions[c.partition];
  const where = `topic "${c.topic}" partition ${c.partition}`;
  if (!cur) return fail('UNKNOWN_PARTITION', `${where} does not exist (the topic has ${topic.partitions.length} partitions)`);
  if (c.partitionEpoch !== cur.partitionEpoch) return fail('STALE_PARTITION_EPOCH', `${where}: change computed at partition epoch ${c.partitionEpoch}, current is ${cur.partitionEpoch}`);
  if (c.leaderEpoch < cur.leaderEpoch) return fail('STALE_LEADER_EPOCH', `${where}: leader epoch ${c.leaderEpoch} is older than the current ${cur.leaderEpoch}`);
  if (c.leader !== cur.leader && c.leaderEpoch === cur.leaderEpoch) return fail('STALE_LEADER_EPOCH', `${where}: leader change ${cur.leader} -> ${c.leader} must increase the leader epoch past ${cur.leaderEpoch}`);
  const next: PartitionState = { ...cur, leader: c.leader, isr: [...c.isr], leaderEpoch: c.leaderEpoch, partitionEpoch: cur.partitionEpoch + 1 };
  const error = checkLeaderAndIsr(s, next, where);
  if (error) return { error };
  if (next.leader === cur.leader && next.leaderEpoch === cur.leaderEpoch && sameMembers(next.isr, cur.isr)) return fail('NO_CHANGE', `${where}: leader ${cur.leader}, ISR [${cur.isr.join(',')}] and leader epoch ${cur.leaderEpoch} are unchanged`);
  const partitions = topic.partitions.slice();
  partitions[c.partition] = next;
  return { topics: new Map(s.topics).set(c.topic, { ...topic, partitions }) };
}

function alterTopicConfig(s: MetadataState, c: AlterTopicConfig): Outcome {
  const topic = s.topics.get(c.name);
  if (!topic) return fail('UNKNOWN_TOPIC', `topic "${c.name}" does not exist`);
  const merged = new Map(Object.entries(topic.configs));
  for (const [k, v] of Object.entries(c.configs)) {
    if (v === null) merged.delete(k);
    else merged.set(k, v);
  }
  const configs = sortedConfigs([...merged]);
  const configError = checkConfigs(configs);
  if (configError) return fail('INVALID_CONFIG', `topic "${c.name}": ${configError}`);
  if (JSON.stringify(configs) === JSON.stringify(topic.configs)) return fail('NO_CHANGE', `topic "${c.name}": configs are unchanged`);
  return { topics: new Map(s.topics).set(c.name, { ...topic, configs }) };
}

function sortedConfigs(entries: [string, string][]): Record<string, string> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The configs this state machine interprets; any other name is stored as given. */
function checkConfigs(configs: Readonly<Record<string, string>>): string | null {
  for (const [k, v] of Object.entries(configs)) {
    if (k === 'min.insync.replicas' && !/^[1-9][0-9]{0,8}$/.test(v)) return `min.insync.replicas=${v} is invalid: expected an integer >= 1`;
    if (k === 'unclean.leader.election.enable' && v !== 'true' && v !== 'false') return `unclean.leader.election.enable=${v} is invalid: expected true or false`;
  }
  return null;
}

function checkReplicas(s: MetadataState, replicas: readonly number[]): string | null {
  if (new Set(replicas).size !== replicas.length) return `replicas [${replicas.join(',')}] name a broker twice`;
  const unknown = replicas.find((r) => !s.brokers.has(r));
  return unknown === undefined ? null : `replica ${unknown} is not a registered broker`;
}

/** ISR non-empty, distinct, within the replicas; leader NO_LEADER or an unfenced ISR member. */
function checkLeaderAndIsr(s: MetadataState, p: PartitionState, where: string): MetadataError | null {
  if (p.isr.length === 0 || new Set(p.isr).size !== p.isr.length) return { code: 'INVALID_ISR', message: `${where}: ISR [${p.isr.join(',')}] must be non-empty without duplicates` };
  const outside = p.isr.find((r) => !p.replicas.includes(r));
  if (outside !== undefined) return { code: 'INVALID_ISR', message: `${where}: ISR member ${outside} is not a replica [${p.replicas.join(',')}]` };
  if (p.leader === NO_LEADER) return null;
  if (!p.isr.includes(p.leader)) return { code: 'INVALID_LEADER', message: `${where}: leader ${p.leader} is not in the ISR [${p.isr.join(',')}]` };
  const broker = s.brokers.get(p.leader);
  if (!broker || broker.fenced) return { code: 'INVALID_LEADER', message: `${where}: leader ${p.leader} is ${broker ? 'fenced' : 'not a registered broker'}` };
  return null;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Structural invariants every reachable state satisfies (used when loading snapshots, and in tests). */
export function checkInvariants(s: MetadataState): string[] {
  const problems: string[] = [];
  for (const [id, b] of s.brokers) if (id !== b.brokerId) problems.push(`broker keyed ${id} has id ${b.brokerId}`);
  for (const [name, t] of s.topics) {
    if (name !== t.name) problems.push(`topic keyed "${name}" is named "${t.name}"`);
    const configError = checkConfigs(t.configs);
    if (configError) problems.push(`topic "${name}": ${configError}`);
    if (t.partitions.length === 0) problems.push(`topic "${name}" has no partitions`);
    t.partitions.forEach((p, i) => {
      const where = `topic "${name}" partition ${i}`;
      if (p.partition !== i) problems.push(`${where} is numbered ${p.partition}`);
      if (p.replicas.length !== t.replicationFactor) problems.push(`${where} has ${p.replicas.length} replicas, replication factor is ${t.replicationFactor}`);
      const replicasError = checkReplicas(s, p.replicas);
      if (replicasError) problems.push(`${where}: ${replicasError}`);
      // A leader may be fenced between a FenceBroker and the ChangePartition that moves leadership.
      const isrError = checkLeaderAndIsr(s, p, where);
      if (isrError && !(isrError.code === 'INVALID_LEADER' && s.brokers.get(p.leader)?.fenced)) problems.push(isrError.message);
    });
  }
  return problems;
}

/**
 * Where clients that came in on listener `listenerName` reach broker `b` (Kafka answers Metadata and
 * FindCoordinator per listener): its endpoint on that listener, null when it has none (then it is
 * left out, as Kafka does), or host:port for a registration without listeners.
 */
export function brokerEndpoint(b: BrokerState, listenerName: string | undefined): { host: string; port: number } | null {
  if (!b.listeners || listenerName === undefined) return { host: b.host, port: b.port };
  const l = b.listeners.find((x) => x.name === listenerName);
  return l ? { host: l.host, port: l.port } : null;
}
