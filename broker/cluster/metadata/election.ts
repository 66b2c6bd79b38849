// Pure decisions the active controller takes from the metadata state and its clock. Each returns
// the commands to propose; nothing here changes state. The commands are computed against one
// state: apply them in order, and recompute after anything else was applied in between (a stale
// ChangePartition is rejected by its partitionEpoch, a stale FenceBroker by its broker epoch).
import type { ChangePartition, FenceBroker } from './commands.ts';
import { NO_LEADER, topicConfig, type MetadataState, type PartitionState, type TopicState } from './state.ts';

/** FenceBroker for every unfenced broker whose lease ended at or before nowMs. */
export function fenceExpiredBrokers(state: MetadataState, nowMs: number): FenceBroker[] {
  const commands: FenceBroker[] = [];
  for (const b of state.brokers.values()) {
    if (b.fenced || b.leaseExpiresAtMs === null || nowMs < b.leaseExpiresAtMs) continue;
    commands.push({ type: 'FenceBroker', brokerId: b.brokerId, epoch: b.epoch, reason: `lease expired at ${b.leaseExpiresAtMs} ms (now ${nowMs} ms, no heartbeat for ${state.brokerSessionTimeoutMs} ms)` });
  }
  return commands.sort((a, b) => a.brokerId - b.brokerId);
}

export interface OfflinePartition {
  readonly topic: string;
  readonly partition: number;
  readonly reason: string;
}

export interface ElectionOptions {
  /** Cluster default for unclean.leader.election.enable; a topic config overrides it. Default false. */
  readonly uncleanLeaderElection?: boolean;
}

export interface ElectionResult {
  readonly commands: ChangePartition[];
  /** Partitions left without a leader after the commands are applied, and why. */
  readonly offline: OfflinePartition[];
}

/**
 * Removes fenced brokers from every ISR and elects a new leader wherever the leader is fenced or
 * missing: the first replica (in assignment order) that is in the ISR and unfenced, with the leader
 * epoch bumped. With no such replica and unclean election off, the partition goes offline (leader
 * -1) and keeps its last in-sync member in the ISR, so that broker can lead again once it is back.
 */
export function electLeaders(state: MetadataState, options: ElectionOptions = {}): ElectionResult {
  const commands: ChangePartition[] = [];
  const offline: OfflinePartition[] = [];
  const live = (id: number): boolean => state.brokers.get(id)?.fenced === false;
  for (const topic of state.topics.values()) {
    for (const p of topic.partitions) {
      let isr = p.isr.filter(live);
      let leader = p.leader;
      let leaderEpoch = p.leaderEpoch;
      if (leader === NO_LEADER || !live(leader)) {
        const clean = p.replicas.find((r) => isr.includes(r));
        const unclean = uncleanAllowed(topic, options) ? p.replicas.find(live) : undefined;
        if (clean !== undefined) {
          leader = clean;
        } else if (unclean !== undefined) {
          leader = unclean; // data loss possible: the new leader was not in sync
          isr = [unclean];
        } else {
          leader = NO_LEADER;
          // Keep one member, preferably the last leader: the only brokers known to hold every write.
          isr = [p.leader !== NO_LEADER && p.isr.includes(p.leader) ? p.leader : p.isr[0]];
          offline.push({ topic: topic.name, partition: p.partition, reason: offlineReason(p, isr[0], uncleanAllowed(topic, options)) });
        }
        if (leader !== p.leader) leaderEpoch = p.leaderEpoch + 1;
      }
      if (leader === p.leader && sameList(isr, p.isr)) continue;
      commands.push(change(topic, p, leader, isr, leaderEpoch));
    }
  }
  return { commands, offline };
}

function uncleanAllowed(topic: TopicState, options: ElectionOptions): boolean {
  const configured = topicConfig(topic, 'unclean.leader.election.enable');
  return configured === undefined ? options.uncleanLeaderElection === true : configured === 'true';
}

function offlineReason(p: PartitionState, kept: number, unclean: boolean): string {
  const why = unclean ? 'and so is every other replica' : 'and unclean leader election is disabled';
  return `no eligible leader: every in-sync replica [${p.isr.join(',')}] is fenced ${why}; partition offline (leader -1) until broker ${kept} is unfenced`;
}

/** Kafka's leader.imbalance.per.broker.percentage default. */
export const DEFAULT_LEADER_IMBALANCE_PERCENT = 10;

/**
 * Preferred-replica election (Kafka's auto.leader.rebalance.enable): after failovers, leadership
 * piles up on the brokers that stayed up. For each broker, the partitions whose preferred replica
 * (the first in the assignment) it is but which another broker leads count as its imbalance; when
 * that is more than `imbalancePercent` of the partitions it should lead, leadership of those
 * partitions moves back to it, provided it is unfenced and in the ISR (a clean move: it holds every
 * committed record). The leader epoch is bumped; the ISR stays as it is.
 */
export function preferredLeaderChanges(state: MetadataState, imbalancePercent = DEFAULT_LEADER_IMBALANCE_PERCENT): ChangePartition[] {
  const preferredOf = new Map<number, { topic: TopicState; p: PartitionState }[]>();
  for (const topic of state.topics.values()) {
    for (const p of topic.partitions) {
      const preferred = p.replicas[0];
      if (preferred === undefined) continue;
      let list = preferredOf.get(preferred);
      if (!list) preferredOf.set(preferred, (list = []));
      list.push({ topic, p });
    }
  }
  const commands: ChangePartition[] = [];
  for (const [brokerId, partitions] of [...preferredOf].sort((a, b) => a[0] - b[0])) {
    if (state.brokers.get(brokerId)?.fenced !== false) continue;
    const misplaced = partitions.filter(({ p }) => p.leader !== brokerId);
    if (misplaced.length === 0 || (misplaced.length * 100) / partitions.length <= imbalancePercent) continue;
    for (const { topic, p } of misplaced) {
      if (p.isr.includes(brokerId)) commands.push(change(topic, p, brokerId, [...p.isr], p.leaderEpoch + 1));
    }
  }
  return commands;
}

/** What the leader reports about a follower: the last time the follower had caught up with it. */
export interface FollowerLag {
  readonly topic: string;
  readonly partition: number;
  readonly brokerId: number;
  readonly caughtUpAtMs: number;
}

/**
 * ISR shrink and grow (Kafka's replica.lag.time.max.ms): an ISR follower not caught up for more
 * than replicaLagTimeMaxMs leaves the ISR; an unfenced replica outside it that caught up within
 * that time joins it. The leader always stays; followers without a report are left as they are.
 * Offline partitions are left to electLeaders. The new ISR is kept in replica order.
 */
export function isrChanges(state: MetadataState, lags: readonly FollowerLag[], nowMs: number, replicaLagTimeMaxMs: number): ChangePartition[] {
  const latest = new Map<string, number>();
  for (const l of lags) {
    const key = JSON.stringify([l.topic, l.partition, l.brokerId]);
    latest.set(key, Math.max(latest.get(key) ?? -Infinity, l.caughtUpAtMs));
  }
  const commands: ChangePartition[] = [];
  for (const topic of state.topics.values()) {
    for (const p of topic.partitions) {
      if (p.leader === NO_LEADER) continue;
      const isr = p.replicas.filter((r) => {
        if (r === p.leader) return true;
        const caughtUpAtMs = latest.get(JSON.stringify([topic.name, p.partition, r]));
        if (caughtUpAtMs === undefined) return p.isr.includes(r);
        const inSync = nowMs - caughtUpAtMs <= replicaLagTimeMaxMs;
        return p.isr.includes(r) ? inSync : inSync && state.brokers.get(r)?.fenced === false;
      });
      if (sameMembers(isr, p.isr)) continue;
      commands.push(change(topic, p, p.leader, isr, p.leaderEpoch));
    }
  }
  return commands;
}

/** Whether a produce with acks=all may be accepted: a leader and at least minIsr in-sync replicas. */
export function canAcceptAcksAll(partition: PartitionState, minIsr: number): boolean {
  return partition.leader !== NO_LEADER && partition.isr.length >= minIsr;
}

/** The topic's min.insync.replicas, or the given cluster default. */
export function minInsyncReplicas(topic: TopicState, clusterDefault = 1): number {
  const v = topicConfig(topic, 'min.insync.replicas');
  return v === undefined ? clusterDefault : Number(v);
}

function change(topic: TopicState, p: PartitionState, leader: number, isr: number[], leaderEpoch: number): ChangePartition {
  return { type: 'ChangePartition', topic: topic.name, partition: p.partition, leader, isr, leaderEpoch, partitionEpoch: p.partitionEpoch };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
