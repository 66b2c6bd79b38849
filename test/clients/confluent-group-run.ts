// One scenario with @confluentinc/kafka-javascript (librdkafka underneath, through its KafkaJS-compatible API) against
// a broker or cluster: admin create, produce, a classic consumer group of three that shares the partitions with
// manual commits, a second generation of the group that resumes from the committed offsets, admin delete.
import { createRequire } from 'node:module';
import type { KafkaJS as KafkaJSNamespace } from '@confluentinc/kafka-javascript';

const require = createRequire(import.meta.url);
const { KafkaJS } = require('@confluentinc/kafka-javascript') as { KafkaJS: typeof KafkaJSNamespace };

const PARTITIONS = 3;
const FIRST = 300;
const SECOND = 150;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Generation { shares: number[][]; distinct: number; duplicates: string[]; keys: string[] }
export interface ConfluentRun { first: Generation; second: Generation; resumedBelowCommitted: number; deleted: boolean }

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function confluentGroupRun(brokers: string[], topic: string, replicationFactor: number): Promise<ConfluentRun> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING } });
  const produce = async (from: number, count: number): Promise<void> => {
    const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 } });
    await producer.connect();
    const messages = Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}`, partition: (from + i) % PARTITIONS }));
    await producer.send({ topic, messages });
    await producer.disconnect();
  };
  const generation = async (groupId: string, expected: number, afterAssigned: () => Promise<void>): Promise<Generation> => {
    const deliveries = new Map<string, number>();
    const members = await Promise.all(['m1', 'm2', 'm3'].map(async () => {
      const consumer = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true, autoCommit: false, sessionTimeout: 10_000, heartbeatInterval: 500 } });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const key = `${partition}:${message.offset}`;
          deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        },
      });
      return consumer;
    }));
    const owned = (): number[][] => members.map((c) => c.assignment().filter((a) => a.topic === topic).map((a) => a.partition));
    await until('three members each holding a share of the partitions', () => {
      const all = owned().flat();
      return owned().every((p) => p.length > 0) && all.length === PARTITIONS && new Set(all).size === PARTITIONS;
    });
    const shares = owned();
    await afterAssigned();
    await until(`${expected} records`, () => deliveries.size >= expected);
    await sleep(1000); // room for a duplicate to show
    for (const c of members) await c.disconnect();
    return { shares, distinct: deliveries.size, duplicates: [...deliveries].filter(([, n]) => n > 1).map(([k, n]) => `${k}x${n}`), keys: [...deliveries.keys()] };
  };

  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor }] });
  const groupId = `ck-group-${topic}`;
  const first = await generation(groupId, FIRST, () => produce(0, FIRST));
  const second = await generation(groupId, SECOND, () => produce(FIRST, SECOND));
  const resumedBelowCommitted = second.keys.filter((k) => Number(k.split(':')[1]) < FIRST / PARTITIONS).length;
  await admin.deleteTopics({ topics: [topic] });
  const deleted = !(await admin.listTopics()).includes(topic);
  await admin.disconnect();
  return { first, second, resumedBelowCommitted, deleted };
}
