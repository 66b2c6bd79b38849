// End to end through a real broker and kafkajs (issue 15): a flipped base-offset byte in a trusted segment used to make
// every client silently skip 20 records. Now the partition answers KAFKA_STORAGE_ERROR to Produce, Fetch and
// ListOffsets while another topic keeps serving kafkajs; after a restart the damage is cut to quarantine, the gap is
// reported, and kafkajs reads every remaining record with its original offset and value.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { makeConsumer, makeKafka } from '../helpers/kafkajs.ts';
import { WireConnection, encodeRecordBatch } from '../helpers/kafka-wire.ts';
import { fetchOnce, listOffset, produce } from '../helpers/kafka-api.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function start(dataDir: string): Promise<{ broker: RunningBroker; kafka: Kafka; lines: string[] }> {
  const lines: string[] = [];
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir, metricsPort: 0, autoCreateTopics: false, groupInitialRebalanceDelayMs: 0, logger: (l) => lines.push(l) });
  cleanups.push(() => broker.close());
  return { broker, kafka: makeKafka(broker.address, 'corruption', 2), lines };
}

async function metric(b: RunningBroker, name: string): Promise<number | null> {
  const text = await (await fetch(b.metricsUrl!)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Consumes `topic` from the beginning with a kafkajs group until `count` messages arrived: offset -> value. */
async function consume(kafka: Kafka, topic: string, count: number): Promise<Map<number, string>> {
  const got = new Map<number, string>();
  const consumer = makeConsumer(kafka, `g-${topic}-${Date.now()}`);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${got.size} of ${count} from ${topic}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.set(Number(message.offset), message.value!.toString());
        if (got.size >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return got;
}

describe('a corrupt partition through a real broker', () => {
  it('goes offline with KAFKA_STORAGE_ERROR while another topic serves kafkajs, and comes back repaired after a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-corruption-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const first = await start(dataDir);
    const admin = first.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: ['ledger', 'audit'].map((topic) => ({ topic, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '8192' }] })),
    });
    await admin.disconnect();
    const producer = first.kafka.producer();
    await producer.connect();
    const values = new Map<number, string>();
    for (let i = 0; i < 24; i++) {
      // one batch of 20 records per send
      const messages = Array.from({ length: 20 }, (_, j) => ({ value: `v${i * 20 + j}-${'x'.repeat(40)}` }));
      messages.forEach((m, j) => values.set(i * 20 + j, m.value));
      await producer.send({ topic: 'ledger', acks: -1, messages });
      await producer.send({ topic: 'audit', acks: -1, messages });
    }
    await producer.disconnect();
    await first.broker.close();

    // +20 in the base offset of the 3rd batch of the 2nd segment: outside the CRC, in a segment trusted after a clean stop.
    const dir = path.join(dataDir, 'ledger-0');
    const segs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    expect(segs.length).toBeGreaterThan(2);
    const victim = path.join(dir, segs[1]);
    const data = fs.readFileSync(victim);
    let at = 0;
    for (let k = 0; k < 2; k++) at += data.readInt32BE(at + 8) + 12;
    const damaged = Number(data.readBigInt64BE(at));
    data.writeBigInt64BE(BigInt(damaged + 20), at);
    fs.writeFileSync(victim, data);

    const second = await start(dataDir);
    const c = await WireConnection.connect(second.broker.host, second.broker.port);
    try {
      expect((await fetchOnce(c, 'ledger', 0, 0n, { maxWaitMs: 0 })).errorCode).toBe(0); // before the damage: served
      expect((await fetchOnce(c, 'ledger', 0, BigInt(damaged), { maxWaitMs: 0 })).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect((await fetchOnce(c, 'ledger', 0, 0n, { maxWaitMs: 0 })).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR); // offline now
      expect((await produce(c, 'ledger', 0, encodeRecordBatch([{ key: null, value: 'no' }]))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect((await listOffset(c, 'ledger', 0, -1n)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect((await produce(c, 'audit', 0, encodeRecordBatch([{ key: null, value: 'yes' }]))).errorCode).toBe(0);
    } finally {
      c.close();
    }
    expect(second.lines.join('\n')).toMatch(/error: corrupt log .*ledger-0: segment \d+ at byte \d+: offsets not contiguous.*The partition is offline/);
    expect(await metric(second.broker, 'untangle_broker_offline_partitions')).toBe(1);
    expect(await metric(second.broker, 'untangle_broker_log_corrupt_batches_total')).toBe(1);
    const audit = await consume(second.kafka, 'audit', 481);
    expect([...values].every(([o, v]) => audit.get(o) === v)).toBe(true);
    await second.broker.close();

    // Restart: recovery cuts the damaged segment at the bad batch into quarantine/, reports the gap, serves the rest.
    const third = await start(dataDir);
    const text = third.lines.join('\n');
    expect(text).toMatch(/ledger-0: recovery truncated segment \d+ at byte \d+.*offsets not contiguous.*moved to .*quarantine/);
    const gap = /ledger-0: offsets (\d+)\.\.(\d+) \((\d+)\) are missing between two segments/.exec(text);
    expect(gap).not.toBeNull();
    const [from, to] = [Number(gap![1]), Number(gap![2])];
    expect(from).toBe(damaged);
    expect(fs.readdirSync(path.join(dir, 'quarantine'))).toHaveLength(1);
    expect(await metric(third.broker, 'untangle_broker_offline_partitions')).toBe(0);
    const ledger = await consume(third.kafka, 'ledger', values.size - (to - from + 1));
    for (const [offset, value] of ledger) {
      expect(offset < from || offset > to).toBe(true);
      expect(value).toBe(values.get(offset));
    }
  }, 90_000);
});
