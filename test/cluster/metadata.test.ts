// The controller's metadata state machine: apply(), placement, election decisions, snapshots.
import { describe, expect, it } from 'vitest';
import {
  apply, assignReplicas, canAcceptAcksAll, checkInvariants, decodeCommand, deserializeSnapshot, electLeaders, emptyMetadataState,
  encodeCommand, fenceExpiredBrokers, isrChanges, minInsyncReplicas, NO_LEADER, planCreatePartitions, planCreateTopic, preferredLeaderChanges, serializeSnapshot,
  type ChangePartition, type CreateTopic, type MetadataCommand, type MetadataErrorCode, type MetadataState, type PartitionState,
} from '../../broker/cluster/metadata/index.ts';
import { intBetween, mulberry32, type Prng } from '../helpers/prng.ts';

const SESSION_MS = 1_000;

/** Applies at the next index; the command must be accepted. */
function ok(s: MetadataState, cmd: MetadataCommand): MetadataState {
  const r = apply(s, s.offset + 1, cmd);
  if (!r.ok) throw new Error(`${cmd.type} rejected: ${r.error.code}: ${r.error.message}`);
  return r.state;
}

const okAll = (s: MetadataState, cmds: readonly MetadataCommand[]): MetadataState => cmds.reduce(ok, s);

/** Brokers 1..n registered (epoch 10), heartbeated at nowMs and unfenced. */
function cluster(n: number, nowMs = 0): MetadataState {
  let s = emptyMetadataState({ brokerSessionTimeoutMs: SESSION_MS });
  for (let id = 1; id <= n; id++) {
    s = revive(ok(s, { type: 'RegisterBroker', brokerId: id, host: `b${id}.local`, port: 9092, incarnationId: `inc-${id}`, epoch: 10 }), id, nowMs);
  }
  return s;
}

function withTopic(s: MetadataState, name: string, partitions: number, rf: number, configs: Record<string, string> = {}): MetadataState {
  const plan = planCreateTopic(s, { name, partitions, replicationFactor: rf, configs });
  if (!plan.ok) throw new Error(plan.error.message);
  return ok(s, plan.command);
}

const part = (s: MetadataState, topic: string, p = 0): PartitionState => s.topics.get(topic)!.partitions[p];

const fence = (s: MetadataState, brokerId: number): MetadataState => ok(s, { type: 'FenceBroker', brokerId, epoch: s.brokers.get(brokerId)!.epoch, reason: 'test' });

/** Heartbeat at nowMs, then unfence. */
function revive(s: MetadataState, brokerId: number, nowMs: number): MetadataState {
  const epoch = s.brokers.get(brokerId)!.epoch;
  return okAll(s, [{ type: 'BrokerHeartbeat', brokerId, epoch, nowMs }, { type: 'UnfenceBroker', brokerId, epoch }]);
}

function expectRejected(s: MetadataState, cmd: MetadataCommand, code: MetadataErrorCode, message?: RegExp, index = s.offset + 1): void {
  const before = serializeSnapshot(s);
  const r = apply(s, index, cmd);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  if (message) expect(r.error.message).toMatch(message);
  expect(r.state).toBe(s);
  expect(serializeSnapshot(r.state)).toBe(before);
}

describe('broker registration, heartbeat and fencing', () => {
  it('registers fenced, unfences after a heartbeat, and is fenced when its lease expires', () => {
    let s = ok(emptyMetadataState({ brokerSessionTimeoutMs: SESSION_MS }), { type: 'RegisterBroker', brokerId: 1, host: 'h', port: 9092, incarnationId: 'a', epoch: 5 });
    expect(s.brokers.get(1)).toMatchObject({ fenced: true, leaseExpiresAtMs: null, epoch: 5 });
    expectRejected(s, { type: 'UnfenceBroker', brokerId: 1, epoch: 5 }, 'BROKER_NOT_READY', /heartbeat/);
    expectRejected(s, { type: 'BrokerHeartbeat', brokerId: 1, epoch: 4, nowMs: 100 }, 'STALE_BROKER_EPOCH');
    expectRejected(s, { type: 'BrokerHeartbeat', brokerId: 2, epoch: 5, nowMs: 100 }, 'UNKNOWN_BROKER', /broker 2 is not registered/);
    s = revive(s, 1, 100);
    expect(s.brokers.get(1)).toMatchObject({ fenced: false, leaseExpiresAtMs: 1_100 });
    s = ok(s, { type: 'BrokerHeartbeat', brokerId: 1, epoch: 5, nowMs: 600 });
    expect(s.brokers.get(1)!.leaseExpiresAtMs).toBe(1_600);
    s = ok(s, { type: 'BrokerHeartbeat', brokerId: 1, epoch: 5, nowMs: 200 }); // a late heartbeat never shortens the lease
    expect(s.brokers.get(1)!.leaseExpiresAtMs).toBe(1_600);

    expect(fenceExpiredBrokers(s, 1_599)).toEqual([]);
    const fences = fenceExpiredBrokers(s, 1_600);
    expect(fences).toMatchObject([{ type: 'FenceBroker', brokerId: 1, epoch: 5 }]);
    expect(fences[0].reason).toMatch(/lease expired/);
    s = okAll(s, fences);
    expect(s.brokers.get(1)).toMatchObject({ fenced: true, leaseExpiresAtMs: null });
    expect(fenceExpiredBrokers(s, 99_999)).toEqual([]);
    expectRejected(s, fences[0], 'NO_CHANGE', /already fenced/);

    // Re-registration (a restart) needs a newer epoch; a fence decided for the old incarnation no longer applies.
    expectRejected(s, { type: 'RegisterBroker', brokerId: 1, host: 'h', port: 9092, incarnationId: 'b', epoch: 5 }, 'STALE_BROKER_EPOCH', /5 is not greater than its current epoch 5/);
    s = ok(s, { type: 'RegisterBroker', brokerId: 1, host: 'h2', port: 9093, incarnationId: 'b', epoch: 9 });
    s = revive(s, 1, 5_000);
    expect(s.brokers.get(1)).toMatchObject({ host: 'h2', port: 9093, incarnationId: 'b', epoch: 9, fenced: false });
    expectRejected(s, { type: 'FenceBroker', brokerId: 1, epoch: 5, reason: 'stale' }, 'STALE_BROKER_EPOCH');
  });
});

describe('topic creation and placement', () => {
  it('spreads leaders of an RF 3 topic over all 3 brokers, never a broker twice in a partition', () => {
    const s = withTopic(cluster(3), 'orders', 3, 3);
    const parts = s.topics.get('orders')!.partitions;
    expect(new Set(parts.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));
    for (const p of parts) {
      expect(new Set(p.replicas).size).toBe(3);
      expect(p).toMatchObject({ leader: p.replicas[0], isr: p.replicas, leaderEpoch: 0, partitionEpoch: 0 });
    }
  });

  it('rotates leaders evenly and spreads followers with a start offset (Kafka round-robin)', () => {
    const placed = assignReplicas([5, 1, 4, 2, 3], 10, 3, { startIndex: 2, replicaShift: 1 });
    if (!placed.ok) throw new Error(placed.error.message);
    expect(placed.assignments[0].leader).toBe(3); // sorted [1..5], start index 2
    const leads = new Map<number, number>();
    const hosts = new Map<number, number>();
    for (const a of placed.assignments) {
      expect(new Set(a.replicas).size).toBe(3);
      leads.set(a.leader, (leads.get(a.leader) ?? 0) + 1);
      for (const r of a.replicas) hosts.set(r, (hosts.get(r) ?? 0) + 1);
    }
    expect([...leads.values()]).toEqual([2, 2, 2, 2, 2]);
    expect([...hosts.values()]).toEqual([6, 6, 6, 6, 6]);
  });

  it('refuses a replication factor above the live brokers, naming both numbers', () => {
    const s = fence(cluster(3), 2);
    const plan = planCreateTopic(s, { name: 't', partitions: 1, replicationFactor: 3 });
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.error.code).toBe('INVALID_REPLICATION_FACTOR');
    expect(plan.error.message).toBe('replication factor 3 is larger than the number of available (unfenced) brokers, 2');
    expect(planCreateTopic(s, { name: 't', partitions: 2, replicationFactor: 2 }).ok).toBe(true);
  });
});

describe('adding partitions', () => {
  it('grows a topic with new partitions of the same replication factor, leaders continuing the rotation', () => {
    let s = withTopic(cluster(3), 'orders', 3, 2);
    const before = s.topics.get('orders')!.partitions;
    const plan = planCreatePartitions(s, 'orders', 7);
    if (!plan.ok) throw new Error(plan.error.message);
    expect(plan.command.partitions).toHaveLength(4);
    s = ok(s, plan.command);
    const after = s.topics.get('orders')!.partitions;
    expect(after.slice(0, 3)).toEqual(before);
    expect(after.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const p of after.slice(3)) expect(p).toMatchObject({ leader: p.replicas[0], isr: p.replicas, leaderEpoch: 0, partitionEpoch: 0 });
    expect(after.every((p) => p.replicas.length === 2)).toBe(true);
    // Leaders keep rotating over the three brokers: partitions 0-5 have each broker leading twice.
    const leads = new Map<number, number>();
    for (const p of after.slice(0, 6)) leads.set(p.leader, (leads.get(p.leader) ?? 0) + 1);
    expect([...leads.values()]).toEqual([2, 2, 2]);
    expect(checkInvariants(s)).toEqual([]);
    const loaded = deserializeSnapshot(serializeSnapshot(s));
    if (!loaded.ok) throw new Error(loaded.error);
    expect(loaded.state).toEqual(s);
  });

  it('refuses an unknown topic, a count that does not grow it, and partitions of another replication factor', () => {
    const s = withTopic(cluster(3), 'orders', 3, 2);
    expect(planCreatePartitions(s, 'nope', 4)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TOPIC' } });
    expect(planCreatePartitions(s, 'orders', 3)).toMatchObject({ ok: false, error: { code: 'INVALID_PARTITIONS', message: expect.stringMatching(/has 3 partitions; the new count must be larger, got 3/) } });
    expectRejected(s, { type: 'CreatePartitions', name: 'orders', partitions: [{ replicas: [1, 2, 3], leader: 1, isr: [1, 2, 3], leaderEpoch: 0 }] }, 'INVALID_REPLICATION_FACTOR', /expected replication factor 2/);
    expectRejected(s, { type: 'CreatePartitions', name: 'orders', partitions: [{ replicas: [1, 9], leader: 1, isr: [1, 9], leaderEpoch: 0 }] }, 'INVALID_ASSIGNMENT', /replica 9 is not a registered broker/);
    expectRejected(s, { type: 'CreatePartitions', name: 'nope', partitions: [{ replicas: [1, 2], leader: 1, isr: [1, 2], leaderEpoch: 0 }] }, 'UNKNOWN_TOPIC');
  });
});

describe('leader election', () => {
  it('fails over to an in-sync replica, bumps the leader epoch and shrinks the ISR', () => {
    let s = withTopic(cluster(3), 'orders', 3, 3);
    const before = part(s, 'orders', 0);
    s = fence(s, before.leader);
    const { commands, offline } = electLeaders(s);
    expect(offline).toEqual([]);
    expect(commands).toHaveLength(3); // the fenced broker leaves every ISR, and leads one partition
    s = okAll(s, commands);
    const after = part(s, 'orders', 0);
    expect(after.leader).not.toBe(before.leader);
    expect(before.isr).toContain(after.leader);
    expect(after.leaderEpoch).toBe(before.leaderEpoch + 1);
    expect(after.isr).toEqual(before.isr.filter((r) => r !== before.leader));
    for (const p of s.topics.get('orders')!.partitions) expect(p.isr).not.toContain(before.leader);
    expect(part(s, 'orders', 1).leaderEpoch).toBe(0); // follower-only shrink keeps the leader epoch
    expect(electLeaders(s).commands).toEqual([]);
    expect(checkInvariants(s)).toEqual([]);
  });

  it('takes a partition offline (leader -1) when no in-sync replica is left, and brings it back clean', () => {
    let s = withTopic(cluster(3), 't', 1, 2);
    const [first, second] = part(s, 't').replicas;
    s = fence(s, second);
    s = okAll(s, electLeaders(s).commands);
    expect(part(s, 't')).toMatchObject({ leader: first, isr: [first], leaderEpoch: 0 });
    s = fence(s, first);
    const { commands, offline } = electLeaders(s);
    expect(offline).toEqual([{ topic: 't', partition: 0, reason: expect.stringMatching(/unclean leader election is disabled/) }]);
    s = okAll(s, commands);
    expect(part(s, 't')).toMatchObject({ leader: NO_LEADER, isr: [first], leaderEpoch: 1 });
    expect(canAcceptAcksAll(part(s, 't'), 1)).toBe(false);
    // The out-of-sync replica coming back does not lead: that would lose acknowledged writes.
    s = revive(s, second, 10_000);
    expect(electLeaders(s).commands).toEqual([]);
    expect(electLeaders(s).offline).toHaveLength(1);
    s = revive(s, first, 10_000);
    s = okAll(s, electLeaders(s).commands);
    expect(part(s, 't')).toMatchObject({ leader: first, isr: [first], leaderEpoch: 2 });
  });

  it('elects an out-of-sync replica only when unclean leader election is enabled', () => {
    let s = withTopic(cluster(2), 't', 1, 2, { 'unclean.leader.election.enable': 'true' });
    const [first, second] = part(s, 't').replicas;
    s = fence(s, second);
    s = okAll(s, electLeaders(s).commands);
    s = fence(s, first);
    s = revive(s, second, 5_000);
    s = okAll(s, electLeaders(s).commands);
    expect(part(s, 't')).toMatchObject({ leader: second, isr: [second], leaderEpoch: 1 });
  });
});

describe('preferred leader election', () => {
  /** Grows the ISR back to every replica, as the leader does once a returning follower caught up. */
  const allInSync = (s: MetadataState, topic: string): MetadataState =>
    okAll(s, s.topics.get(topic)!.partitions.filter((p) => p.isr.length < p.replicas.length).map((p): ChangePartition => ({
      type: 'ChangePartition', topic, partition: p.partition, leader: p.leader, isr: [...p.replicas], leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
    })));

  it('moves leadership back to a returned broker once it is in sync, bumping the leader epoch and keeping the ISR', () => {
    let s = withTopic(cluster(3), 'orders', 6, 3);
    const preferredBy1 = s.topics.get('orders')!.partitions.filter((p) => p.replicas[0] === 1).map((p) => p.partition);
    expect(preferredBy1.length).toBe(2);
    expect(preferredLeaderChanges(s)).toEqual([]);
    s = fence(s, 1);
    s = okAll(s, electLeaders(s).commands);
    for (const p of preferredBy1) expect(part(s, 'orders', p).leader).not.toBe(1);
    // Back, but not yet in sync: it may not lead.
    s = revive(s, 1, 5_000);
    expect(preferredLeaderChanges(s)).toEqual([]);
    s = allInSync(s, 'orders');
    const before = preferredBy1.map((p) => part(s, 'orders', p));
    const changes = preferredLeaderChanges(s);
    expect(changes.map((c) => [c.partition, c.leader])).toEqual(preferredBy1.map((p) => [p, 1]));
    s = okAll(s, changes);
    preferredBy1.forEach((p, i) => expect(part(s, 'orders', p)).toMatchObject({ leader: 1, leaderEpoch: before[i].leaderEpoch + 1, isr: before[i].isr }));
    expect(new Set(s.topics.get('orders')!.partitions.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));
    expect(preferredLeaderChanges(s)).toEqual([]);
    expect(checkInvariants(s)).toEqual([]);
  });

  it('leaves a fenced preferred replica alone, and acts only past the imbalance percentage', () => {
    let s = withTopic(cluster(3), 't', 30, 3);
    s = fence(s, 2);
    s = okAll(s, electLeaders(s).commands);
    expect(preferredLeaderChanges(s)).toEqual([]);
    s = revive(s, 2, 5_000);
    s = allInSync(s, 't');
    // Broker 2 should lead 10 partitions and leads none: 100 % misplaced.
    expect(preferredLeaderChanges(s, 10)).toHaveLength(10);
    expect(preferredLeaderChanges(s, 100)).toEqual([]);
    // Give back all but one: 1 of 10 misplaced is 10 %, not more than the default threshold.
    const changes = preferredLeaderChanges(s);
    s = okAll(s, changes.slice(1));
    expect(preferredLeaderChanges(s)).toEqual([]);
    expect(preferredLeaderChanges(s, 5).map((c) => c.partition)).toEqual([changes[0].partition]);
  });
});

describe('ISR shrink and grow', () => {
  it('drops lagging followers, never the leader, and lets them back once caught up', () => {
    let s = withTopic(cluster(3), 't', 1, 3, { 'min.insync.replicas': '2' });
    const [leader, f1, f2] = part(s, 't').replicas;
    const lag = (brokerId: number, caughtUpAtMs: number) => ({ topic: 't', partition: 0, brokerId, caughtUpAtMs });
    expect(isrChanges(s, [lag(f1, 95_000), lag(f2, 80_000)], 100_000, 30_000)).toEqual([]);
    s = okAll(s, isrChanges(s, [lag(f1, 95_000), lag(f2, 60_000), lag(leader, 0)], 100_000, 30_000));
    expect(part(s, 't')).toMatchObject({ leader, isr: [leader, f1], leaderEpoch: 0, partitionEpoch: 1 });
    const topic = s.topics.get('t')!;
    expect(minInsyncReplicas(topic)).toBe(2);
    expect(canAcceptAcksAll(part(s, 't'), minInsyncReplicas(topic))).toBe(true);
    s = okAll(s, isrChanges(s, [lag(f1, 0), lag(f2, 0)], 100_000, 30_000));
    expect(part(s, 't').isr).toEqual([leader]);
    expect(canAcceptAcksAll(part(s, 't'), minInsyncReplicas(topic))).toBe(false);
    s = okAll(s, isrChanges(s, [lag(f2, 99_000), lag(f2, 10)], 100_000, 30_000));
    expect(part(s, 't')).toMatchObject({ leader, isr: [leader, f2], leaderEpoch: 0, partitionEpoch: 3 });
    // A fenced replica does not rejoin even if its last report looked caught up.
    s = fence(s, f1);
    expect(isrChanges(s, [lag(f1, 100_000)], 100_000, 30_000)).toEqual([]);
  });
});

describe('invalid commands', () => {
  it('are rejected with a reason and leave the state unchanged', () => {
    let s = withTopic(cluster(3), 't', 2, 2);
    s = ok(s, { type: 'RegisterBroker', brokerId: 9, host: 'h9', port: 1, incarnationId: 'x', epoch: 1 }); // registered, fenced
    const p = part(s, 't');
    const other = [1, 2, 3].find((b) => !p.replicas.includes(b))!;
    const change = (c: Partial<ChangePartition>): ChangePartition => ({ type: 'ChangePartition', topic: 't', partition: 0, leader: p.leader, isr: [...p.isr], leaderEpoch: 0, partitionEpoch: 0, ...c });
    expectRejected(s, change({ leader: p.replicas[1], isr: [p.leader], leaderEpoch: 1 }), 'INVALID_LEADER', /is not in the ISR/);
    expectRejected(s, change({ leader: p.replicas[1] }), 'STALE_LEADER_EPOCH', /must increase the leader epoch/);
    expectRejected(s, change({ isr: [p.leader, other] }), 'INVALID_ISR', new RegExp(`ISR member ${other} is not a replica`));
    expectRejected(s, change({ isr: [p.leader, p.leader] }), 'INVALID_ISR', /duplicates/);
    expectRejected(s, change({ partitionEpoch: 7, isr: [p.leader] }), 'STALE_PARTITION_EPOCH');
    expectRejected(s, change({ partition: 2 }), 'UNKNOWN_PARTITION', /has 2 partitions/);
    expectRejected(s, change({ topic: 'nope' }), 'UNKNOWN_TOPIC');
    expectRejected(s, change({}), 'NO_CHANGE');
    expectRejected(s, change({ isr: [p.leader] }), 'STALE_INDEX', /not after the last applied index/, s.offset);
    const s2 = ok(s, change({ leader: p.replicas[1], leaderEpoch: 3 }));
    expectRejected(s2, change({ leader: p.leader, leaderEpoch: 2, partitionEpoch: 1 }), 'STALE_LEADER_EPOCH', /older than the current 3/);

    const create = planCreateTopic(s, { name: 't', partitions: 1, replicationFactor: 1 });
    expect(create.ok).toBe(false);
    const t2: CreateTopic = { type: 'CreateTopic', name: 't', replicationFactor: 1, configs: {}, partitions: [{ replicas: [1], leader: 1, isr: [1], leaderEpoch: 0 }] };
    expectRejected(s, t2, 'DUPLICATE_TOPIC', /already exists/);
    expectRejected(s, { ...t2, name: 'u', partitions: [{ replicas: [7], leader: 7, isr: [7], leaderEpoch: 0 }] }, 'INVALID_ASSIGNMENT', /replica 7 is not a registered broker/);
    expectRejected(s, { ...t2, name: 'u', partitions: [{ replicas: [9], leader: 9, isr: [9], leaderEpoch: 0 }] }, 'INVALID_LEADER', /leader 9 is fenced/);
    expectRejected(s, { ...t2, name: 'u', replicationFactor: 2 }, 'INVALID_REPLICATION_FACTOR');
    expectRejected(s, { ...t2, name: 'u', configs: { 'min.insync.replicas': '0' } }, 'INVALID_CONFIG', /min.insync.replicas=0/);
    expectRejected(s, { type: 'AlterTopicConfig', name: 't', configs: { 'unclean.leader.election.enable': 'yes' } }, 'INVALID_CONFIG');
    expectRejected(s, { type: 'DeleteTopic', name: 'constructor' }, 'UNKNOWN_TOPIC');
    expectRejected(s, { type: 'UnfenceBroker', brokerId: 1, epoch: 10 }, 'NO_CHANGE', /not fenced/);
  });

  it('are caught by the schema when decoded', () => {
    expect(decodeCommand('{"type":"DeleteTopic","name":"a"}')).toEqual({ ok: true, command: { type: 'DeleteTopic', name: 'a' } });
    for (const bad of ['{', '{"type":"Nope"}', '{"type":"DeleteTopic","name":".."}', '{"type":"DeleteTopic","name":"a","extra":1}', '{"type":"BrokerHeartbeat","brokerId":1,"epoch":1.5,"nowMs":0}', '{"type":"CreateTopic","name":"a","replicationFactor":1,"configs":{},"partitions":[{"replicas":[1],"leader":1,"isr":[1],"leaderEpoch":1}]}', '{"type":"AlterTopicConfig","name":"a","configs":{"__proto__":"x"}}']) {
      const r = decodeCommand(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/metadata record/);
    }
  });
});

/** A random log mixing controller decisions (mostly valid) with raw commands (often invalid). */
function randomLog(rng: Prng, steps: number): MetadataCommand[] {
  let s = emptyMetadataState({ brokerSessionTimeoutMs: SESSION_MS });
  const log: MetadataCommand[] = [];
  let now = 0;
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[intBetween(rng, 0, xs.length - 1)] : undefined);
  const topics = ['a', 'b', 'c', 'constructor'];
  for (let i = 0; i < steps; i++) {
    now += intBetween(rng, 0, 400);
    const id = intBetween(rng, 1, 5);
    const epoch = s.brokers.get(id)?.epoch ?? 0;
    const roll = intBetween(rng, 0, 9);
    let batch: MetadataCommand[] = [];
    if (roll === 0) batch = [{ type: 'RegisterBroker', brokerId: id, host: `h${id}`, port: 9000 + id, incarnationId: `i${i}`, epoch: Math.max(0, epoch + intBetween(rng, -1, 3)) }];
    else if (roll <= 2) batch = [{ type: 'BrokerHeartbeat', brokerId: id, epoch, nowMs: now }, { type: 'UnfenceBroker', brokerId: id, epoch }];
    else if (roll === 3) batch = fenceExpiredBrokers(s, now);
    else if (roll === 4) batch = electLeaders(s, { uncleanLeaderElection: rng() < 0.2 }).commands;
    else if (roll === 5) {
      const name = pick(topics)!;
      const plan = planCreateTopic(s, { name, partitions: intBetween(rng, 1, 4), replicationFactor: intBetween(rng, 1, 3) }, { startIndex: intBetween(rng, 0, 4), replicaShift: intBetween(rng, 0, 4) });
      const grow = planCreatePartitions(s, name, (s.topics.get(name)?.partitions.length ?? 0) + intBetween(rng, 0, 2), { startIndex: intBetween(rng, 0, 4) });
      batch = plan.ok ? [plan.command] : rng() < 0.3 ? [{ type: 'DeleteTopic', name: pick(topics)! }] : grow.ok ? [grow.command] : [];
    } else if (roll === 6) {
      const lags = [...s.topics.values()].flatMap((t) => t.partitions.flatMap((p) => p.replicas.map((r) => ({ topic: t.name, partition: p.partition, brokerId: r, caughtUpAtMs: now - intBetween(rng, 0, 2_000) }))));
      batch = isrChanges(s, lags, now, 1_000);
    } else if (roll === 7) batch = [{ type: 'AlterTopicConfig', name: pick(topics)!, configs: { 'min.insync.replicas': rng() < 0.2 ? null : String(intBetween(rng, 0, 3)) } }];
    else {
      const t = pick([...s.topics.values()]);
      const p = t && pick(t.partitions);
      if (t && p) {
        const isr = p.replicas.filter(() => rng() < 0.7);
        batch = [{ type: 'ChangePartition', topic: t.name, partition: p.partition, leader: pick([...isr, NO_LEADER, 4]) ?? NO_LEADER, isr: isr.length ? isr : [4], leaderEpoch: Math.max(0, p.leaderEpoch + intBetween(rng, -1, 1)), partitionEpoch: p.partitionEpoch + (rng() < 0.1 ? 1 : 0) }];
      }
    }
    for (const cmd of batch) {
      log.push(cmd);
      s = apply(s, log.length, cmd).state;
    }
  }
  return log;
}

describe('determinism and snapshots', () => {
  it('gives identical states from the same log, keeps invariants, and snapshots round-trip', () => {
    for (const seed of [1, 2, 3, 42]) {
      const log = randomLog(mulberry32(seed), 400);
      let a = emptyMetadataState({ brokerSessionTimeoutMs: SESSION_MS });
      let b = emptyMetadataState({ brokerSessionTimeoutMs: SESSION_MS });
      let fromSnapshot: MetadataState | null = null;
      let accepted = 0;
      const acceptedTypes = new Set<string>();
      log.forEach((cmd, i) => {
        const ra = apply(a, i + 1, cmd);
        const decoded = decodeCommand(encodeCommand(cmd));
        if (!decoded.ok) throw new Error(decoded.error);
        b = apply(b, i + 1, decoded.command).state;
        if (ra.ok) {
          accepted++;
          acceptedTypes.add(cmd.type === 'ChangePartition' && cmd.leader !== a.topics.get(cmd.topic)?.partitions[cmd.partition].leader ? 'LeaderChange' : cmd.type);
        }
        a = ra.state;
        expect(checkInvariants(a)).toEqual([]);
        if (fromSnapshot) fromSnapshot = apply(fromSnapshot, i + 1, cmd).state;
        if (i === Math.floor(log.length / 2)) {
          const loaded = deserializeSnapshot(serializeSnapshot(a));
          if (!loaded.ok) throw new Error(loaded.error);
          fromSnapshot = loaded.state;
        }
      });
      expect(accepted).toBeGreaterThan(log.length / 4);
      expect(accepted).toBeLessThan(log.length);
      expect([...acceptedTypes].sort()).toEqual(['AlterTopicConfig', 'BrokerHeartbeat', 'ChangePartition', 'CreatePartitions', 'CreateTopic', 'DeleteTopic', 'FenceBroker', 'LeaderChange', 'RegisterBroker', 'UnfenceBroker']);
      expect(b).toEqual(a);
      expect(fromSnapshot).toEqual(a);
      const text = serializeSnapshot(a);
      const loaded = deserializeSnapshot(text);
      if (!loaded.ok) throw new Error(loaded.error);
      expect(loaded.state).toEqual(a);
      expect(serializeSnapshot(loaded.state)).toBe(text);
      expect(serializeSnapshot(b)).toBe(text);
    }
  });

  it('rejects malformed or inconsistent snapshots with a reason', () => {
    const s = withTopic(cluster(2), 't', 1, 2);
    const good = JSON.parse(serializeSnapshot(s));
    expect(deserializeSnapshot('nope')).toMatchObject({ ok: false, error: expect.stringMatching(/not valid JSON/) });
    expect(deserializeSnapshot(JSON.stringify({ ...good, version: 2 }))).toMatchObject({ ok: false, error: expect.stringMatching(/unsupported metadata snapshot version 2/) });
    const badLeader = structuredClone(good);
    badLeader.topics[0].partitions[0].isr = [badLeader.topics[0].partitions[0].replicas[1]];
    expect(deserializeSnapshot(JSON.stringify(badLeader))).toMatchObject({ ok: false, error: expect.stringMatching(/is not in the ISR/) });
    const dup = { ...good, brokers: [...good.brokers, good.brokers[0]] };
    expect(deserializeSnapshot(JSON.stringify(dup))).toMatchObject({ ok: false, error: expect.stringMatching(/appears twice/) });
  });
});
