// A real broker in this process (free port) meeting bad storage: a retention that cannot delete a segment, a garbage
// topics.json, a damaged offsets log, and a partition directory that cannot be opened. Each time the broker starts or
// stays up, serves what it can, keeps the bad bytes aside and says what happened. Failures are injected by replacing
// a file with a directory (or a directory with a file) of the same name, which defeats even root.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, appendFileSync, writeFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { makeConsumer, makeKafka } from '../helpers/kafkajs.ts';
import { WireConnection, encodeRecordBatch } from '../helpers/kafka-wire.ts';
import { fetchAll, fetchOnce, listOffset, produce } from '../helpers/kafka-api.ts';
import { commitOffsetsOutsideGroup } from '../helpers/generated-request.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'untangle-bad-state-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Started {
  broker: RunningBroker;
  kafka: Kafka;
  lines: string[];
}

async function start(dataDir: string, extra: Parameters<typeof startBroker>[0] extends infer O ? Partial<O> : never = {}): Promise<Started> {
  const lines: string[] = [];
  const broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    metricsPort: 0,
    autoCreateTopics: false,
    groupInitialRebalanceDelayMs: 0,
    logger: (line) => lines.push(line),
    ...extra,
  });
  cleanups.push(() => broker.close());
  return { broker, kafka: makeKafka(broker.address, 'bad-state', 2), lines };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withConn<T>(b: RunningBroker, fn: (c: WireConnection) => Promise<T>): Promise<T> {
  const c = await WireConnection.connect(b.host, b.port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

async function metric(b: RunningBroker, name: string, labels = ''): Promise<number | null> {
  const text = await (await fetch(b.metricsUrl!)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labels)) return Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return null;
}

/** Writes `perPartition` records to each of `partitions` partitions of a new topic, one batch each. */
async function createAndFill(kafka: Kafka, topic: string, partitions: number, perPartition: number, configs: Record<string, string> = {}): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const values: string[] = [];
  for (let i = 0; i < perPartition; i++) {
    for (let p = 0; p < partitions; p++) {
      const value = `${topic}-${p}-${i}-${'x'.repeat(150)}`;
      values.push(value);
      await producer.send({ topic, acks: -1, messages: [{ partition: p, value }] });
    }
  }
  await producer.disconnect();
  return values;
}

/** Every value of `topics` from the beginning, read by a kafkajs consumer group. */
async function consumeAll(kafka: Kafka, topics: string[], expected: number): Promise<string[]> {
  const consumer = makeConsumer(kafka, `reader-${Math.random()}`);
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const got: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
  try {
    await waitFor(`${expected} records`, () => got.length >= expected, 10_000);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

const batch = (value: string): Buffer => encodeRecordBatch([{ key: null, value }]);

const quarantined = (dir: string, name: string): string[] => readdirSync(dir).filter((f) => f.startsWith(`${name}.corrupt-`));

describe('storage errors and bad state files', () => {
  it('(a) retention that cannot delete a segment leaves the broker up, serving that partition and the others', async () => {
    const dataDir = tempDataDir();
    const { broker, kafka, lines } = await start(dataDir, { retentionCheckIntervalMs: 50 });
    const topic = 'ret';
    await createAndFill(kafka, topic, 2, 20, { 'segment.bytes': '1024' });
    const segs = readdirSync(join(dataDir, `${topic}-0`)).filter((f) => f.endsWith('.log')).sort();
    expect(segs.length).toBeGreaterThan(3);
    // The oldest segment's file becomes a directory: retention's unlink fails with EISDIR.
    const oldest = join(dataDir, `${topic}-0`, segs[0]);
    rmSync(oldest);
    mkdirSync(oldest);

    const admin = kafka.admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: topic, configEntries: [{ name: 'segment.bytes', value: '1024' }, { name: 'retention.bytes', value: '1' }] }],
    });
    await admin.disconnect();

    await waitFor('the storage error to be logged', () => lines.some((l) => /storage error in retention of partition ret-0: .*could not be deleted/.test(l)));
    await new Promise((r) => setTimeout(r, 200)); // several more runs: each fails again, none may escape
    expect(lines.filter((l) => /storage error in retention of partition ret-0/.test(l))).toHaveLength(1); // rate-limited
    expect(await metric(broker, 'untangle_broker_storage_errors_total', 'topic="ret",partition="0",operation="retention"')).toBeGreaterThanOrEqual(2);

    await withConn(broker, async (c) => {
      // The same partition: retention moved its start past the stuck segment; reads from there and appends work.
      const start0 = await listOffset(c, topic, 0, -2n);
      expect(start0.errorCode).toBe(0);
      expect(start0.offset).toBeGreaterThan(0n);
      const read0 = await fetchAll(c, topic, 0, start0.offset);
      expect(read0.records.length).toBe(Number(read0.highWatermark - start0.offset));
      expect((await produce(c, topic, 0, batch('after'))).errorCode).toBe(0);
      // The other partition serves too.
      expect((await produce(c, topic, 1, batch('after'))).errorCode).toBe(0);
      const start1 = await listOffset(c, topic, 1, -2n);
      const read1 = await fetchAll(c, topic, 1, start1.offset);
      expect(read1.records.at(-1)?.value?.toString()).toBe('after');
    });

    // Once the file can go, the next run deletes it and the errors stop.
    rmdirSync(oldest);
    const leftovers = (): string[] => readdirSync(join(dataDir, `${topic}-0`)).filter((f) => f.startsWith(segs[0].slice(0, 20)));
    await waitFor('the retried delete', () => leftovers().length === 0);
    const errors = await metric(broker, 'untangle_broker_storage_errors_total', 'topic="ret",partition="0"');
    await new Promise((r) => setTimeout(r, 150));
    expect(await metric(broker, 'untangle_broker_storage_errors_total', 'topic="ret",partition="0"')).toBe(errors);
  });

  it('(b) a garbage topics.json: the broker starts, keeps the file aside and serves the topics rebuilt from disk', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    const written = [...(await createAndFill(first.kafka, 'orders', 3, 4)), ...(await createAndFill(first.kafka, 'pay-ments.v2', 1, 3))];
    await first.broker.close();

    const metaFile = join(dataDir, 'meta', 'topics.json');
    writeFileSync(metaFile, '[{"name": "orders", "id": "x", "partitions": 3, "con\u0000\u00ff garbage');
    const second = await start(dataDir);
    const moved = quarantined(join(dataDir, 'meta'), 'topics.json');
    expect(moved).toHaveLength(1);
    expect(readFileSync(join(dataDir, 'meta', moved[0]), 'utf8')).toContain('garbage');
    expect(second.lines.join('\n')).toMatch(/topics\.json is damaged \(not valid JSON.*moved it to .*topics\.json\.corrupt-.*2 rebuilt from partition directories: orders \(3 partitions\), pay-ments\.v2 \(1 partition\)/);
    // The rebuilt list is written out, so the next start is clean.
    const rebuilt = JSON.parse(readFileSync(metaFile, 'utf8')) as { name: string; partitions: number }[];
    expect(rebuilt.map((t) => [t.name, t.partitions]).sort()).toEqual([['orders', 3], ['pay-ments.v2', 1]]);

    const got = await consumeAll(second.kafka, ['orders', 'pay-ments.v2'], written.length);
    expect(got.sort()).toEqual([...written].sort());
  });

  it('(b2) invalid entries and configs in topics.json: the valid ones are kept, the rest named and defaulted', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    await createAndFill(first.kafka, 'kept', 2, 1, { 'retention.ms': '3600000' });
    await createAndFill(first.kafka, 'fixed', 1, 1);
    await first.broker.close();

    const metaFile = join(dataDir, 'meta', 'topics.json');
    const records = JSON.parse(readFileSync(metaFile, 'utf8')) as { name: string; partitions: unknown; configs: Record<string, unknown> }[];
    records.find((r) => r.name === 'kept')!.configs['segment.bytes'] = 'banana';
    records.find((r) => r.name === 'fixed')!.partitions = 'many';
    writeFileSync(metaFile, JSON.stringify([...records, 42]));

    const second = await start(dataDir);
    const log = second.lines.join('\n');
    expect(log).toMatch(/config segment\.bytes dropped/);
    expect(log).toMatch(/topic fixed has an invalid partition count "many"/);
    expect(log).toMatch(/entry 2 has no valid topic name/);
    expect(quarantined(join(dataDir, 'meta'), 'topics.json')).toHaveLength(1);
    const now = JSON.parse(readFileSync(metaFile, 'utf8')) as { name: string; partitions: number; configs: Record<string, string> }[];
    expect(now.find((t) => t.name === 'kept')).toMatchObject({ partitions: 2, configs: { 'retention.ms': '3600000' } });
    expect(now.find((t) => t.name === 'fixed')).toMatchObject({ partitions: 1, configs: {} });
    await withConn(second.broker, async (c) => {
      for (const [t, p] of [['kept', 0], ['kept', 1], ['fixed', 0]] as const) expect((await fetchAll(c, t, p)).records).toHaveLength(1);
    });
  });

  it('(b3) a missing topics.json beside partition directories: the topics are rebuilt, not silently dropped', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    await createAndFill(first.kafka, 'lost', 2, 2);
    await first.broker.close();
    rmSync(join(dataDir, 'meta', 'topics.json'));
    const second = await start(dataDir);
    expect(second.lines.join('\n')).toMatch(/topics\.json is missing but partition directories exist; rebuilt 1 topic\(s\) from them: lost \(2 partitions\)/);
    await withConn(second.broker, async (c) => {
      for (const p of [0, 1]) expect((await fetchAll(c, 'lost', p)).records).toHaveLength(2);
    });
  });

  it('(c) a damaged offsets log: the broker starts with the offsets of the valid prefix; the rest is kept aside', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    await createAndFill(first.kafka, 'events', 2, 1);
    expect(await commitOffsetsOutsideGroup(first.broker, 'billing', 'events', [[0, 1], [1, 1]], 'bad-state-test')).toEqual([0, 0]);
    expect(await commitOffsetsOutsideGroup(first.broker, 'crm', 'events', [[0, 1]], 'bad-state-test')).toEqual([0]);
    await first.broker.close();

    const offsetsFile = join(dataDir, '__consumer_offsets', 'offsets.log');
    const validBytes = statSync(offsetsFile).size;
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 40, 1, 2, 3, 4]), Buffer.from('not a record at all, and then some more bytes')]);
    appendFileSync(offsetsFile, garbage);

    const second = await start(dataDir);
    expect(statSync(offsetsFile).size).toBe(validBytes);
    const moved = quarantined(join(dataDir, '__consumer_offsets'), 'offsets.log');
    expect(moved).toHaveLength(1);
    expect(readFileSync(join(dataDir, '__consumer_offsets', moved[0]))).toEqual(garbage);
    expect(second.lines.join('\n')).toMatch(/offsets\.log: kept \d+ valid record\(s\).*a corrupt record\) were moved to .*offsets\.log\.corrupt-/);
    const admin2 = second.kafka.admin();
    await admin2.connect();
    const billing = await admin2.fetchOffsets({ groupId: 'billing', topics: ['events'] });
    expect(billing[0].partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([[0, '1'], [1, '1']]);
    expect((await admin2.fetchOffsets({ groupId: 'crm', topics: ['events'] }))[0].partitions.find((p) => p.partition === 0)?.offset).toBe('1');
    await admin2.disconnect();
    await second.broker.close();

    // A file that is garbage from its first byte: moved aside whole, the broker starts with no offsets.
    writeFileSync(offsetsFile, 'this was never an offsets log');
    const third = await start(dataDir);
    expect(quarantined(join(dataDir, '__consumer_offsets'), 'offsets.log')).toHaveLength(2);
    expect(third.lines.join('\n')).toMatch(/offsets\.log is not an offsets log \(bad header\); moved it to/);
    const admin3 = third.kafka.admin();
    await admin3.connect();
    expect((await admin3.fetchOffsets({ groupId: 'billing', topics: ['events'] }))[0].partitions.every((p) => p.offset === '-1')).toBe(true);
    await admin3.disconnect();
  });

  it('(d) a partition directory that cannot be opened: that partition answers KAFKA_STORAGE_ERROR, the others serve', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    await createAndFill(first.kafka, 'split', 2, 3);
    await first.broker.close();
    // The directory of partition 1 becomes a file.
    rmSync(join(dataDir, 'split-1'), { recursive: true });
    writeFileSync(join(dataDir, 'split-1'), 'not a directory');

    const second = await start(dataDir);
    expect(second.lines.join('\n')).toMatch(/partition split-1 is offline: cannot open .*split-1.*KAFKA_STORAGE_ERROR/);
    expect(await metric(second.broker, 'untangle_broker_offline_partitions')).toBe(1);
    await withConn(second.broker, async (c) => {
      expect((await fetchAll(c, 'split', 0)).records).toHaveLength(3);
      expect((await produce(c, 'split', 0, batch('ok'))).errorCode).toBe(0);
      expect((await produce(c, 'split', 1, batch('no'))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect((await fetchOnce(c, 'split', 1, 0n, { maxWaitMs: 0 })).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect((await listOffset(c, 'split', 1, -1n)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect((await listOffset(c, 'split', 0, -1n)).errorCode).toBe(0);
    });
    expect(readFileSync(join(dataDir, 'split-1'), 'utf8')).toBe('not a directory'); // left as it was
  });
});
