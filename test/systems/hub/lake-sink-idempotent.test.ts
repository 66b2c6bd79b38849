// The hub's lake sink with delivery=idempotent, as the real `untangle lake-sink` process on our
// broker: records published twice (a system handing its outputs over again) land in the lake once,
// also when the sink is killed with SIGKILL while the copies arrive and a new process finishes the
// work (its memory of what is in the lake is rebuilt from the lake's newest parts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Kafka } from 'kafkajs';
import { HubPublisher, systemHubWiring } from '../../../systems/hub/index.ts';
import { canonicalString, readLake, toCanonical } from '../../../systems/lake/index.ts';
import { topicPrefixOf } from '../../../systems/runtime/options.ts';
import { hubLayout, type HubLayout } from '../../../systems/topology/index.ts';
import { makeOrder, REPO_ROOT, SHOP, SHOP_KINDS, startTestBroker, testKafka, waitFor, type TestBroker } from './helpers.ts';

let tb: TestBroker;
let kafka: Kafka;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  tb = await startTestBroker();
  kafka = testKafka(tb.broker.address, 'lake-idempotent-test');
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await tb?.close();
});

interface SinkProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

/** `untangle lake-sink` with delivery=idempotent; resolves once it printed its ready line. */
async function startSink(workDir: string, runId: string): Promise<SinkProcess> {
  const args = ['bin/untangle.js', 'lake-sink', '--topology', 'scenarios/topologies/shop.yaml', '--work-dir', workDir, '--kafka-brokers', tb.broker.address, '--run-id', runId, '--practices', 'delivery=idempotent'];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => void (children.delete(child), resolve())));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => void (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => void (stderr = (stderr + s).slice(-4000)));
  await waitFor(() => /url=\S+/.test(stdout) || child.exitCode !== null, 60_000, 'the lake sink to be ready');
  expect(child.exitCode, `the lake sink did not start:\n${stderr}`).toBeNull();
  return { child, url: /url=(\S+)/.exec(stdout)![1], exited };
}

async function sinkCounters(sink: SinkProcess): Promise<{ written: number; skippedRepeats: number; flushes: number }> {
  const state = (await (await fetch(`${sink.url}/state`)).json()) as { sink: { written: number; skippedRepeats: number; flushes: number } };
  return state.sink;
}

async function publishOrders(layout: HubLayout, from: number, to: number): Promise<void> {
  const a = new HubPublisher({ kafka, systemId: 'A', topics: systemHubWiring(layout, 'A').produces, logger: () => undefined });
  await Promise.all(Array.from({ length: to - from }, (_, i) => a.publish('order', makeOrder(`o-${from + i}`, from + i))));
  await a.close();
}

/** Has the sink's group committed every offset of the order topic? */
async function drained(layout: HubLayout): Promise<boolean> {
  const topic = layout.topics.find((t) => t.dataKind === 'order')!.name;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: layout.lakeSink.groupId, topics: [topic] });
    return ends.every((e) => committed.partitions.find((p) => p.partition === e.partition)?.offset === e.high);
  } finally {
    await admin.disconnect();
  }
}

function lakeOrders(lakeDir: string): { ids: string[]; lines: string[]; bad: number } {
  const lake = readLake(lakeDir, 'hub', SHOP_KINDS);
  return { ids: lake.records.map((r) => r.id).sort(), lines: lake.records.map(canonicalString).sort(), bad: lake.bad.length };
}

describe('hub lake sink, delivery=idempotent', () => {
  test('a record published again is not written again, across a kill -9 while the copies arrive', async () => {
    const runId = `lakeidem${process.pid}`;
    const workDir = await mkdtemp(path.join(tb.dir, 'work-'));
    const lakeDir = path.join(workDir, 'lake');
    const layout = hubLayout(SHOP, { topicPrefix: topicPrefixOf(SHOP.name, runId) });
    const n = 400;

    await publishOrders(layout, 0, 300);
    const first = await startSink(workDir, runId);
    await waitFor(() => lakeOrders(lakeDir).ids.length >= 300, 30_000, 'the first 300 orders in the lake');
    // Copies of what is in the lake and new orders, and the sink dies while they come in.
    await publishOrders(layout, 0, 150);
    await publishOrders(layout, 300, n);
    first.child.kill('SIGKILL');
    await first.exited;

    // Every order once more, after the kill: all of them are in the lake before the new sink is done.
    await publishOrders(layout, 0, n);
    const second = await startSink(workDir, runId);
    await waitFor(() => drained(layout), 60_000, 'the second sink to commit every offset');
    const counters = await sinkCounters(second);
    second.child.kill('SIGTERM');
    await second.exited;

    const expected = Array.from({ length: n }, (_, i) => canonicalString(toCanonical(SHOP_KINDS.get('order'), { ...makeOrder(`o-${i}`, i) }))).sort();
    const lake = lakeOrders(lakeDir);
    expect(lake.bad).toBe(0);
    expect(lake.lines).toEqual(expected);
    expect(counters.skippedRepeats).toBeGreaterThanOrEqual(300);
  });
});
