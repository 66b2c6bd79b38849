// kafkajs against our broker: sendBatch with large batches (several in flight), group consumer with eachBatch;
// and the time from send() to its acks=all answer, one request at a time. An address may be a cluster's bootstrap list.
import net from 'node:net';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { latencySummary, nowMs, sleep } from './stats.ts';
import type { BenchSettings, LatencyResult, ThroughputResult } from './types.ts';

const IN_FLIGHT = 4;

/** noDelay: TCP_NODELAY on the client's sockets (kafkajs leaves Nagle on; kcat runs with socket.nagle.disable). */
export interface ClientOptions { noDelay?: boolean }

function client(address: string | string[], id: string, o: ClientOptions = {}): Kafka {
  const socketFactory = o.noDelay
    ? ({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }) => net.connect({ host, port, noDelay: true }, onConnect)
    : undefined;
  return new Kafka({ clientId: id, brokers: typeof address === 'string' ? [address] : address, logLevel: logLevel.NOTHING, retry: { retries: 3 }, socketFactory });
}

function consumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({
    groupId, maxWaitTimeInMs: 500, heartbeatInterval: 1000, sessionTimeout: 15_000,
    maxBytesPerPartition: 8 << 20, maxBytes: 32 << 20,
  });
}

export interface ProduceResult { messages: number; produceSeconds: number; note: string }

/** The produce half of kafkajsThroughput: sendBatch, acks=-1, for at least s.minSeconds. */
export async function kafkajsProduce(address: string | string[], topic: string, size: number, s: BenchSettings, o: ClientOptions = {}): Promise<ProduceResult> {
  return produceWith(client(address, 'bench-kafkajs', o), topic, size, s);
}

async function produceWith(kafka: Kafka, topic: string, size: number, s: BenchSettings): Promise<ProduceResult> {
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
  return { messages: sent, produceSeconds, note: `sendBatch ${batchSize} msgs x ${IN_FLIGHT} in flight, acks=-1` };
}

export async function kafkajsThroughput(address: string, topic: string, size: number, s: BenchSettings): Promise<ThroughputResult> {
  const kafka = client(address, 'bench-kafkajs');
  const { messages: sent, produceSeconds, note } = await produceWith(kafka, topic, size, s);

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
    notes: [`${note}; consume time includes group join (${((firstAt - t1) / 1000).toFixed(2)} s to first batch)`],
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

/**
 * One message per send(), acks=-1, the next sent when the previous is answered, for `seconds`: the time from
 * send() to the answer, unloaded. (A fixed offered rate would measure the queue instead wherever the rate is
 * above what a setup sustains for single-message requests.)
 */
export async function kafkajsProduceLatency(address: string | string[], topic: string, size: number, seconds: number, o: ClientOptions = {}): Promise<LatencyResult & { perSecond: number }> {
  const producer = client(address, 'bench-kafkajs-ack', o).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const payload = Buffer.alloc(size, 0x63);
  // A few unmeasured sends first, so connecting to every partition leader is not counted.
  await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, () => ({ value: payload })) });
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const sentAt = performance.now();
    await producer.send({ topic, acks: -1, messages: [{ value: payload }] });
    lat.push(performance.now() - sentAt);
  }
  const perSecond = lat.length / ((performance.now() - t0) / 1000);
  await producer.disconnect();
  return { ...latencySummary(lat), perSecond };
}
