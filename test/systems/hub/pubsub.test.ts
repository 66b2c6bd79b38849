// The hub wiring of systems against an embedded broker with real kafkajs clients: publish/subscribe
// with per-order ordering over 6 partitions, independent groups, backfill for a late joiner,
// dead-lettering of poison records and failing handlers, and the optional dedupe.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Kafka } from 'kafkajs';
import {
  HEADER_DLQ_ORIGIN, HEADER_DLQ_REASON, HEADER_KIND, HEADER_SOURCE, HubPublisher, HubSubscriber, headerString,
  dedupeIdFor, hubValidator, systemHubWiring, type HubMessage, type SubscriberOptions,
} from '../../../systems/hub/index.ts';
import type { HubLayout } from '../../../systems/topology/index.ts';
import { freshLayout, makeOrder, readTopic, SHOP_KINDS, startTestBroker, testKafka, waitFor, type TestBroker, type TestOrder as Order } from './helpers.ts';

const BASE_MS = 1_700_000_000_000;
let tb: TestBroker;
let kafka: Kafka;
const running: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  tb = await startTestBroker();
  kafka = testKafka(tb.broker.address, 'hub-pubsub-test');
});

afterAll(async () => {
  for (const r of running.reverse()) await r.stop().catch(() => undefined);
  await tb?.close();
});

function subscriber(layout: HubLayout, systemId: string, seen: HubMessage[], extra: Partial<SubscriberOptions> = {}): HubSubscriber {
  const w = systemHubWiring(layout, systemId);
  const sub = new HubSubscriber({
    kafka, systemId, groupId: w.groupId, topics: w.subscribes, topicPrefix: w.topicPrefix,
    handler: (m) => void seen.push(m), logger: () => undefined, ...extra,
  });
  running.push(sub);
  return sub;
}

function publisher(layout: HubLayout, systemId: string, extra: Partial<ConstructorParameters<typeof HubPublisher>[0]> = {}): HubPublisher {
  const pub = new HubPublisher({ kafka, systemId, topics: systemHubWiring(layout, systemId).produces, logger: () => undefined, ...extra });
  running.push({ stop: () => pub.close() });
  return pub;
}

/** 60 orders, each published in 10 versions (createdAtMs = BASE_MS + version number). */
const versions = (): Order[] => Array.from({ length: 600 }, (_, n) => makeOrder(`o-${n % 60}`, n));
const orderIdsOf = (seen: HubMessage[]) => seen.map((m) => (m.record as Order).orderId);

function expectPerKeyOrder(seen: HubMessage[], total: number): void {
  expect(seen).toHaveLength(total);
  const byOrder = new Map<string, { partition: number; n: number[] }>();
  for (const m of seen) {
    const o = m.record as Order;
    const entry = byOrder.get(o.orderId) ?? { partition: m.partition, n: [] };
    expect(m.partition, `all versions of ${o.orderId} in one partition`).toBe(entry.partition);
    expect(m.key).toBe(o.orderId);
    entry.n.push(o.createdAtMs - BASE_MS);
    byOrder.set(o.orderId, entry);
  }
  for (const [orderId, { n }] of byOrder) expect(n, `versions of ${orderId} in publish order`).toEqual([...n].sort((a, b) => a - b));
  expect(new Set(seen.map((m) => m.partition)).size, 'orders spread over the 6 partitions').toBe(6);
}

describe('hub publish/subscribe', () => {
  const layout = freshLayout();
  const seenB: HubMessage[] = [];
  const seenC: HubMessage[] = [];

  test('A publishes, B receives every order in per-order order across 6 partitions; C\'s group gets them independently', async () => {
    const b = subscriber(layout, 'B', seenB, { fromBeginning: true });
    const c = subscriber(layout, 'C', seenC, { fromBeginning: true, partitionsConcurrently: 6 });
    await Promise.all([b.start(), c.start()]);
    const a = publisher(layout, 'A', { queueMax: 50, batchMax: 40 });
    await Promise.all(versions().map((o) => a.publish('order', o)));
    const counters = a.counters();
    expect(counters).toMatchObject({ published: 600, failed: 0, queued: 0, waiting: 0 });
    expect(counters.batches, 'concurrent publishes are batched').toBeLessThan(600);
    expect(counters.bytes).toBeGreaterThan(600 * 100);

    await waitFor(() => seenB.length >= 600 && seenC.length >= 600, 30_000, `600 orders at B (${seenB.length}) and C (${seenC.length})`);
    expectPerKeyOrder(seenB, 600);
    expectPerKeyOrder(seenC, 600);
    expect(seenB[0]).toMatchObject({ kind: 'order', source: 'A', topic: layout.topics.find((t) => t.dataKind === 'order')!.name });
    expect(b.counters()).toMatchObject({ received: 600, consumed: 600, deadLettered: 0 });
  });

  test('the headers carry the data kind and the source system', async () => {
    const [m] = await readTopic(kafka, systemHubWiring(layout, 'A').produces[0].name, 1);
    expect(headerString(m.headers, HEADER_KIND)).toBe('order');
    expect(headerString(m.headers, HEADER_SOURCE)).toBe('A');
  });

  test('a late joiner (G) backfills the whole history from the beginning', async () => {
    const seenG: HubMessage[] = [];
    await subscriber(layout, 'G', seenG, { fromBeginning: true }).start();
    await waitFor(() => seenG.length >= 600, 30_000, `600 orders at G (${seenG.length})`);
    expectPerKeyOrder(seenG, 600);
  });

  test('publishing a kind the system does not produce, or a record without its key, fails fast', async () => {
    const a = publisher(layout, 'A');
    await expect(a.publish('payment', { orderId: 'x' })).rejects.toThrow(/no hub topic for data kind 'payment'/);
    await expect(a.publish('order', { total: 1 })).rejects.toThrow(/orderId/);
    expect(a.counters().failed).toBe(2);
  });

  test('the message key is the record\'s key field as text, whatever its declared type', async () => {
    const topic = `${layout.topicPrefix}stock-level`;
    const wms = new HubPublisher({ kafka, systemId: 'wms', topics: [{ name: topic, dataKind: 'stock-level', key: 'available' }], logger: () => undefined });
    running.push({ stop: () => wms.close() });
    await wms.publish('stock-level', { sku: 'CAP-1', warehouse: 'w', available: 3, inStock: true, fillRatio: 0.5 });
    await expect(wms.publish('stock-level', { sku: 'CAP-1', warehouse: 'w', available: null })).rejects.toThrow(/non-empty 'available'/);
    const [m] = await readTopic(kafka, topic, 1);
    expect(m.key?.toString()).toBe('3');
  });
});

describe('poison records and failing handlers', () => {
  test('bad JSON, an invalid record and a handler that keeps failing go to the DLQ; the partition moves on', async () => {
    const layout = freshLayout();
    const w = systemHubWiring(layout, 'B');
    const seen: HubMessage[] = [];
    let flakyCalls = 0;
    const sub = subscriber(layout, 'B', seen, {
      fromBeginning: true,
      validate: hubValidator(SHOP_KINDS),
      handlerAttempts: 3,
      retryBackoffMs: { initial: 10, max: 50 },
      handler: (m) => {
        const o = m.record as Order;
        if (o.orderId === 'o-boom') throw new Error('boom');
        if (o.orderId === 'o-flaky' && flakyCalls++ === 0) throw new Error('flaky once');
        seen.push(m);
      },
    });
    await sub.start();
    const raw = kafka.producer();
    await raw.connect();
    const bad = { ...makeOrder('o-1', 1), totalCents: 1.5 };
    // Same key, same partition: the valid records after the poison must still arrive.
    await raw.send({
      topic: w.subscribes[0].name,
      messages: [
        { key: 'o-1', value: '{"orderId": "o-1", ' },
        { key: 'o-1', value: JSON.stringify(bad) },
        { key: 'o-1', value: JSON.stringify(makeOrder('o-1', 2)) },
        { key: 'o-boom', value: JSON.stringify(makeOrder('o-boom', 3)) },
        { key: 'o-flaky', value: JSON.stringify(makeOrder('o-flaky', 4)) },
        { key: 'o-1', value: JSON.stringify(makeOrder('o-1', 5)) },
      ],
    });
    await raw.disconnect();
    await waitFor(() => seen.length >= 3 && sub.counters().deadLettered >= 3, 30_000, `3 handled (${seen.length}), 3 dead-lettered`);
    expect(orderIdsOf(seen).sort()).toEqual(['o-1', 'o-1', 'o-flaky']);
    expect(sub.counters()).toMatchObject({ received: 6, consumed: 3, deadLettered: 3, handlerFailures: 4 });

    const dlq = await readTopic(kafka, w.dlqTopic, 3);
    expect(w.dlqTopic).toBe(`${layout.topicPrefix}dlq.B`);
    const reasons = dlq.map((m) => headerString(m.headers, HEADER_DLQ_REASON) ?? '').sort();
    expect(reasons[0]).toMatch(/^bad JSON/);
    expect(reasons[1]).toMatch(/^handler failed 3 times: boom/);
    expect(reasons[2]).toMatch(/^invalid order: totalCents/);
    for (const m of dlq) expect(headerString(m.headers, HEADER_DLQ_ORIGIN)).toMatch(new RegExp(`^${w.subscribes[0].name.replace(/\./g, '\\.')}/\\d/\\d+$`));
    expect(dlq.find((m) => m.key?.toString() === 'o-boom')?.value?.toString()).toBe(JSON.stringify(makeOrder('o-boom', 3)));
  });
});

describe('dedupe', () => {
  test('with dedupe on, a record published twice reaches the handler once', async () => {
    const layout = freshLayout();
    const seen: HubMessage[] = [];
    const sub = subscriber(layout, 'B', seen, { fromBeginning: true, dedupe: { capacity: 1_000, idOf: dedupeIdFor(SHOP_KINDS) } });
    await sub.start();
    const a = publisher(layout, 'A');
    const orders = [makeOrder('o-1', 1), makeOrder('o-2', 2), makeOrder('o-1', 1), makeOrder('o-3', 3)];
    for (const o of orders) await a.publish('order', o);
    await waitFor(() => sub.counters().received >= 4, 30_000, '4 records received');
    expect(orderIdsOf(seen).sort()).toEqual(['o-1', 'o-2', 'o-3']);
    expect(sub.counters()).toMatchObject({ consumed: 3, duplicatesSkipped: 1 });
  });
});
