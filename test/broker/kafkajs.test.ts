// Acceptance: kafkajs 2.2.4 against the real broker process (produce, group consume, commit/resume,
// idempotent producer) plus wire-level proof of idempotent de-duplication and sequence checks.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CompressionTypes, type Consumer, type Kafka, type Message } from 'kafkajs';
import { metricSum, scrapeMetrics, startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.ts';
import { assignmentIsComplete, makeConsumer, makeKafka, trackAssignments } from '../helpers/kafkajs.ts';
import { WireConnection, encodeRecordBatch } from '../helpers/kafka-wire.ts';
import { fetchAll, initProducerId, listOffset, produce } from '../helpers/kafka-api.ts';
import { sleep, waitFor } from '../helpers/run.ts';

const PARTITIONS = 6;
const TOTAL = 100_000;
const CHUNK = 10_000;
const EXTRA = 10_000;

let broker: BrokerProcess;
let kafka: Kafka;

beforeAll(async () => {
  // A short initial rebalance delay lets three consumers started together land in one generation.
  broker = await startBrokerProcess({ groupInitialRebalanceDelayMs: 1000, defaultPartitions: 1 });
  kafka = makeKafka(broker.address);
});

afterAll(async () => {
  if (broker) {
    const code = await broker.stop().catch((e: Error) => e.message);
    expect(code, `broker should exit 0 on SIGTERM\n${broker.stderr().slice(-2000)}`).toBe(0);
    await broker.cleanup();
  }
});

const makeMessages = (from: number, to: number): Message[] => {
  const out: Message[] = [];
  for (let i = from; i < to; i++) out.push({ key: `k${i % 1000}`, value: `${i}` });
  return out;
};

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

interface Seen { partition: number; offset: bigint; seq: number }

/** Start `n` consumers in one group; every message received is appended to `seen`. */
async function startGroup(n: number, groupId: string, topic: string, seen: Seen[]): Promise<{ consumers: Consumer[]; owned: Map<number, number[]> }> {
  const consumers = Array.from({ length: n }, () => makeConsumer(kafka, groupId));
  const owned = trackAssignments(consumers, topic);
  await Promise.all(consumers.map(async (c) => {
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) seen.push({ partition: batch.partition, offset: BigInt(m.offset), seq: Number(m.value!.toString()) });
      },
    });
  }));
  return { consumers, owned };
}

/** Every seq in [from, to) seen exactly once, and each partition's seqs and offsets strictly increase. */
function checkExactlyOnceInOrder(seen: Seen[], from: number, to: number): void {
  const counts = new Map<number, number>();
  for (const s of seen) counts.set(s.seq, (counts.get(s.seq) ?? 0) + 1);
  const dups = [...counts].filter(([, c]) => c > 1).slice(0, 10);
  expect(dups, 'duplicated seqs (seq, count)').toEqual([]);
  const outside = seen.filter((s) => s.seq < from || s.seq >= to).slice(0, 10);
  expect(outside, `messages outside [${from}, ${to})`).toEqual([]);
  expect(counts.size).toBe(to - from);
  const last = new Map<number, Seen>();
  for (const s of seen) {
    const prev = last.get(s.partition);
    if (prev && (s.seq <= prev.seq || s.offset <= prev.offset)) {
      throw new Error(`partition ${s.partition} order broken: seq ${prev.seq}@${prev.offset} then ${s.seq}@${s.offset}`);
    }
    last.set(s.partition, s);
  }
}

describe('kafkajs 2.2.4 against the broker process', () => {
  test('100k keyed messages (plain + gzip) reach a 3-member group exactly once, in order; commit + restart resumes', async () => {
    const topic = 'kjs-orders';
    const groupId = 'kjs-group';
    await createTopic(topic, PARTITIONS);

    const seen: Seen[] = [];
    const g1 = await startGroup(3, groupId, topic, seen);
    // Produce only once the group is stable so no rebalance can legitimately redeliver anything.
    let stableSince = 0;
    await waitFor(() => {
      if (!assignmentIsComplete(g1.owned, PARTITIONS)) { stableSince = 0; return false; }
      stableSince ||= Date.now();
      return Date.now() - stableSince > 1000;
    }, 45_000, `3 consumers to share ${PARTITIONS} partitions (have ${JSON.stringify([...g1.owned])})`);

    const producer = kafka.producer();
    await producer.connect();
    const t0 = Date.now();
    for (let from = 0; from < TOTAL; from += CHUNK) {
      const compression = from < TOTAL / 2 ? CompressionTypes.None : CompressionTypes.GZIP;
      await producer.sendBatch({ acks: -1, compression, topicMessages: [{ topic, messages: makeMessages(from, from + CHUNK) }] });
    }
    const produceMs = Date.now() - t0;

    await waitFor(() => seen.length >= TOTAL, 90_000, `all ${TOTAL} messages (have ${seen.length})`);
    await sleep(500); // let any duplicate show up
    console.log(`kafkajs: produced ${TOTAL} in ${produceMs} ms; group received ${seen.length}; owners ${JSON.stringify([...g1.owned])}`);
    checkExactlyOnceInOrder(seen, 0, TOTAL);
    for (const [member, parts] of g1.owned) {
      expect(seen.some((s) => parts.includes(s.partition)), `member ${member} received something`).toBe(true);
    }

    // Committed offsets must reach the end of every partition.
    const admin = kafka.admin();
    await admin.connect();
    let committed = 0;
    await waitFor(async () => {
      const res = await admin.fetchOffsets({ groupId, topics: [topic] });
      committed = res[0].partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
      return committed === TOTAL;
    }, 20_000, `committed offsets to sum to ${TOTAL} (have ${committed})`);
    await Promise.all(g1.consumers.map((c) => c.disconnect()));

    // Produce more while the group is down; the restarted group gets only those.
    await producer.sendBatch({ acks: -1, compression: CompressionTypes.GZIP, topicMessages: [{ topic, messages: makeMessages(TOTAL, TOTAL + EXTRA) }] });
    await producer.disconnect();
    const seen2: Seen[] = [];
    const g2 = await startGroup(3, groupId, topic, seen2);
    await waitFor(() => seen2.length >= EXTRA, 60_000, `the ${EXTRA} new messages (have ${seen2.length})`);
    await sleep(1000);
    await Promise.all(g2.consumers.map((c) => c.disconnect()));
    checkExactlyOnceInOrder(seen2, TOTAL, TOTAL + EXTRA);
    await admin.disconnect();
  });

  test('wire level: a retried idempotent batch is stored once with its original offset; a sequence gap gets 45', async () => {
    const topic = 'idem-wire';
    await createTopic(topic, 1);
    const c = await WireConnection.connect(broker.host, broker.port);
    try {
      const pid = await initProducerId(c);
      expect(pid.errorCode, 'InitProducerId v1 error code').toBe(0);
      expect(pid.producerId >= 0n, `producerId ${pid.producerId}`).toBe(true);
      const batch = (seq: number, n: number) => encodeRecordBatch(
        Array.from({ length: n }, (_, i) => ({ key: null, value: `v${seq + i}` })),
        { producerId: pid.producerId, producerEpoch: pid.producerEpoch, baseSequence: seq },
      );
      const b0 = batch(0, 5);
      const first = await produce(c, topic, 0, b0);
      expect(first.errorCode, 'first Produce v7 of seq 0..4').toBe(0);
      const retry = await produce(c, topic, 0, b0);
      expect({ errorCode: retry.errorCode, baseOffset: retry.baseOffset },
        'the identical batch sent again (a retry) must succeed with the ORIGINAL base offset')
        .toEqual({ errorCode: 0, baseOffset: first.baseOffset });
      expect((await listOffset(c, topic, 0, -1n)).offset, 'log end offset after a duplicate').toBe(first.baseOffset + 5n);

      const gap = await produce(c, topic, 0, batch(10, 5));
      expect(gap.errorCode, 'baseSequence 10 when 5 is expected → OUT_OF_ORDER_SEQUENCE_NUMBER').toBe(45);

      const next = await produce(c, topic, 0, batch(5, 5));
      expect(next).toMatchObject({ errorCode: 0, baseOffset: first.baseOffset + 5n });

      // Two copies in flight at once (a retry racing the original) → still one copy in the log.
      const b10 = batch(10, 5);
      const [p1, p2] = await Promise.all([produce(c, topic, 0, b10), produce(c, topic, 0, b10)]);
      expect([p1.errorCode, p2.errorCode]).toEqual([0, 0]);
      expect(p2.baseOffset).toBe(p1.baseOffset);

      const all = await fetchAll(c, topic, 0);
      expect(all.highWatermark).toBe(first.baseOffset + 15n);
      expect(all.records.map((r) => r.value?.toString())).toEqual(Array.from({ length: 15 }, (_, i) => `v${i}`));
      expect(all.batches.every((b) => b.producerId === pid.producerId && b.crcValid)).toBe(true);
    } finally {
      c.close();
    }
  });

  test('kafkajs idempotent producer end to end', async () => {
    const topic = 'kjs-idem';
    await createTopic(topic, 3);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const N = 10_000;
    for (let from = 0; from < N; from += 500) {
      await producer.send({ topic, messages: makeMessages(from, from + 500), acks: -1 });
    }
    await producer.disconnect();

    const c = await WireConnection.connect(broker.host, broker.port);
    try {
      const values: number[] = [];
      for (let p = 0; p < 3; p++) {
        const all = await fetchAll(c, topic, p);
        expect(all.batches.length).toBeGreaterThan(0);
        // Batches carry a real producer id and contiguous sequences per partition.
        let expectSeq = 0;
        for (const b of all.batches) {
          expect(b.producerId >= 0n, `partition ${p} batch producerId`).toBe(true);
          expect(b.baseSequence, `partition ${p} baseSequence`).toBe(expectSeq);
          expectSeq += b.lastOffsetDelta + 1;
        }
        values.push(...all.records.map((r) => Number(r.value!.toString())));
      }
      expect(values.length).toBe(N);
      expect(new Set(values).size).toBe(N);
    } finally {
      c.close();
    }
  });

  test('metrics count the produced messages', async (ctx) => {
    if (!broker.metricsUrl) ctx.skip();
    const samples = await scrapeMetrics(broker.metricsUrl!);
    expect(metricSum(samples, 'untangle_broker_messages_in_total', { topic: 'kjs-orders' })).toBe(TOTAL + EXTRA);
    expect(metricSum(samples, 'untangle_broker_log_end_offset', { topic: 'kjs-orders' })).toBe(TOTAL + EXTRA);
    expect(metricSum(samples, 'untangle_broker_bytes_in_total', { topic: 'kjs-orders' })).toBeGreaterThan(0);
    expect(metricSum(samples, 'untangle_broker_messages_out_total', { topic: 'kjs-orders' })).toBeGreaterThanOrEqual(TOTAL + EXTRA);
    const lag = samples.filter((s) => s.name === 'untangle_broker_consumer_lag' && s.labels.group === 'kjs-group');
    expect(lag.length, 'consumer lag series for kjs-group').toBe(PARTITIONS);
    expect(lag.reduce((a, s) => a + s.value, 0), 'lag after the group committed everything').toBe(0);
  });
});
