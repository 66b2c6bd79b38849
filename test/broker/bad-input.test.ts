// Acceptance: >=100,000 malformed frames over raw sockets. The broker stays up, its memory stays bounded,
// corrupt CRCs get CORRUPT_MESSAGE (2) answers instead of a close, and real clients work afterwards.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readRssBytes, startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.ts';
import { WireConnection, Writer } from '../helpers/kafka-wire.ts';
import { apiVersions, createTopic, decodeProduceV7, type ApiRange } from '../helpers/kafka-api.ts';
import {
  blast, closedWithin, corruptCrcProduce, garbageBodyFrames, hostileLengthFrames, randomFrames, truncatedFrames,
  unknownApiKeyFrames, unsupportedVersionFrames, validTemplates, type BlastStats, type FuzzFrame,
} from '../helpers/frame-fuzz.ts';
import { makeKafka } from '../helpers/kafkajs.ts';
import { waitFor } from '../helpers/run.ts';

const TOPIC = 'fuzz-target';
const WORKERS = 8;
let broker: BrokerProcess;
let apis: ApiRange[] = [];
let rssBefore = 0;
let framesTotal = 0;

beforeAll(async () => {
  broker = await startBrokerProcess({ defaultPartitions: 1, metrics: false });
  const c = await WireConnection.connect(broker.host, broker.port);
  try {
    apis = (await apiVersions(c)).apis;
    expect(await createTopic(c, TOPIC, 1)).toBe(0);
  } finally { c.close(); }
  rssBefore = readRssBytes(broker.pid);
});

afterAll(async () => { await broker?.cleanup(); });

describe('malformed input', () => {
  test('Produce with corrupt CRCs gets CORRUPT_MESSAGE (2) answers on a connection that stays open', async () => {
    const c = await WireConnection.connect(broker.host, broker.port);
    try {
      const N = 20_000;
      const WINDOW = 500;
      const codes = new Map<number, number>();
      for (let i = 0; i < N; i += WINDOW) {
        const rs = await Promise.all(Array.from({ length: Math.min(WINDOW, N - i) }, (_, j) =>
          c.request(0, 7, corruptCrcProduce(TOPIC, i + j)).then((r) => decodeProduceV7(r).errorCode)));
        for (const code of rs) codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      expect(Object.fromEntries(codes)).toEqual({ 2: N });
      expect(c.closed).toBe(false);
      framesTotal += N;
    } finally { c.close(); }
  });

  test('hostile length prefixes (2 GiB, negative) make the broker close the connection', async () => {
    for (const f of hostileLengthFrames()) {
      expect({ kind: f.kind, len: f.bytes.readInt32BE(0), closed: await closedWithin(broker.host, broker.port, f.bytes, 5000) })
        .toEqual({ kind: f.kind, len: f.bytes.readInt32BE(0), closed: true });
    }
    framesTotal += hostileLengthFrames().length;
  });

  test('ApiVersions at an unsupported version is answered with error 35, not a close', async () => {
    const c = await WireConnection.connect(broker.host, broker.port);
    try {
      // A future client sends header v2 (ApiVersions is flexible from v3 on, as Kafka derives it for any v>=3).
      const body = new Writer().compactString('future-client').compactString('9.9').tags().toBuffer();
      for (const v of [4, 99]) {
        const r = await c.request(18, v, body, { flexible: true });
        expect(r.int16(), `ApiVersions v${v} error code`).toBe(35);
        const keys = r.array((x) => { const k = x.int16(); x.int16(); x.int16(); return k; }) ?? [];
        expect(keys).toContain(18);
      }
      expect((await apiVersions(c)).errorCode).toBe(0);
    } finally { c.close(); }
  });

  test('~80,000 more malformed frames: random, truncated at every length, unknown keys, bad versions, garbage bodies', { timeout: 240_000 }, async () => {
    const known = new Set(apis.map((a) => a.apiKey));
    const kinds: FuzzFrame[][] = [
      truncatedFrames(validTemplates(TOPIC)),
      randomFrames(20_000),
      unknownApiKeyFrames(12_000, known),
      unsupportedVersionFrames(12_000, apis),
      garbageBodyFrames(36_000, apis),
    ];
    // Each worker gets a slice of every kind, so all kinds run concurrently.
    const slices: FuzzFrame[][] = Array.from({ length: WORKERS }, () => []);
    for (const k of kinds) k.forEach((f, i) => slices[i % WORKERS].push(f));
    const stats: BlastStats = { processed: 0, connections: 0, closes: 0, responses: 0, stuck: [], perKind: {} };
    const t0 = Date.now();
    await Promise.all(slices.map((s) => blast(broker.host, broker.port, s, stats)));
    console.log(`bad-input: ${stats.processed} frames in ${Date.now() - t0} ms over ${stats.connections} connections; ` +
      `${stats.closes} closes, ${stats.responses} responses; per kind ${JSON.stringify(stats.perKind)}`);
    expect(broker.running, `broker died:\n${broker.stderr().slice(-3000)}`).toBe(true);
    expect(stats.stuck.slice(0, 5), 'frames that got neither an answer nor a close within 10 s').toEqual([]);
    expect(stats.processed).toBe(kinds.reduce((a, k) => a + k.length, 0));
    framesTotal += stats.processed;
  });

  test('after all that: at least 100,000 frames, broker alive, RSS bounded, kafkajs produces and consumes', async () => {
    expect(framesTotal).toBeGreaterThanOrEqual(100_000);
    expect(broker.running).toBe(true);
    const rssAfter = readRssBytes(broker.pid);
    console.log(`bad-input: broker RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`);
    expect(rssAfter - rssBefore, 'RSS growth in bytes').toBeLessThan(200 * 2 ** 20);

    const kafka = makeKafka(broker.address, 'after-fuzz');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'after-fuzz', acks: -1, messages: Array.from({ length: 1000 }, (_, i) => ({ value: `${i}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'after-fuzz', maxWaitTimeInMs: 100, heartbeatInterval: 500 });
    const got: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: ['after-fuzz'], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { got.push(message.value!.toString()); } });
    try {
      await waitFor(() => got.length >= 1000, 30_000, `1000 messages after fuzzing (have ${got.length})`);
    } finally { await consumer.disconnect(); }
    expect(new Set(got).size).toBe(1000);
    expect(await broker.stop()).toBe(0);
  });
});
