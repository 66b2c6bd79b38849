// Replica placement for a new topic, computed by the controller before it proposes CreateTopic.
//
// Kafka's rack-unaware round-robin (AdminUtils.assignReplicasToBrokersRackUnaware): with the live
// brokers sorted by id, partition p's first replica (its preferred leader) is broker
// (p + startIndex) mod n, so leaders rotate over every broker; the followers come after it at a
// shift that grows by one every n partitions, so followers spread too. No broker appears twice in
// a partition. startIndex and replicaShift are inputs (random in the controller, fixed in tests),
// which keeps this function pure.
import type { CreatePartitions, CreateTopic, PartitionAssignment } from './commands.ts';
import type { MetadataError, MetadataState } from './state.ts';

export interface PlacementOptions {
  /** Where the leader rotation starts, as an index into the sorted live brokers. Default 0. */
  readonly startIndex?: number;
  /** Initial follower shift. Default 0. */
  readonly replicaShift?: number;
}

export type PlacementResult =
  | { readonly ok: true; readonly assignments: PartitionAssignment[] }
  | { readonly ok: false; readonly error: MetadataError };

/** Ids of the brokers new replicas may be placed on: registered and unfenced, ascending. */
export function liveBrokerIds(state: MetadataState): number[] {
  return [...state.brokers.values()]
    .filter((b) => !b.fenced)
    .map((b) => b.brokerId)
    .sort((a, b) => a - b);
}

export function assignReplicas(brokerIds: readonly number[], partitions: number, replicationFactor: number, options: PlacementOptions = {}): PlacementResult {
  const fail = (code: MetadataError['code'], message: string): PlacementResult => ({ ok: false, error: { code, message } });
  if (!Number.isSafeInteger(partitions) || partitions < 1) return fail('INVALID_ASSIGNMENT', `number of partitions must be a positive integer, got ${partitions}`);
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1) return fail('INVALID_REPLICATION_FACTOR', `replication factor must be a positive integer, got ${replicationFactor}`);
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  const n = brokers.length;
  if (replicationFactor > n) {
    return fail('INVALID_REPLICATION_FACTOR', `replication factor ${replicationFactor} is larger than the number of available (unfenced) brokers, ${n}`);
  }
  const startIndex = nonNegative(options.startIndex ?? 0) % n;
  let shift = nonNegative(options.replicaShift ?? 0);
  const assignments: PartitionAssignment[] = [];
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift += 1;
    const first = (p + startIndex) % n;
    const replicas = [brokers[first]];
    // Offsets 1..n-1 from the first replica: distinct for j < n-1, so no broker repeats.
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(brokers[(first + 1 + ((shift + j) % (n - 1))) % n]);
    assignments.push({ replicas, leader: replicas[0], isr: [...replicas], leaderEpoch: 0 });
  }
  return { ok: true, assignments };
}

function nonNegative(x: number): number {
  return Number.isSafeInteger(x) && x > 0 ? x : 0;
}

export interface CreateTopicRequest {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
}

/** A record for the controller to propose, or why there is none. */
export type PlanResult<C = CreateTopic> = { readonly ok: true; readonly command: C } | { readonly ok: false; readonly error: MetadataError };

/** The CreateTopic record to propose, placing replicas on the state's live brokers. */
export function planCreateTopic(state: MetadataState, request: CreateTopicRequest, options: PlacementOptions = {}): PlanResult {
  if (state.topics.has(request.name)) return { ok: false, error: { code: 'DUPLICATE_TOPIC', message: `topic "${request.name}" already exists` } };
  const placed = assignReplicas(liveBrokerIds(state), request.partitions, request.replicationFactor, options);
  if (!placed.ok) return placed;
  const command: CreateTopic = {
    type: 'CreateTopic',
    name: request.name,
    replicationFactor: request.replicationFactor,
    configs: { ...request.configs },
    partitions: placed.assignments,
  };
  return { ok: true, command };
}

/**
 * The CreatePartitions record that grows topic `name` to `count` partitions, placing the new
 * partitions' replicas on the live brokers as for a new topic (same replication factor), with the
 * leader rotation continuing after the existing partitions.
 */
export function planCreatePartitions(state: MetadataState, name: string, count: number, options: PlacementOptions = {}): PlanResult<CreatePartitions> {
  const topic = state.topics.get(name);
  if (!topic) return { ok: false, error: { code: 'UNKNOWN_TOPIC', message: `topic "${name}" does not exist` } };
  const current = topic.partitions.length;
  if (!Number.isSafeInteger(count) || count <= current) {
    return { ok: false, error: { code: 'INVALID_PARTITIONS', message: `topic "${name}" has ${current} partitions; the new count must be larger, got ${count}` } };
  }
  const placed = assignReplicas(liveBrokerIds(state), count - current, topic.replicationFactor, { ...options, startIndex: (options.startIndex ?? 0) + current });
  if (!placed.ok) return placed;
  return { ok: true, command: { type: 'CreatePartitions', name, partitions: placed.assignments } };
}
