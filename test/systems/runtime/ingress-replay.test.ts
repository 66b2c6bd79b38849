// The ingress with delivery=idempotent, over HTTP against runSystem in the hub layout on our broker:
// an event POSTed again gets 200 with its records and the replay header and is not emitted again,
// also after a restart and when the repeat comes while the first is still being handed over; an id
// reused with other content gets 409. With at-least-once every POST is a new event, as before.
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import { startHubWiring } from '../../../systems/runtime/hub-system.ts';
import { INGRESS_REPLAY_HEADER } from '../../../systems/runtime/ingress-ledger.ts';
import { AS_GROWN, BEST_PRACTICE, PATHS, topicPrefixOf, type Practices } from '../../../systems/runtime/options.ts';
import { runSystem, type RunningSystem } from '../../../systems/runtime/system.ts';
import { hubLayout } from '../../../systems/topology/index.ts';
import { SHOP, startTestBroker, testKafka, type TestBroker } from '../hub/helpers.ts';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb?.close();
});

let runSeq = 0;
const newRun = async () => ({ runId: `ingress${process.pid}x${++runSeq}`, workDir: await mkdtemp(path.join(tb.dir, 'work-')) });

function storefront(run: { runId: string; workDir: string }, practices: Practices): Promise<RunningSystem> {
  return runSystem(
    { topology: SHOP, systemId: 'A', instance: 1, layout: 'hub', workDir: run.workDir, port: 0, peers: {}, kafkaBrokers: [tb.broker.address], runId: run.runId, practices, logger: () => undefined },
    startHubWiring,
  );
}

async function post(system: RunningSystem, record: object): Promise<{ status: number; replayed: string | null; ids: string[] }> {
  const res = await fetch(system.url + PATHS.ingress('order'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) });
  const text = await res.text();
  const ids = res.status < 300 ? (JSON.parse(text) as { orderId: string }[]).map((r) => r.orderId) : [];
  return { status: res.status, replayed: res.headers.get(INGRESS_REPLAY_HEADER), ids };
}

/** Orders on the run's order topic: the sum of its partitions' end offsets. */
async function ordersOnTopic(runId: string): Promise<number> {
  const topic = hubLayout(SHOP, { topicPrefix: topicPrefixOf(SHOP.name, runId) }).topics.find((t) => t.dataKind === 'order')!.name;
  const admin = testKafka(tb.broker.address, 'ingress-test-admin').admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

const orders = ingressEvents(SHOP, 11, 4).map((e) => e.record as { orderId: string; createdAtMs: number });

describe('ingress, delivery=idempotent', () => {
  it('answers a repeated event with its first records and emits it once, across a restart and a concurrent repeat', async () => {
    const run = await newRun();
    const [o1, o2, o3] = orders;
    let a = await storefront(run, BEST_PRACTICE);
    try {
      expect(await post(a, o1)).toEqual({ status: 201, replayed: null, ids: [o1.orderId] });
      expect(await post(a, o1)).toEqual({ status: 200, replayed: '1', ids: [o1.orderId] });
      expect(await post(a, [o1, o2])).toEqual({ status: 201, replayed: '1', ids: [o1.orderId, o2.orderId] });
      // The same id with other content is another event, not a repeat.
      expect((await post(a, { ...o1, createdAtMs: o1.createdAtMs + 1 })).status).toBe(409);
      // A repeat while the first is being handed over waits for it, then is a replay.
      const both = await Promise.all([post(a, o3), post(a, o3)]);
      expect(both.map((r) => r.status).sort()).toEqual([200, 201]);
      const state = (await (await fetch(a.url + PATHS.state)).json()) as { delivery: string; ingressReplays: number; ingressConflicts: number };
      expect(state).toMatchObject({ delivery: 'idempotent', ingressReplays: 3, ingressConflicts: 1 });
      await a.close();

      a = await storefront(run, BEST_PRACTICE);
      expect(await post(a, o1)).toEqual({ status: 200, replayed: '1', ids: [o1.orderId] });
    } finally {
      await a.close();
    }
    expect(await ordersOnTopic(run.runId)).toBe(3);
  });

  it('at-least-once (as grown) takes every POST as a new event', async () => {
    const run = await newRun();
    const a = await storefront(run, AS_GROWN);
    try {
      for (let i = 0; i < 3; i++) expect(await post(a, orders[0])).toEqual({ status: 201, replayed: null, ids: [orders[0].orderId] });
    } finally {
      await a.close();
    }
    expect(await ordersOnTopic(run.runId)).toBe(3);
  });
});
