// Acceptance: kill 2 of 3 controllers. CreateTopics fails with a clear error within a bounded time,
// while the surviving broker keeps serving the partitions it leads; restart one controller and
// CreateTopics succeeds again.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Admin } from 'kafkajs';
import { clusterKafka, partitionLeader, startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { ApiKey } from '../../broker/protocol/generated/index.ts';
import type { CreateTopicsResponse } from '../../broker/protocol/generated/index.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { waitFor } from '../helpers/run.ts';

/** Bound on how long a metadata change may take to fail without a quorum (controller timeout + margin). */
const FAIL_WITHIN_MS = 12_000;

let cluster: TestCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startTestCluster(3);
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'before-loss', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
}, 90_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await cluster?.cleanup();
});

async function createTopicRaw(address: string, name: string): Promise<{ errorCode: number; errorMessage: string | null; elapsedMs: number }> {
  const [host, port] = address.split(':');
  const conn = new PeerConnection({ host, port: Number(port), clientId: 'quorum-loss-test', maxFrameBytes: 1 << 20, connectTimeoutMs: 3_000 });
  const started = Date.now();
  try {
    const res = await conn.request<CreateTopicsResponse>(
      ApiKey.CreateTopics,
      4,
      { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false },
      60_000,
    );
    const t = res.topics[0];
    return { errorCode: t.errorCode, errorMessage: t.errorMessage, elapsedMs: Date.now() - started };
  } finally {
    conn.close();
  }
}

describe('controller quorum loss (3 real processes)', () => {
  test('without a majority CreateTopics fails clearly within a bounded time; with one controller back it succeeds', async () => {
    // Node 1 survives; find a partition it leads, which must keep taking writes.
    const leaders = await Promise.all([0, 1, 2].map((p) => partitionLeader(admin, 'before-loss', p)));
    const survivorPartition = leaders.indexOf(1);

    await Promise.all([cluster.node(2).kill('SIGKILL'), cluster.node(3).kill('SIGKILL')]);
    const survivor = cluster.node(1).address;

    const failed = await createTopicRaw(survivor, 'during-loss');
    process.stdout.write(`CreateTopics without a quorum: error ${failed.errorCode} after ${failed.elapsedMs} ms: ${failed.errorMessage}\n`);
    expect(failed.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect(failed.errorMessage ?? '').toMatch(/quorum|majority/i);
    expect(failed.elapsedMs).toBeLessThan(FAIL_WITHIN_MS);

    if (survivorPartition >= 0) {
      const producer = clusterKafka([survivor], 'survivor-producer', 2).producer();
      await producer.connect();
      const [result] = await producer.send({ topic: 'before-loss', acks: 1, messages: [{ value: 'still-serving', partition: survivorPartition }] });
      expect(result.errorCode).toBe(0);
      await producer.disconnect();
    }

    await cluster.node(2).start();
    let ok: Awaited<ReturnType<typeof createTopicRaw>> | null = null;
    await waitFor(async () => {
      ok = await createTopicRaw(survivor, 'after-recovery');
      return ok.errorCode === ErrorCode.NONE || ok.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS;
    }, 30_000, 'CreateTopics to succeed with 2 of 3 controllers', 500);
    expect(ok!.errorCode === ErrorCode.NONE || ok!.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS).toBe(true);
    const after = clusterKafka([survivor]).admin();
    await after.connect();
    expect(await after.listTopics()).toEqual(expect.arrayContaining(['before-loss', 'after-recovery']));
    await after.disconnect();
  }, 180_000);
});
