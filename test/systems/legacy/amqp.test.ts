// AMQP transport against the real RabbitMQ: confirms, DLQ for poison and repeated handler failure,
// reconnect through a TCP proxy that is cut, with a bounded publish buffer meanwhile.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpConnector, AmqpConsumer, AmqpPublisher, PublishRejectedError, amqpNames, deleteFlowQueues } from '../../../systems/legacy/index.ts';
import type { AmqpFlowNames } from '../../../systems/legacy/index.ts';
import { CODEC, RABBIT_URL, payment, reservation, uniqueId } from './helpers.ts';

const until = async (cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function dlqDepth(n: AmqpFlowNames): Promise<number> {
  const conn = await amqp.connect(RABBIT_URL);
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(n.dlq)).messageCount;
  } finally {
    await conn.close();
  }
}

/** Dead-lettering is asynchronous in the broker: wait for the DLQ to hold exactly `n`. */
async function untilDepth(n: AmqpFlowNames, depth: number): Promise<void> {
  const end = Date.now() + 5000;
  let last = -1;
  while (Date.now() < end) {
    last = await dlqDepth(n);
    if (last === depth) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`DLQ ${n.dlq} holds ${last}, expected ${depth}`);
}

async function sendRaw(n: AmqpFlowNames, body: Buffer): Promise<void> {
  const conn = await amqp.connect(RABBIT_URL);
  try {
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(n.queue, body, { persistent: true });
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

describe('AMQP transport', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f(); });

  function flow(connector: AmqpConnector, what: string) {
    const flowId = uniqueId(what);
    const names = amqpNames(flowId);
    cleanup.push(() => deleteFlowQueues(RABBIT_URL, names));
    return { flowId, names };
  }

  function connector(url = RABBIT_URL): AmqpConnector {
    const c = new AmqpConnector({ url, backoff: { initialMs: 20, maxMs: 200 } });
    c.start();
    cleanup.push(() => c.close());
    return c;
  }

  it.each([
    ['json', 'payment', payment],
    ['xml', 'reservation', reservation],
  ] as const)('round-trips %s messages with publisher confirms', async (format, kind, make) => {
    const conn = connector();
    const { flowId } = flow(conn, `rt-${format}`);
    const got: unknown[] = [];
    const consumer = new AmqpConsumer({ codec: CODEC, connector: conn, flowId, kind, format, prefetch: 10, handler: (records) => { got.push(...records); } });
    const publisher = new AmqpPublisher({ codec: CODEC, connector: conn, flowId, kind, format, inFlightMax: 4 });
    publisher.start();
    consumer.start();
    cleanup.push(() => consumer.stop(), () => publisher.close());
    const sent = Array.from({ length: 20 }, (_, i) => make(i));
    await Promise.all(sent.map((r) => publisher.publish([r])));
    expect(publisher.counters()).toMatchObject({ published: 20, confirmed: 20, nacked: 0, inFlight: 0, buffered: 0 });
    await until(() => got.length === 20);
    expect(got).toEqual(sent);
    expect(consumer.counters()).toMatchObject({ consumed: 20, records: 20, deadLettered: 0 });
  });

  it('dead-letters a poison message (undecodable or invalid) and counts it', async () => {
    const conn = connector();
    const { flowId, names } = flow(conn, 'poison');
    const got: unknown[] = [];
    const consumer = new AmqpConsumer({
      codec: CODEC, connector: conn, flowId, kind: 'payment', format: 'json', prefetch: 5,
      validate: (_kind, r) => ((r as { amountCents: number }).amountCents > 1_000_000 ? 'amount above the limit' : undefined),
      handler: (records) => { got.push(...records); },
    });
    consumer.start();
    cleanup.push(() => consumer.stop());
    const publisher = new AmqpPublisher({ codec: CODEC, connector: conn, flowId, kind: 'payment', format: 'json' });
    publisher.start();
    cleanup.push(() => publisher.close());
    await publisher.publish([payment(1)]); // declares the queues too
    await sendRaw(names, Buffer.from('{"orderId": "o-1", "broken'));
    await sendRaw(names, Buffer.from(JSON.stringify({ ...payment(2), amountCents: 5_000_000 })));
    await publisher.publish([payment(3)]);
    await until(() => consumer.counters().consumed === 2 && consumer.counters().deadLettered === 2);
    expect(got).toEqual([payment(1), payment(3)]);
    const c = consumer.counters();
    expect(c).toMatchObject({ poison: 2, deadLettered: 2, handlerFailures: 0 });
    expect(c.recentDeadLetters.map((d) => d.reason).join('\n')).toMatch(/poison: .*JSON[\s\S]*amount above the limit/);
    await untilDepth(names, 2);
  });

  it('requeues a message whose handler fails once, dead-letters it when it fails again', async () => {
    const conn = connector();
    const { flowId, names } = flow(conn, 'handler');
    const attempts = new Map<string, boolean[]>();
    const consumer = new AmqpConsumer<{ orderId: string }>({
      codec: CODEC, connector: conn, flowId, kind: 'payment', format: 'json', prefetch: 1,
      handler: (records, info) => {
        const id = records[0].orderId;
        attempts.set(id, [...(attempts.get(id) ?? []), info.redelivered]);
        if (id === 'o-t-1' && !info.redelivered) throw new Error('flaky downstream');
        if (id === 'o-t-2') throw new Error('always fails');
      },
    });
    const publisher = new AmqpPublisher({ codec: CODEC, connector: conn, flowId, kind: 'payment', format: 'json' });
    publisher.start();
    consumer.start();
    cleanup.push(() => consumer.stop(), () => publisher.close());
    await publisher.publish([payment(1)]);
    await publisher.publish([payment(2)]);
    await until(() => consumer.counters().consumed === 1 && consumer.counters().deadLettered === 1);
    expect(attempts.get('o-t-1')).toEqual([false, true]);
    expect(attempts.get('o-t-2')).toEqual([false, true]);
    expect(consumer.counters()).toMatchObject({ handlerFailures: 3, requeued: 2, deadLettered: 1, poison: 0 });
    await untilDepth(names, 1);
  });

  it('reconnects after the connection drops; the publisher buffers a bounded number meanwhile', async () => {
    const proxy = await tcpProxy(5672);
    cleanup.push(() => proxy.close());
    const conn = connector(`amqp://guest:guest@127.0.0.1:${proxy.port}`);
    const { flowId } = flow(conn, 'reconnect');
    const got: unknown[] = [];
    const consumer = new AmqpConsumer({ codec: CODEC, connector: conn, flowId, kind: 'payment', format: 'json', prefetch: 10, handler: (r) => { got.push(...r); } });
    const publisher = new AmqpPublisher({ codec: CODEC, connector: conn, flowId, kind: 'payment', format: 'json', bufferMax: 5 });
    publisher.start();
    consumer.start();
    cleanup.push(() => consumer.stop(), () => publisher.close());
    await publisher.publish([payment(0)]);
    await until(() => got.length === 1);

    proxy.down();
    await until(() => !conn.counters().connected, 10_000, 'disconnect seen');
    const pending = Array.from({ length: 5 }, (_, i) => publisher.publish([payment(1 + i)]));
    await expect(publisher.publish([payment(99)])).rejects.toBeInstanceOf(PublishRejectedError);
    expect(publisher.counters()).toMatchObject({ bufferRejected: 1, buffered: 5 });

    proxy.up();
    await Promise.all(pending);
    await until(() => got.length >= 6, 15_000, 'buffered messages consumed');
    expect(new Set(got.map((r) => (r as { orderId: string }).orderId)).size).toBe(6);
    expect(conn.counters().reconnects).toBeGreaterThanOrEqual(1);
  });
});

/** A TCP proxy to RabbitMQ that can cut every connection and refuse new ones. */
async function tcpProxy(targetPort: number): Promise<{ port: number; down(): void; up(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepting = true;
  const server = net.createServer((client) => {
    if (!accepting) { client.destroy(); return; }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    down() { accepting = false; for (const s of sockets) s.destroy(); },
    up() { accepting = true; },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
