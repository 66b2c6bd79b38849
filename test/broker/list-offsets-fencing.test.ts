// ListOffsets v4+ leader-epoch fencing on a real 3-node cluster (a single node never leaves epoch 0): after the
// leader dies and another takes over at a newer epoch, an older currentLeaderEpoch is FENCED_LEADER_EPOCH, a newer
// one UNKNOWN_LEADER_EPOCH, followers answer NOT_LEADER_OR_FOLLOWER (the epoch is checked first), and each answer
// carries the epoch that wrote the offset it names. Requests are encoded by the generated codecs over sockets.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Admin } from 'kafkajs';
import { clusterKafka, partitionLeader, startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/run.ts';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { ApiKey, type ListOffsetsResponse, type ListOffsetsResponsePartitions } from '../../broker/protocol/generated/index.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';

const TOPIC = 'fenced';
let cluster: TestCluster;
let admin: Admin;
const conns = new Map<number, PeerConnection>();

beforeAll(async () => {
  cluster = await startTestCluster(3);
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
}, 90_000);

afterAll(async () => {
  for (const c of conns.values()) c.close();
  await admin?.disconnect().catch(() => undefined);
  await cluster?.cleanup();
});

function conn(nodeId: number): PeerConnection {
  let c = conns.get(nodeId);
  if (!c) {
    const [host, port] = cluster.node(nodeId).address.split(':');
    c = new PeerConnection({ host, port: Number(port), clientId: 'fencing-test', maxFrameBytes: 1024 * 1024, connectTimeoutMs: 2000 });
    conns.set(nodeId, c);
  }
  return c;
}

async function listOffset(nodeId: number, version: number, timestamp: number, currentLeaderEpoch = -1): Promise<ListOffsetsResponsePartitions> {
  const body = { replicaId: -1, isolationLevel: 0, timeoutMs: 1000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp, maxNumOffsets: 1 }] }] };
  return (await conn(nodeId).request<ListOffsetsResponse>(ApiKey.ListOffsets, version, body, 10_000)).topics[0].partitions[0];
}

async function produce(value: string): Promise<void> {
  const producer = clusterKafka(cluster.bootstrap, 'fencing-producer', 20).producer();
  await producer.connect();
  await producer.send({ topic: TOPIC, acks: -1, messages: [{ value }] });
  await producer.disconnect();
}

describe('ListOffsets leader-epoch fencing in a cluster', () => {
  test('older epochs are fenced after a failover, newer ones unknown, and answers carry the writing epoch', async () => {
    const first = await partitionLeader(admin, TOPIC, 0);
    const before = await listOffset(first, 4, -1);
    expect(before.errorCode).toBe(0);
    const e0 = before.leaderEpoch;
    expect(e0).toBeGreaterThanOrEqual(0);
    await produce('written-at-e0');
    const writtenAt = Date.now();

    await cluster.node(first).kill();
    let second = -1;
    await waitFor(async () => {
      second = await partitionLeader(admin, TOPIC, 0).catch(() => -1);
      return second !== -1 && second !== first;
    }, 30_000, 'a new leader', 200);
    // The new leader answers once its high watermark reaches the start of its epoch (OFFSET_NOT_AVAILABLE before).
    let latest: ListOffsetsResponsePartitions | null = null;
    await waitFor(async () => {
      latest = await listOffset(second, 5, -1).catch(() => null);
      if (latest && latest.errorCode !== 0) expect([ErrorCode.OFFSET_NOT_AVAILABLE, ErrorCode.NOT_LEADER_OR_FOLLOWER]).toContain(latest.errorCode);
      return latest?.errorCode === 0;
    }, 30_000, 'the new leader to answer ListOffsets', 200);
    const e1 = latest!.leaderEpoch;
    expect(e1).toBeGreaterThan(e0);
    await produce('written-at-e1');

    for (let v = 4; v <= 10; v++) {
      expect(await listOffset(second, v, -1, e0), `v${v} older epoch`).toMatchObject({ errorCode: ErrorCode.FENCED_LEADER_EPOCH, offset: -1, timestamp: -1, leaderEpoch: -1 });
      expect(await listOffset(second, v, -1, e1 + 1), `v${v} newer epoch`).toMatchObject({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, offset: -1, leaderEpoch: -1 });
      expect(await listOffset(second, v, -1, e1), `v${v} current epoch`).toMatchObject({ errorCode: 0, offset: 2, timestamp: -1, leaderEpoch: e1 });
      expect(await listOffset(second, v, -2, e1), `v${v} earliest`).toMatchObject({ errorCode: 0, offset: 0, leaderEpoch: e0 });
      // By time: the first record was written at e0, the second at e1.
      expect(await listOffset(second, v, 0, e1), `v${v} by time`).toMatchObject({ errorCode: 0, offset: 0, leaderEpoch: e0 });
      expect(await listOffset(second, v, writtenAt + 1, e1), `v${v} by time`).toMatchObject({ errorCode: 0, offset: 1, leaderEpoch: e1 });
    }
    // Below v4 there is no epoch to check; leadership still is.
    expect(await listOffset(second, 3, -1)).toMatchObject({ errorCode: 0, offset: 2 });
    const follower = cluster.nodes.map((n) => n.nodeId).find((id) => id !== first && id !== second)!;
    await waitFor(async () => (await listOffset(follower, 4, -1, e0)).errorCode === ErrorCode.FENCED_LEADER_EPOCH, 10_000, 'the follower to learn the new epoch', 200);
    expect(await listOffset(follower, 4, -1, e1)).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(await listOffset(follower, 1, -1)).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
  }, 120_000);
});
