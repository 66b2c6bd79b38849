// __consumer_offsets stays bounded in a cluster: its leader snapshots a partition's offsets once the
// partition passes --offsets-compact-bytes and trims everything before the snapshot, on every
// replica; a new coordinator after kill -9 replays the trimmed log to the same offsets, deleted
// groups included.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { ApiKey, type FindCoordinatorResponse, type OffsetCommitResponse } from '../../broker/protocol/generated/index.ts';
import { clusterKafka, partitionLeader, startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { sleep, waitFor } from '../helpers/run.ts';

const COMPACT_BYTES = 64 * 1024;
const PARTITIONS = 32;
const GROUPS = ['cg-0', 'cg-1', 'cg-2'];

let cluster: TestCluster;
let admin: Admin;
const connections = new Map<string, PeerConnection>();

beforeAll(async () => {
  cluster = await startTestCluster(3, ['--offsets-topic-partitions', '1', '--offsets-compact-bytes', String(COMPACT_BYTES)]);
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'cmp', numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
}, 60_000);

afterAll(async () => {
  for (const c of connections.values()) c.close();
  await admin?.disconnect();
  await cluster?.cleanup();
});

/** Bytes of __consumer_offsets-0's segment files, per node directory. */
function offsetsLogBytes(): number[] {
  const out: number[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (e.name === '__consumer_offsets-0') out.push(readdirSync(path).filter((f) => f.endsWith('.log')).reduce((n, f) => n + statSync(join(path, f)).size, 0));
      else walk(path);
    }
  };
  walk(cluster.dataDir);
  return out;
}

function connection(address: string): PeerConnection {
  let c = connections.get(address);
  if (!c) {
    const [host, port] = address.split(':');
    c = new PeerConnection({ host, port: Number(port), clientId: 'offsets-compaction-test', maxFrameBytes: 1 << 20, connectTimeoutMs: 3_000 });
    connections.set(address, c);
  }
  return c;
}

/**
 * One OffsetCommit of every partition for a group with no members (generation -1), sent straight to
 * the group's coordinator: kafkajs's admin.setOffsets joins the group each time and takes seconds.
 */
async function commit(groupId: string, round: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    // Any broker answers FindCoordinator; take the next one after a failure (one may be the node killed).
    const bootstrap = cluster.bootstrap[attempt % cluster.bootstrap.length];
    let coordinator = '';
    try {
      const found = await connection(bootstrap).request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 2, { key: groupId, keyType: 0, coordinatorKeys: [] }, 10_000);
      if (found.errorCode !== 0) throw new Error(`FindCoordinator error ${found.errorCode}`);
      coordinator = `${found.host}:${found.port}`;
      const res = await connection(coordinator).request<OffsetCommitResponse>(ApiKey.OffsetCommit, 7, {
        groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
        topics: [{ name: 'cmp', partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, committedOffset: round * 1000 + p, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })) }],
      }, 10_000);
      const codes = new Set(res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)));
      if (codes.size !== 1 || !codes.has(0)) throw new Error(`OffsetCommit errors ${[...codes].join(',')}`);
      return;
    } catch (err) {
      for (const address of [bootstrap, coordinator]) {
        connections.get(address)?.close();
        connections.delete(address);
      }
      if (attempt >= 40) throw err;
      await sleep(250);
    }
  }
}

async function committed(groupId: string): Promise<string[]> {
  const [topic] = await admin.fetchOffsets({ groupId, topics: ['cmp'] });
  return topic.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

const expected = (round: number): string[] => Array.from({ length: PARTITIONS }, (_, p) => String(round * 1000 + p));

describe('__consumer_offsets in a cluster', () => {
  test('is snapshotted and trimmed on every replica, and a new coordinator replays it to the same offsets', async () => {
    const ROUNDS = 150;
    for (let round = 1; round <= ROUNDS; round++) for (const g of GROUPS) await commit(g, round);
    await admin.deleteGroups(['cg-2']);
    // More commits after the delete, so a snapshot without cg-2 replaces the records that had it.
    for (let round = ROUNDS + 1; round <= ROUNDS + 60; round++) for (const g of GROUPS.slice(0, 2)) await commit(g, round);
    const last = ROUNDS + 60;

    const [offsets] = (await admin.fetchTopicOffsets('__consumer_offsets')).map((o) => ({ low: Number(o.low), high: Number(o.high) }));
    // Every commit is one record: far more were written than are kept.
    expect(offsets.high).toBeGreaterThanOrEqual(3 * ROUNDS + 2 * 60);
    expect(offsets.low, 'the leader moved its log start to a snapshot').toBeGreaterThan(0);
    // Each commit record holds 32 entries (over 1 KiB): ~600 KiB in all, against a 64 KiB threshold.
    await waitFor(() => {
      const sizes = offsetsLogBytes();
      return sizes.length === 3 && sizes.every((b) => b < 2 * COMPACT_BYTES);
    }, 10_000, `every replica's __consumer_offsets-0 under ${2 * COMPACT_BYTES} bytes (now ${offsetsLogBytes().join(', ')})`);

    for (const g of GROUPS.slice(0, 2)) expect(await committed(g)).toEqual(expected(last));
    expect(await committed('cg-2')).toEqual(Array(PARTITIONS).fill('-1'));

    // The coordinator dies; the next leader of __consumer_offsets-0 replays its own trimmed copy.
    const coordinator = await partitionLeader(admin, '__consumer_offsets', 0);
    await cluster.node(coordinator).kill('SIGKILL');
    await waitFor(async () => {
      const leader = await partitionLeader(admin, '__consumer_offsets', 0).catch(() => -1);
      return leader !== -1 && leader !== coordinator;
    }, 20_000, 'a new leader of __consumer_offsets-0');
    for (const g of GROUPS.slice(0, 2)) expect(await committed(g)).toEqual(expected(last));
    expect(await committed('cg-2'), 'a deleted group stays deleted after the snapshot').toEqual(Array(PARTITIONS).fill('-1'));

    // The new coordinator keeps committing and snapshotting.
    for (let round = last + 1; round <= last + 60; round++) await commit('cg-0', round);
    expect(await committed('cg-0')).toEqual(expected(last + 60));
    await cluster.node(coordinator).start();
  }, 180_000);
});
