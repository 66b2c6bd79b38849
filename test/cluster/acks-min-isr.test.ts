// acks=all promises min.insync.replicas copies. A write appended while the ISR was full must not be
// acknowledged when the high watermark passes it only because the ISR shrank below
// min.insync.replicas (the followers died before copying it): Kafka answers
// NOT_ENOUGH_REPLICAS_AFTER_APPEND then (Partition.checkEnoughReplicasReachOffset). Before the fix
// the leader answered success with the record on the leader alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Admin } from 'kafkajs';
import { startCluster, type RunningCluster } from '../../broker/cluster/node.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { clusterKafka } from '../helpers/cluster.ts';
import { ApiKey, decodeProduceV7, encodeProduceV7 } from '../helpers/kafka-api.ts';
import { WireConnection, encodeRecordBatch } from '../helpers/kafka-wire.ts';

const TOPIC = 'two-copies';
let cluster: RunningCluster;
let dataDir: string;
let admin: Admin;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'untangle-acks-min-isr-'));
  // One controller (node 1), so the quorum lives on while brokers 2 and 3 go; a long session timeout
  // and a short lag time, so the ISR shrinks by lag while the followers are still registered.
  cluster = await startCluster({
    nodes: 3,
    controllers: 1,
    dataDir,
    controller: { brokerSessionTimeoutMs: 60_000, leaderRebalanceIntervalMs: 0 },
    broker: { replicaLagTimeMaxMs: 1500 },
  });
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
}, 60_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('an acks=all write is refused, not acknowledged, when the ISR shrinks below min.insync.replicas before it is copied', async () => {
  const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  const partition = meta.topics[0].partitions.find((p) => p.leader === 1)!.partitionId;
  const leader = cluster.nodes[0].broker!;
  await cluster.nodes[1].close();
  await cluster.nodes[2].close();
  const conn = await WireConnection.connect('127.0.0.1', leader.port);
  try {
    // Appended while the ISR still holds all three; waits for the followers, which are gone.
    const r = decodeProduceV7(await conn.request(ApiKey.Produce, 7, encodeProduceV7(TOPIC, partition, encodeRecordBatch([{ key: null, value: 'only on the leader' }]), -1, 15_000), { timeoutMs: 20_000 }));
    expect(r.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    // Now the ISR is the leader alone: the next acks=all write is refused before the append.
    const again = decodeProduceV7(await conn.request(ApiKey.Produce, 7, encodeProduceV7(TOPIC, partition, encodeRecordBatch([{ key: null, value: 'refused' }]), -1, 15_000), { timeoutMs: 20_000 }));
    expect(again.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
  } finally {
    conn.close();
  }
}, 40_000);
