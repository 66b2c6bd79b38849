// Three controllers in this process over real TCP: election, broker registration and heartbeats,
// topic placement, fencing on missed heartbeats, re-registration, and failover of the active controller.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../broker/cluster/free-ports.ts';
import { ControllerClient, startController, type QuorumVoter, type RunningController } from '../../broker/cluster/controller/index.ts';
import { NO_LEADER, type MetadataState } from '../../broker/cluster/metadata/index.ts';

const SESSION_MS = 1500;
const SECRET = Buffer.from('controller-cluster-test-secret-0123456789abcdef');
const FAST = {
  clusterSecret: SECRET,
  raft: { electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600, heartbeatIntervalMs: 50 },
  tickMs: 10,
  brokerSessionTimeoutMs: SESSION_MS,
  brokerHeartbeatIntervalMs: 200,
  requestTimeoutMs: 3000,
};

async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('controller quorum of three', () => {
  let dir: string;
  let voters: QuorumVoter[];
  const controllers = new Map<number, RunningController>();
  const clients: ControllerClient[] = [];
  const logs: string[] = [];
  const beating = new Map<number, NodeJS.Timeout>();
  const epochs = new Map<number, number>();
  let admin: ControllerClient;
  let watched: MetadataState | null = null;

  const leader = (): RunningController | undefined => [...controllers.values()].find((c) => c.isLeader());
  const state = (): MetadataState => leader()!.metadata();
  const client = (brokerId?: number): ControllerClient => {
    const c = new ControllerClient({ voters, requestTimeoutMs: 3000, clusterSecret: SECRET, brokerId });
    clients.push(c);
    return c;
  };
  const startHeartbeats = (brokerId: number, c: ControllerClient): void => {
    beating.set(brokerId, setInterval(() => void c.heartbeat({ brokerId, epoch: epochs.get(brokerId)! }).catch(() => undefined), 200));
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'controller-cluster-'));
    const ports = await freePorts(3);
    voters = ports.map((port, i) => ({ id: i + 1, host: '127.0.0.1', port }));
    const started = await Promise.all(voters.map((v) => startController({ ...FAST, nodeId: v.id, voters, dataDir: path.join(dir, `c${v.id}`), logger: (l) => logs.push(l) })));
    for (const c of started) controllers.set(c.nodeId, c);
    admin = client();
  });

  afterAll(async () => {
    if (process.env.CONTROLLER_LOG) console.log(logs.join('\n'));
    for (const t of beating.values()) clearInterval(t);
    for (const c of clients) c.close();
    await Promise.all([...controllers.values()].map((c) => c.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('elects a leader, registers and unfences brokers, spreads a topic over them, and publishes it', async () => {
    const elected = await waitFor('a leader', leader, 5000);
    expect(elected.term()).toBeGreaterThan(0);
    for (const c of controllers.values()) await waitFor(`controller ${c.nodeId} to know the leader`, () => c.leaderId() === elected.nodeId);

    for (const brokerId of [1, 2, 3]) {
      const c = client(brokerId);
      const r = await c.register({ brokerId, host: '127.0.0.1', port: 19000 + brokerId, incarnationId: `inc-${brokerId}-a` });
      expect(r).toMatchObject({ brokerSessionTimeoutMs: SESSION_MS, brokerHeartbeatIntervalMs: 200 });
      epochs.set(brokerId, r.epoch);
      // A retried registration of the same incarnation keeps its epoch.
      expect((await c.register({ brokerId, host: '127.0.0.1', port: 19000 + brokerId, incarnationId: `inc-${brokerId}-a` })).epoch).toBe(r.epoch);
      expect(await c.heartbeat({ brokerId, epoch: r.epoch })).toMatchObject({ fenced: false });
      startHeartbeats(brokerId, c);
    }
    expect([...state().brokers.values()].map((b) => b.fenced)).toEqual([false, false, false]);

    admin.watchMetadata((s) => (watched = s));
    await admin.createTopic({ name: 'orders', partitions: 3, replicationFactor: 3 });
    await admin.createTopic({ name: 'single', partitions: 3, replicationFactor: 1 });
    const topic = state().topics.get('orders')!;
    expect(topic.partitions.map((p) => p.leader).sort()).toEqual([1, 2, 3]);
    for (const p of topic.partitions) expect([...p.isr].sort()).toEqual([1, 2, 3]);
    await waitFor('the watch to see the topic', () => watched?.topics.has('orders'));
    await expect(admin.createTopic({ name: 'orders', partitions: 1 })).rejects.toMatchObject({ code: 'DUPLICATE_TOPIC' });
    await expect(admin.createTopic({ name: 'wide', partitions: 1, replicationFactor: 4 })).rejects.toMatchObject({ code: 'INVALID_REPLICATION_FACTOR' });
    await admin.createTopic({ name: 'defaulted', partitions: 2 });
    expect(state().topics.get('defaulted')!.replicationFactor).toBe(3);
    await admin.alterTopicConfig('defaulted', { 'retention.ms': '1000' });
    expect(state().topics.get('defaulted')!.configs).toEqual({ 'retention.ms': '1000' });
    await admin.deleteTopic('defaulted');
    await expect(admin.deleteTopic('defaulted')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    // Every controller applies the same log.
    await waitFor('followers to catch up', () => [...controllers.values()].every((c) => c.metadata().offset === state().offset));
  });

  it('lets a partition leader shrink its ISR, with the partition epoch as compare-and-set', async () => {
    const p = state().topics.get('orders')!.partitions[0];
    const follower = p.isr.find((r) => r !== p.leader)!;
    const isr = p.isr.filter((r) => r !== follower);
    const change = { topic: 'orders', partition: 0, leader: p.leader, leaderEpoch: p.leaderEpoch, isr: [...isr], partitionEpoch: p.partitionEpoch };
    const asLeader = client(p.leader);
    await expect(admin.alterPartition(change)).rejects.toMatchObject({ code: 'CLUSTER_AUTHORIZATION_FAILED' });
    const after = await asLeader.alterPartition(change);
    expect(after).toMatchObject({ isr, partitionEpoch: p.partitionEpoch + 1, leaderEpoch: p.leaderEpoch });
    await expect(asLeader.alterPartition(change)).rejects.toMatchObject({ code: 'STALE_PARTITION_EPOCH' });
    await expect(client(follower).alterPartition({ ...change, leader: follower, partitionEpoch: after.partitionEpoch })).rejects.toMatchObject({ code: 'INVALID_LEADER' });
    await asLeader.alterPartition({ ...change, isr: [...p.isr], partitionEpoch: after.partitionEpoch });
  });

  it('fences a broker whose heartbeats stop and moves its partitions to other ISR members', async () => {
    const before = state().topics.get('orders')!.partitions;
    const victim = before[0].leader;
    const solo = state().topics.get('single')!.partitions.find((p) => p.leader === victim)!;
    clearInterval(beating.get(victim));
    const stoppedAt = Date.now();
    await waitFor('the broker to be fenced', () => state().brokers.get(victim)?.fenced, SESSION_MS + 3000);
    const fencedAfter = Date.now() - stoppedAt;
    expect(fencedAfter).toBeGreaterThanOrEqual(SESSION_MS - 300);
    expect(fencedAfter).toBeLessThan(SESSION_MS + 1500);
    const after = await waitFor('new leaders', () => {
      const ps = state().topics.get('orders')!.partitions;
      return ps.every((p) => p.leader !== victim && !p.isr.includes(victim)) && ps;
    });
    for (const [i, p] of after.entries()) {
      expect(p.leader).not.toBe(NO_LEADER);
      expect(before[i].isr).toContain(p.leader);
      if (before[i].leader === victim) expect(p.leaderEpoch).toBe(before[i].leaderEpoch + 1);
      else expect(p.leaderEpoch).toBe(before[i].leaderEpoch);
    }
    expect(logs.some((l) => l.includes(`fencing broker ${victim}`))).toBe(true);
    // Its only replica is fenced: offline, keeping it in the ISR (unclean election is off).
    expect(state().topics.get('single')!.partitions[solo.partition]).toMatchObject({ leader: NO_LEADER, isr: [victim], leaderEpoch: solo.leaderEpoch + 1 });

    // It comes back: its first heartbeat unfences it (it rejoins ISRs through its leaders, not here).
    const c = client(victim);
    expect(await c.heartbeat({ brokerId: victim, epoch: epochs.get(victim)! })).toMatchObject({ fenced: false });
    startHeartbeats(victim, c);
    expect(state().topics.get('single')!.partitions[solo.partition]).toMatchObject({ leader: victim, isr: [victim], leaderEpoch: solo.leaderEpoch + 2 });
  });

  it('takes a re-registering broker (new incarnation) out of leadership and ISRs first', async () => {
    const brokerId = state().topics.get('orders')!.partitions[1].leader;
    const old = epochs.get(brokerId)!;
    clearInterval(beating.get(brokerId));
    const c = client(brokerId);
    const { epoch } = await c.register({ brokerId, host: '127.0.0.1', port: 19000 + brokerId, incarnationId: `inc-${brokerId}-b` });
    expect(epoch).toBeGreaterThan(old);
    epochs.set(brokerId, epoch);
    const s = state();
    expect(s.brokers.get(brokerId)).toMatchObject({ fenced: true, epoch, incarnationId: `inc-${brokerId}-b` });
    for (const p of s.topics.get('orders')!.partitions) {
      expect(p.leader).not.toBe(brokerId);
      expect(p.isr).not.toContain(brokerId);
    }
    await expect(c.heartbeat({ brokerId, epoch: old })).rejects.toMatchObject({ code: 'STALE_BROKER_EPOCH' });
    expect(await c.heartbeat({ brokerId, epoch })).toMatchObject({ fenced: false });
    startHeartbeats(brokerId, c);
  });

  it('fails over to a new active controller without fencing live brokers', async () => {
    const old = leader()!;
    const offset = old.metadata().offset;
    const logsBefore = logs.length;
    await old.close();
    controllers.delete(old.nodeId);
    const fresh = await waitFor('a new leader', leader, 5000);
    expect(fresh.nodeId).not.toBe(old.nodeId);
    expect(fresh.metadata().offset).toBeGreaterThanOrEqual(offset);
    await admin.createTopic({ name: 'after-failover', partitions: 2, replicationFactor: 2 });
    expect(fresh.metadata().topics.has('after-failover')).toBe(true);
    await waitFor('the watch to follow the new leader', () => watched?.topics.has('after-failover'));
    // Longer than a session: heartbeats that went to the old leader must not count against anyone.
    await new Promise((r) => setTimeout(r, SESSION_MS + 500));
    expect([...fresh.metadata().brokers.values()].filter((b) => b.fenced)).toEqual([]);
    expect(logs.slice(logsBefore).filter((l) => l.includes('fencing broker'))).toEqual([]);
    expect(logs.slice(logsBefore).some((l) => l.startsWith(`controller ${fresh.nodeId}: active controller for term`))).toBe(true);
  });
});
