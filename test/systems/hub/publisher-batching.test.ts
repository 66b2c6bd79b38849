// How the hub publisher groups concurrent publishes into produce requests, against an embedded
// broker: what one turn of the event loop publishes goes in one request (also the handlers an
// acknowledgement releases together), a linger waits for more unless a batch is full, and closing
// sends what lingers at once. A publish still resolves only once its request is acknowledged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { HubPublisher, systemHubWiring, type PublisherOptions } from '../../../systems/hub/index.ts';
import { freshLayout, makeOrder, startTestBroker, testKafka, type TestBroker } from './helpers.ts';

let tb: TestBroker;
let kafka: Kafka;
const open: HubPublisher[] = [];

beforeAll(async () => {
  tb = await startTestBroker();
  kafka = testKafka(tb.broker.address, 'hub-publisher-batching-test');
});

afterAll(async () => {
  for (const p of open) await p.close().catch(() => undefined);
  await tb?.close();
});

async function connected(extra: Partial<PublisherOptions> = {}): Promise<HubPublisher> {
  const pub = new HubPublisher({ kafka, systemId: 'A', topics: systemHubWiring(freshLayout(), 'A').produces, logger: () => undefined, ...extra });
  open.push(pub);
  await pub.connect();
  return pub;
}

let seq = 0;
const order = () => makeOrder(`o-${++seq}`, seq);

describe('hub publisher batching', () => {
  it('sends the publishes of one turn in one request', async () => {
    const pub = await connected();
    await Promise.all(Array.from({ length: 6 }, () => pub.publish('order', order())));
    expect(pub.counters()).toMatchObject({ published: 6, batches: 1, failed: 0 });
  });

  it('sends the next publishes of handlers one acknowledgement released together in one request', async () => {
    const pub = await connected();
    // Six handlers, each publishing its next record only once the previous one is acknowledged.
    await Promise.all(Array.from({ length: 6 }, async () => {
      for (let i = 0; i < 5; i++) await pub.publish('order', order());
    }));
    expect(pub.counters()).toMatchObject({ published: 30, batches: 5 });
  });

  it('with a linger, waits for records published a little later', async () => {
    const pub = await connected({ lingerMs: 200 });
    const first = pub.publish('order', order());
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([first, pub.publish('order', order())]);
    expect(pub.counters()).toMatchObject({ published: 2, batches: 1 });
  });

  it('does not linger over a full batch, and sends what lingers when closing', async () => {
    const pub = await connected({ lingerMs: 60_000, batchMax: 4 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => pub.publish('order', order())));
    expect(Date.now() - started).toBeLessThan(10_000);
    const last = pub.publish('order', order());
    await pub.close();
    await last;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(pub.counters()).toMatchObject({ published: 5, batches: 2, failed: 0 });
  });

  it('refuses a negative linger', () => {
    expect(() => new HubPublisher({ kafka, systemId: 'A', topics: [], lingerMs: -1 })).toThrow(/lingerMs must be 0 or more/);
  });
});
