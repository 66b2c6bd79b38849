// The in-process start: startCluster() runs a whole 3-node cluster inside this process (what code
// that wants a cluster without child processes uses), and real kafkajs clients work against it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type RunningCluster } from '../../broker/cluster/node.ts';
import { clusterKafka } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/run.ts';

let cluster: RunningCluster;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'untangle-inproc-'));
  // Leadership goes back to the preferred replicas within a second: a broker fenced for a moment on a
  // loaded machine must not leave the partitions' leaders bunched for the rest of the file.
  cluster = await startCluster({ nodes: 3, dataDir, controller: { brokerSessionTimeoutMs: 3000, leaderRebalanceIntervalMs: 1000 } });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('startCluster (in-process)', () => {
  test('3 brokers and 3 controllers in one process serve an RF 3 topic to kafkajs', async () => {
    expect(cluster.nodes.map((n) => n.roles.join(','))).toEqual(['broker,controller', 'broker,controller', 'broker,controller']);
    expect(cluster.nodes.filter((n) => n.controller?.isLeader()).length).toBe(1);
    const kafka = clusterKafka(cluster.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'inproc', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
    const meta = await admin.fetchTopicMetadata({ topics: ['inproc'] });
    expect(new Set(meta.topics[0].partitions.map((p) => p.leader)).size).toBe(3);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'inproc', acks: -1, messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'inproc-g', maxWaitTimeInMs: 100, heartbeatInterval: 500 });
    const seen = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic: 'inproc', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) });
    await waitFor(() => seen.size === 300, 30_000, 'all 300 messages consumed');
    await consumer.disconnect();
    await admin.disconnect();
  }, 60_000);

  test('CreatePartitions grows an RF 3 topic through the controller; the new partitions replicate and take acks=all writes', async () => {
    const kafka = clusterKafka(cluster.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'grow', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true });
    await admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 5 }] });
    await waitFor(async () => {
      const [t] = (await admin.fetchTopicMetadata({ topics: ['grow'] })).topics;
      return t.partitions.length === 5 && t.partitions.every((p) => p.replicas.length === 3 && p.isr.length === 3 && p.leader >= 1)
        && new Set(t.partitions.map((p) => p.leader)).size === 3;
    }, 30_000, 'five partitions, each with 3 replicas in sync and a leader, the leaders spread over the 3 brokers');
    const [t] = (await admin.fetchTopicMetadata({ topics: ['grow'] })).topics;
    expect(new Set(t.partitions.map((p) => p.leader)).size).toBe(3);
    // Not a growth, or no such topic: refused with Kafka's error codes.
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 4 }] })).rejects.toMatchObject({ type: 'INVALID_PARTITIONS' });
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'no-such-topic', count: 4 }] })).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'grow', acks: -1, messages: [2, 3, 4].flatMap((partition) => Array.from({ length: 20 }, (_, i) => ({ partition, value: `p${partition}-${i}` }))) });
    await producer.disconnect();
    const offsets = await admin.fetchTopicOffsets('grow');
    expect(offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high))).toEqual([0, 0, 20, 20, 20]);
    await admin.disconnect();
  }, 60_000);
});
