// RabbitMQ with amqplib: durable queue, persistent messages, publisher confirms (ConfirmChannel),
// manual acks with a prefetch window. Same shape of workload as the Kafka runs.
import amqp, { type Channel, type ConfirmChannel } from 'amqplib';
import { latencySummary, nowMs, sleep } from './stats.ts';
import type { BenchSettings, LatencyResult, ThroughputResult } from './types.ts';

const CONFIRM_WINDOW = 2000;
const PREFETCH = 1000;
const ACK_EVERY = 100;

async function publishWindowed(ch: ConfirmChannel, queue: string, body: (i: number) => Buffer, shouldStop: (i: number) => boolean): Promise<number> {
  let outstanding = 0;
  let failed: unknown = null;
  let wake: (() => void) | null = null;
  let i = 0;
  for (; !shouldStop(i); i++) {
    while (outstanding >= CONFIRM_WINDOW) await new Promise<void>((r) => { wake = r; });
    if (failed) throw failed;
    outstanding++;
    const ok = ch.sendToQueue(queue, body(i), { persistent: true }, (err) => {
      if (err) failed = err;
      outstanding--;
      if (wake && outstanding < CONFIRM_WINDOW / 2) { const w = wake; wake = null; w(); }
    });
    if (!ok) await new Promise<void>((r) => ch.once('drain', () => r()));
  }
  await ch.waitForConfirms();
  if (failed) throw failed;
  return i;
}

/**
 * A fresh durable queue with a confirm channel to publish on and a separate connection's channel
 * (with the prefetch window) to consume from; both connections are closed afterwards.
 */
async function withBenchQueue<T>(url: string, queue: string, run: (ch: ConfirmChannel, cch: Channel) => Promise<T>): Promise<T> {
  const conn = await amqp.connect(url);
  const cconn = await amqp.connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    await ch.purgeQueue(queue);
    const cch = await cconn.createChannel();
    await cch.prefetch(PREFETCH);
    const result = await run(ch, cch);
    await ch.deleteQueue(queue);
    return result;
  } finally {
    await conn.close().catch(() => undefined);
    await cconn.close().catch(() => undefined);
  }
}

export async function rabbitThroughput(url: string, size: number, s: BenchSettings): Promise<ThroughputResult> {
  const queue = `bench-${size}-${process.pid}`;
  return withBenchQueue(url, queue, async (ch, cch) => {
    const payload = Buffer.alloc(size, 0x61);
    const t0 = performance.now();
    const messages = await publishWindowed(ch, queue, () => payload,
      (i) => i % 1000 === 0 && performance.now() - t0 >= s.minSeconds * 1000);
    const produceSeconds = (performance.now() - t0) / 1000;

    let got = 0;
    const t1 = performance.now();
    await new Promise<void>((resolve) => {
      void cch.consume(queue, (msg) => {
        if (!msg) return;
        got++;
        if (got % ACK_EVERY === 0 || got === messages) cch.ack(msg, true);
        if (got === messages) resolve();
      }, { noAck: false });
    });
    const consumeSeconds = (performance.now() - t1) / 1000;
    return { messages, produceSeconds, consumeSeconds, notes: [`confirm window ${CONFIRM_WINDOW}, prefetch ${PREFETCH}, ack every ${ACK_EVERY} (multiple)`] };
  });
}

export async function rabbitLatency(url: string, size: number, s: BenchSettings): Promise<LatencyResult> {
  const queue = `bench-e2e-${size}-${process.pid}`;
  return withBenchQueue(url, queue, async (ch, cch) => {
    const lat: number[] = [];
    const total = Math.round(s.e2eRate * s.e2eSeconds);
    const allIn = new Promise<void>((resolve) => {
      void cch.consume(queue, (msg) => {
        if (!msg) return;
        lat.push(nowMs() - msg.content.readDoubleBE(0));
        cch.ack(msg);
        if (lat.length === total) resolve();
      }, { noAck: false });
    });
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / s.e2eRate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const b = Buffer.alloc(size, 0x62);
      b.writeDoubleBE(nowMs(), 0);
      ch.sendToQueue(queue, b, { persistent: true });
    }
    await ch.waitForConfirms();
    await allIn;
    return latencySummary(lat);
  });
}
