// OffsetDelete in a cluster: the deletion is a record of the group's __consumer_offsets partition,
// acknowledged once the in-sync replicas hold it, so the offsets stay deleted after the coordinator
// is killed and another broker takes over the group.
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { ApiKey, type FindCoordinatorResponse, type OffsetCommitResponse, type OffsetDeleteResponse } from '../../broker/protocol/generated/index.ts';
import { clusterKafka, partitionLeader, startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/run.ts';

const GROUP = 'odc-g';
const TOPIC = 'odc';

let cluster: TestCluster;
let admin: Admin;
const connections: PeerConnection[] = [];

beforeAll(async () => {
  cluster = await startTestCluster(3, ['--offsets-topic-partitions', '1']);
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
}, 60_000);

afterAll(async () => {
  for (const c of connections) c.close();
  await admin?.disconnect();
  await cluster?.cleanup();
});

/** A connection to the group's coordinator, once there is one (__consumer_offsets is created on first use). */
async function coordinator(): Promise<PeerConnection> {
  const open = (address: string): PeerConnection => {
    const [host, port] = address.split(':');
    const c = new PeerConnection({ host, port: Number(port), clientId: 'offset-delete-cluster-test', maxFrameBytes: 1 << 20, connectTimeoutMs: 3_000 });
    connections.push(c);
    return c;
  };
  const bootstrap = open(cluster.bootstrap[0]);
  let found: FindCoordinatorResponse | null = null;
  await waitFor(async () => {
    found = await bootstrap.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 2, { key: GROUP, keyType: 0, coordinatorKeys: [] }, 10_000);
    return found.errorCode === 0;
  }, 30_000, `a coordinator for ${GROUP}`, 250);
  const { host, port } = found! as FindCoordinatorResponse;
  return open(`${host}:${port}`);
}

async function committed(): Promise<string[]> {
  const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  return t.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

describe('OffsetDelete in a cluster', () => {
  test('a deletion is replicated: it survives the coordinator being killed', async () => {
    const c = await coordinator();
    const commit = await c.request<OffsetCommitResponse>(ApiKey.OffsetCommit, 7, {
      groupId: GROUP, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: TOPIC, partitions: [0, 1, 2].map((p) => ({ partitionIndex: p, committedOffset: 100 + p, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })) }],
    }, 10_000);
    expect(commit.topics[0].partitions.map((p) => p.errorCode)).toEqual([0, 0, 0]);

    const del = await c.request<OffsetDeleteResponse>(ApiKey.OffsetDelete, 0, { groupId: GROUP, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 1 }, { partitionIndex: 2 }, { partitionIndex: 7 }] }] }, 10_000);
    expect(del).toMatchObject({ errorCode: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 1, errorCode: 0 }, { partitionIndex: 2, errorCode: 0 }, { partitionIndex: 7, errorCode: 3 }] }] });
    expect(await committed()).toEqual(['100', '-1', '-1']);

    const old = await partitionLeader(admin, '__consumer_offsets', 0);
    await cluster.node(old).kill('SIGKILL');
    await waitFor(async () => {
      const leader = await partitionLeader(admin, '__consumer_offsets', 0).catch(() => -1);
      return leader !== -1 && leader !== old;
    }, 20_000, 'a new leader of __consumer_offsets-0');
    expect(await committed(), 'the new coordinator replays the deletion').toEqual(['100', '-1', '-1']);
    await cluster.node(old).start();
  }, 120_000);
});
