// kafkajs against our broker: sendBatch with large batches (several in flight), group consumer with eachBatch.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { latencySummary, nowMs, sleep } from './stats.ts';
import type { BenchSettings, LatencyResult, ThroughputResult } from './types.ts';

const IN_FLIGHT = 4;

function client(address: string, id: string): Kafka {
  return new Kafka({ clientId: id, brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

function consumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({
    groupId, maxWaitTimeInMs: 500, heartbeatInterval: 1000, sessionTimeout: 15_000,
    maxBytesPerPartition: 8 << 20, maxBytes: 32 << 20,
  });
}

export async function kafkajsThroughput(address: string, topic: string, size: number, s: BenchSettings): Promise<ThroughputResult> {
  const kafka = client(address, 'bench-kafkajs');
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const batchSize = size <= 128 ? 5000 : 1000;
  const payload = Buffer.alloc(size, 0x61);
  const messages = Array.from({ length: batchSize }, () => ({ value: payload }));
  let sent = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() - t0 < s.minSeconds * 1000) {
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      sent += batchSize;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const produceSeconds = (performance.now() - t0) / 1000;
  await producer.disconnect();

  const c = consumer(kafka, `${topic}-g`);
  await c.connect();
  await c.subscribe({ topics: [topic], fromBeginning: true });
  let got = 0;
  let firstAt = 0;
  const t1 = performance.now();
  await new Promise<void>((resolve, reject) => {
    c.run({
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch }) => {
        firstAt ||= performance.now();
        got += batch.messages.length;
        if (got >= sent) resolve();
      },
    }).catch(reject);
  });
  const consumeSeconds = (performance.now() - t1) / 1000;
  await c.disconnect();
  return {
    messages: sent, produceSeconds, consumeSeconds,
    notes: [`sendBatch ${batchSize} msgs x ${IN_FLIGHT} in flight, acks=-1; consume time includes group join (${((firstAt - t1) / 1000).toFixed(2)} s to first batch)`],
  };
}

export async function kafkajsLatency(address: string, topic: string, size: number, s: BenchSettings): Promise<LatencyResult> {
  const kafka = client(address, 'bench-kafkajs-e2e');
  const total = Math.round(s.e2eRate * s.e2eSeconds);
  const c = consumer(kafka, `${topic}-g`);
  const lat: number[] = [];
  let joined = false;
  c.on(c.events.GROUP_JOIN, () => { joined = true; });
  await c.connect();
  await c.subscribe({ topics: [topic], fromBeginning: true });
  let done!: () => void;
  const allIn = new Promise<void>((r) => { done = r; });
  await c.run({
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch }) => {
      const now = nowMs();
      for (const m of batch.messages) lat.push(now - m.value!.readDoubleBE(0));
      if (lat.length >= total) done();
    },
  });
  const deadline = Date.now() + 30_000;
  while (!joined && Date.now() < deadline) await sleep(20);
  await sleep(500);

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const pending: Promise<unknown>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / s.e2eRate - performance.now();
    if (wait > 1) await sleep(wait);
    const b = Buffer.alloc(size, 0x62);
    b.writeDoubleBE(nowMs(), 0);
    pending.push(producer.send({ topic, acks: -1, messages: [{ value: b }] }));
  }
  await Promise.all(pending);
  await Promise.race([allIn, sleep(30_000)]);
  await producer.disconnect();
  await c.disconnect();
  if (lat.length < total) throw new Error(`kafkajs e2e: received ${lat.length}/${total}`);
  return latencySummary(lat);
}
