// Acceptance: a returning old leader never keeps or serves divergent data. The leader of a partition
// takes acks=1 writes its followers never see (they are frozen with SIGSTOP), then dies; a follower
// becomes leader and takes other writes; the old leader comes back, truncates its divergent suffix
// by leader epoch, and catches up. Afterwards all three replicas hold byte-identical logs without
// the records only the old leader had.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Admin } from 'kafkajs';
import { clusterKafka, partitionLeader, startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { PartitionLog, DEFAULT_LOG_CONFIG } from '../../broker/log/partition-log.ts';
import { readBatchValues } from '../../broker/log/internal-batch.ts';
import { sleep, waitFor } from '../helpers/run.ts';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { ApiKey } from '../../broker/protocol/generated/index.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { encodeRecordBatch } from '../helpers/kafka-wire.ts';

const TOPIC = 'diverge';

let cluster: TestCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startTestCluster(3);
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
}, 90_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await cluster?.cleanup();
});

async function produce(values: string[], acks: number, bootstrap = cluster.bootstrap): Promise<void> {
  const producer = clusterKafka(bootstrap, `producer-acks${acks}`, 20).producer();
  await producer.connect();
  for (const value of values) await producer.send({ topic: TOPIC, acks, messages: [{ value }] });
  await producer.disconnect();
}

/** Every record value and the raw bytes of a node's copy of the partition (the node must be stopped). */
async function readLocalLog(nodeId: number): Promise<{ values: string[]; bytes: Buffer }> {
  const log = await PartitionLog.open(join(cluster.dataDir, `node-${nodeId}`, `${TOPIC}-0`), DEFAULT_LOG_CONFIG);
  const chunks: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = log.read(offset, 1 << 20, true);
    if (read.bytes === 0) break;
    chunks.push(...read.chunks);
    const last = Buffer.concat(read.chunks);
    offset = lastOffset(last) + 1;
  }
  await log.close();
  const bytes = Buffer.concat(chunks);
  return { values: readBatchValues(bytes).map((v) => v.toString()), bytes };
}

function lastOffset(chunk: Buffer): number {
  let last = -1;
  for (let at = 0; at + 61 <= chunk.length; at += 12 + chunk.readInt32BE(at + 8)) last = Number(chunk.readBigInt64BE(at)) + chunk.readInt32BE(at + 23);
  return last;
}

describe('leader epochs and truncation (3 real processes)', () => {
  test('an old leader returning with unreplicated writes truncates them and ends byte-identical to the others', async () => {
    await produce(['base-0', 'base-1', 'base-2'], -1);
    const oldLeader = await partitionLeader(admin, TOPIC, 0);
    const followers = [1, 2, 3].filter((n) => n !== oldLeader);

    for (const f of followers) cluster.node(f).child!.kill('SIGSTOP');
    await produce(['divergent-0', 'divergent-1', 'divergent-2', 'divergent-3'], 1, [cluster.node(oldLeader).address]);
    await cluster.node(oldLeader).kill('SIGKILL');
    for (const f of followers) cluster.node(f).child!.kill('SIGCONT');

    const survivors = followers.map((f) => cluster.node(f).address);
    const survivorAdmin = clusterKafka(survivors).admin();
    await survivorAdmin.connect();
    await waitFor(async () => followers.includes(await partitionLeader(survivorAdmin, TOPIC, 0).catch(() => -1)), 60_000, 'a follower to take over partition 0', 250);
    await produce(['after-0', 'after-1'], -1, survivors);

    await cluster.node(oldLeader).start();
    await waitFor(async () => (await survivorAdmin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions[0].isr.length === 3, 60_000, 'the old leader back in the ISR', 250);
    await survivorAdmin.disconnect();
    await sleep(500);

    for (const n of [1, 2, 3]) await cluster.node(n).kill('SIGTERM');
    const logs = await Promise.all([1, 2, 3].map((n) => readLocalLog(n)));
    // A follower's fetch already on the wire when it was frozen may carry the first divergent record
    // to it; that copy then becomes the new leader's and is kept everywhere. The later ones were
    // only ever on the old leader and must be gone from every replica.
    for (const [i, log] of logs.entries()) {
      const where = `node ${i + 1}'s log`;
      expect(log.values.filter((v) => !v.startsWith('divergent-')), where).toEqual(['base-0', 'base-1', 'base-2', 'after-0', 'after-1']);
      expect(log.values.filter((v) => ['divergent-1', 'divergent-2', 'divergent-3'].includes(v)), where).toEqual([]);
    }
    expect(logs[0].bytes.equals(logs[1].bytes) && logs[1].bytes.equals(logs[2].bytes), 'replicas are byte-identical').toBe(true);
  }, 180_000);

  test('a restarted node leads nothing until the controller says so: no produce, fetch or offsets from its own stale log', async () => {
    // Every node stops; one comes back alone: with no controller majority it cannot register, but
    // it listens, and clients with old metadata still find it there.
    for (const n of cluster.nodes) await n.kill('SIGTERM');
    const lone = cluster.nodes[0];
    const others = cluster.nodes.slice(1);
    const starting = lone.start().then(() => 'ready', (err: Error) => err.message);
    const conn = new PeerConnection({ host: '127.0.0.1', port: lone.spec.port, clientId: 'stale-client', maxFrameBytes: 1 << 20, connectTimeoutMs: 1_000 });
    try {
      const produce = async () => conn.request<{ responses: { partitionResponses: { errorCode: number; baseOffset: number }[] }[] }>(ApiKey.Produce, 7, {
        transactionalId: null, acks: -1, timeoutMs: 2_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeRecordBatch([{ key: null, value: 'stale-write' }]) }] }],
      }, 5_000);
      let answer: Awaited<ReturnType<typeof produce>> | null = null;
      await waitFor(async () => {
        answer = await produce().catch(() => null);
        return answer !== null;
      }, 60_000, 'the lone node to listen', 100);
      expect(answer!.responses[0].partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, baseOffset: -1 });

      const fetched = await conn.request<{ responses: { partitions: { errorCode: number; records: Buffer[] | Buffer | null }[] }[] }>(ApiKey.Fetch, 11, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: '', forgottenTopicsData: [],
        topics: [{ topic: TOPIC, topicId: Buffer.alloc(16), partitions: [{
          partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: Buffer.alloc(16),
        }] }],
      }, 5_000);
      expect(fetched.responses[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);

      const listed = await conn.request<{ topics: { partitions: { errorCode: number; offset: number }[] }[] }>(ApiKey.ListOffsets, 3, {
        replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
      }, 5_000);
      expect(listed.topics[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      conn.close();
    }
    // With the others back the node registers, learns what it leads and serves again.
    await Promise.all(others.map((n) => n.start()));
    expect(await starting).toBe('ready');
    const afterAdmin = clusterKafka(cluster.bootstrap).admin();
    await afterAdmin.connect();
    await waitFor(async () => (await afterAdmin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions[0].isr.length === 3, 60_000, 'every replica back in sync', 250);
    await afterAdmin.disconnect();
    for (const n of [1, 2, 3]) await cluster.node(n).kill('SIGTERM');
    const logs = await Promise.all([1, 2, 3].map((n) => readLocalLog(n)));
    for (const [i, log] of logs.entries()) {
      expect(log.values, `node ${i + 1}'s log`).not.toContain('stale-write');
      expect(log.values.slice(0, 3), `node ${i + 1}'s log`).toEqual(['base-0', 'base-1', 'base-2']);
    }
  }, 180_000);
});
