// The hub's lake sink against an embedded broker, writing a real lake (HubLakeWriter) that is read
// back with the real lake reader: every record lands exactly once, also across a stop and restart
// and across a crash after the lake flush but before the offset commit.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Consumer, Kafka } from 'kafkajs';
import {
  createHubLakeSink, HubLakeSink, HubPublisher, hubValidator, LAKE_SINK_CHECKPOINT, LakeOffsetCheckpoint, systemHubWiring,
} from '../../../systems/hub/index.ts';
import { HubLakeWriter } from '../../../systems/lake/index.ts';
import { canonicalString, quarantineCounts, readLake, toCanonical } from '../../../systems/lake/index.ts';
import type { HubLayout } from '../../../systems/topology/index.ts';
import { freshLayout, makeOrder, makePayment, SHOP_KINDS, startTestBroker, testKafka, waitFor, type TestBroker } from './helpers.ts';

let tb: TestBroker;
let kafka: Kafka;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  tb = await startTestBroker();
  kafka = testKafka(tb.broker.address, 'hub-lake-test');
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await tb?.close();
});

const newLakeDir = () => mkdtemp(path.join(tb.dir, 'lake-'));

function sink(layout: HubLayout, lakeDir: string, k: Kafka = kafka, extra: { flushRecordsMax?: number; sessionTimeoutMs?: number } = {}): HubLakeSink {
  const s = createHubLakeSink({
    kafka: k, groupId: layout.lakeSink.groupId, topics: layout.topics, lakeDir, validate: hubValidator(SHOP_KINDS),
    flushIntervalMs: 200, logger: () => undefined, ...extra,
  });
  cleanups.push(() => s.close());
  return s;
}

/** Publishes n orders as A and their payments as B; returns the canonical lines expected in the lake. */
async function publishShop(layout: HubLayout, from: number, n: number): Promise<string[]> {
  const a = new HubPublisher({ kafka, systemId: 'A', topics: systemHubWiring(layout, 'A').produces, logger: () => undefined });
  const b = new HubPublisher({ kafka, systemId: 'B', topics: systemHubWiring(layout, 'B').produces, logger: () => undefined });
  const expected: string[] = [];
  const sends: Promise<void>[] = [];
  for (let i = from; i < from + n; i++) {
    const order = makeOrder(`o-${i}`, i);
    const payment = makePayment(order);
    sends.push(a.publish('order', order), b.publish('payment', payment));
    expected.push(canonicalString(toCanonical(SHOP_KINDS.get('order'), { ...order })));
    expected.push(canonicalString(toCanonical(SHOP_KINDS.get('payment'), payment)));
  }
  await Promise.all(sends);
  await Promise.all([a.close(), b.close()]);
  return expected;
}

function lakeLines(lakeDir: string): { lines: string[]; bad: number } {
  const lake = readLake(lakeDir, 'hub', SHOP_KINDS);
  return { lines: lake.records.map(canonicalString).sort(), bad: lake.bad.length };
}

describe('hub lake sink', () => {
  test('writes every record of every topic once, partitioned by data kind and date; poison goes to the quarantine', async () => {
    const layout = freshLayout();
    const lakeDir = await newLakeDir();
    const expected = await publishShop(layout, 0, 150);
    const raw = kafka.producer();
    await raw.connect();
    await raw.send({ topic: layout.topics[0].name, messages: [{ key: 'o-x', value: 'not json' }] });
    await raw.disconnect();

    const s = sink(layout, lakeDir);
    await s.start();
    await waitFor(() => s.counters().written + s.counters().rejected >= 301, 30_000, `301 records at the sink (${JSON.stringify(s.counters())})`);
    await s.close();
    expect(s.counters()).toMatchObject({ written: 300, rejected: 1, skippedAlreadyInLake: 0 });

    const lake = lakeLines(lakeDir);
    expect(lake.bad).toBe(0);
    expect(lake.lines).toEqual(expected.sort());
    expect(quarantineCounts(lakeDir)).toEqual({ 'hub-lake-sink': 1 });
    const dirs = fs.readdirSync(path.join(lakeDir, 'hub')).sort();
    expect(dirs).toEqual(['order', 'payment']);
    // Dated by the Kafka record timestamp (the publish time).
    for (const d of fs.readdirSync(path.join(lakeDir, 'hub', 'order'))) expect(d).toMatch(/^date=\d{4}-\d{2}-\d{2}$/);
    expect(fs.existsSync(path.join(lakeDir, LAKE_SINK_CHECKPOINT))).toBe(true);
  });

  test('stopped mid-way and restarted, the lake holds every record exactly once', async () => {
    const layout = freshLayout();
    const lakeDir = await newLakeDir();
    const expected = await publishShop(layout, 0, 1_000);

    const first = sink(layout, lakeDir, kafka, { flushRecordsMax: 100 });
    await first.start();
    await waitFor(() => first.counters().written >= 300, 30_000, 'the first sink to write 300 records');
    await first.close();
    const writtenFirst = first.counters().written;
    expect(writtenFirst).toBeLessThan(2_000);
    expect(lakeLines(lakeDir).lines).toHaveLength(writtenFirst);

    const second = sink(layout, lakeDir);
    await second.start();
    await waitFor(() => lakeLines(lakeDir).lines.length >= 2_000 || second.counters().written >= 2_000 - writtenFirst, 30_000, 'the rest of the records');
    await second.close();
    expect(second.counters().written).toBe(2_000 - writtenFirst);
    const lake = lakeLines(lakeDir);
    expect(lake.bad).toBe(0);
    expect(lake.lines).toEqual(expected.sort());
  });

  test('a crash after the lake flush but before the offset commit writes nothing twice', async () => {
    const layout = freshLayout();
    const lakeDir = await newLakeDir();
    const expected = await publishShop(layout, 0, 200);

    // The first sink's offset commits never reach the broker, as if it died right after each flush.
    const crashing = sink(layout, lakeDir, withoutCommits(kafka));
    await crashing.start();
    await waitFor(() => crashing.counters().written >= 400, 30_000, 'the crashing sink to write everything');
    await crashing.close();
    expect(crashing.counters().commitFailures).toBeGreaterThan(0);
    expect(lakeLines(lakeDir).lines).toEqual([...expected].sort());

    // The group has no committed offset: everything is delivered again, and nothing is written again.
    const restarted = sink(layout, lakeDir);
    await restarted.start();
    await waitFor(() => restarted.counters().skippedAlreadyInLake >= 400, 30_000, `re-delivery of 400 records (${JSON.stringify(restarted.counters())})`);
    await restarted.close();
    expect(restarted.counters().written).toBe(0);
    const lake = lakeLines(lakeDir);
    expect(lake.bad).toBe(0);
    expect(lake.lines).toEqual(expected.sort());
  });

  test('a crash after parts were sealed but before the checkpoint was saved writes nothing twice', async () => {
    const layout = freshLayout();
    const lakeDir = await newLakeDir();
    const expected = await publishShop(layout, 0, 200);

    // Neither the checkpoint nor the offset commit survive: only the sealed lake parts do.
    const crashing = new HubLakeSink({
      kafka: withoutCommits(kafka), groupId: layout.lakeSink.groupId, topics: layout.topics, validate: hubValidator(SHOP_KINDS),
      writer: new HubLakeWriter({ lakeDir }), checkpoint: { load: () => new LakeOffsetCheckpoint(lakeDir).load(), save: () => undefined },
      flushIntervalMs: 200, logger: () => undefined,
    });
    cleanups.push(() => crashing.close());
    await crashing.start();
    await waitFor(() => crashing.counters().written >= 400, 30_000, 'the crashing sink to write everything');
    await crashing.close();
    expect(fs.existsSync(path.join(lakeDir, LAKE_SINK_CHECKPOINT))).toBe(false);

    const restarted = sink(layout, lakeDir);
    await restarted.start();
    await waitFor(() => restarted.counters().skippedAlreadyInLake >= 400, 30_000, `re-delivery of 400 records (${JSON.stringify(restarted.counters())})`);
    await restarted.close();
    expect(restarted.counters().written).toBe(0);
    expect(lakeLines(lakeDir).lines).toEqual(expected.sort());
  });
});

describe('hub lake sink killed with SIGKILL', () => {
  test('killed twice mid-way (kill -9) and finished by a fresh sink, the lake holds every record exactly once', async () => {
    const layout = freshLayout();
    const lakeDir = await newLakeDir();
    const expected = await publishShop(layout, 0, 1_500);
    for (let round = 0; round < 2; round++) await runChildUntilKilled(layout, lakeDir, 400);
    const final = sink(layout, lakeDir, kafka, { sessionTimeoutMs: 6_000 });
    await final.start();
    await waitFor(() => lakeLines(lakeDir).lines.length >= expected.length, 60_000, 'the lake to hold every record');
    await final.close();
    if (process.env.HUB_TEST_DEBUG) console.log(JSON.stringify(final.counters()));
    const lake = lakeLines(lakeDir);
    expect(lake.bad).toBe(0);
    expect(lake.lines).toEqual(expected.sort());
  });
});

/** Runs the sink as a child process and kills it with SIGKILL once it has written `writtenMin` records. */
async function runChildUntilKilled(layout: HubLayout, lakeDir: string, writtenMin: number): Promise<void> {
  const fixture = path.join(import.meta.dirname, 'fixtures', 'lake-sink-child.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, tb.broker.address, lakeDir, layout.topicPrefix], { stdio: ['ignore', 'pipe', 'pipe'] });
  let written = 0;
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    for (const m of s.matchAll(/written (\d+)/g)) written = Math.max(written, Number(m[1]));
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => void (stderr = (stderr + s).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(() => written >= writtenMin || child.exitCode !== null, 60_000, `the child sink to write ${writtenMin} records (${written})`);
    expect(child.exitCode, `the child sink died on its own:\n${stderr}`).toBeNull();
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/** A Kafka whose consumers fail every offset commit. */
function withoutCommits(k: Kafka): Kafka {
  return new Proxy(k, {
    get(target, prop, receiver) {
      if (prop !== 'consumer') return Reflect.get(target, prop, receiver);
      return (config: Parameters<Kafka['consumer']>[0]): Consumer => {
        const consumer = target.consumer(config);
        consumer.commitOffsets = async () => {
          throw new Error('simulated crash before the commit');
        };
        return consumer;
      };
    },
  });
}
