// Shared setup of the hub wiring suites: an embedded broker, quiet kafkajs clients, the shop
// topology's hub layout under a fresh topic prefix per test, its data kinds, and sample orders and
// payments valid for them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { logLevel, type Kafka, type KafkaMessage } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../../broker/index.ts';
import { hubLayout, loadTopology, type HubLayout } from '../../../systems/topology/index.ts';
import { createKafka } from '../../../systems/hub/index.ts';
import { recordKindsOf } from '../../../systems/model/kinds.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
export const SHOP = loadTopology(path.join(REPO_ROOT, 'scenarios/topologies/shop.yaml'));
/** The shop's data kinds: validators, identities and keys. */
export const SHOP_KINDS = recordKindsOf(SHOP);

export interface TestBroker {
  broker: RunningBroker;
  dir: string;
  close(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const dir = await mkdtemp(path.join(tmpdir(), 'untangle-hub-'));
  const broker = await startBroker({ port: 0, dataDir: path.join(dir, 'broker'), groupInitialRebalanceDelayMs: 0, defaultPartitions: 6 });
  return {
    broker,
    dir,
    async close() {
      await broker.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}


export function testKafka(address: string, clientId: string): Kafka {
  return createKafka({
    brokers: [address],
    clientId,
    logLevel: process.env.UNTANGLE_KAFKA_LOG_LEVEL ? undefined : logLevel.NOTHING,
    logger: (line) => {
      if (process.env.UNTANGLE_KAFKA_LOG_LEVEL) process.stderr.write(`${line}\n`);
    },
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
}

let prefixSeq = 0;
/** The shop's hub layout with topics of its own, so tests never see each other's records. */
export function freshLayout(): HubLayout {
  prefixSeq++;
  return hubLayout(SHOP, { topicPrefix: `t${process.pid}x${prefixSeq}.` });
}

export interface TestOrder {
  orderId: string;
  customerId: string;
  createdAtMs: number;
  items: { sku: string; qty: number; unitPriceCents: number }[];
  totalCents: number;
  currency: string;
  country: string;
  email: string;
}

/** A valid shop order; `n` makes the id and the amounts. */
export function makeOrder(orderId: string, n: number): TestOrder {
  const qty = 1 + (n % 3);
  const unitPriceCents = 100 + n;
  return {
    orderId,
    customerId: `c-${n % 17}`,
    createdAtMs: 1_700_000_000_000 + n,
    items: [{ sku: 'TSHIRT-M', qty, unitPriceCents }],
    totalCents: qty * unitPriceCents,
    currency: 'EUR',
    country: 'DE',
    email: `c${n % 17}@example.com`,
  };
}

/** The payment B would publish for `order`: authorized for its total. */
export function makePayment(order: TestOrder): Record<string, unknown> {
  return { orderId: order.orderId, paymentId: `pay-${order.orderId}`, amountCents: order.totalCents, method: 'card', status: 'authorized' };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads every message of `topic` from the beginning with a throwaway group until `count` arrived. */
export async function readTopic(kafka: Kafka, topic: string, count: number, timeoutMs = 30_000): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}`, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  const out: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void out.push(message) });
    await waitFor(() => out.length >= count, timeoutMs, `${count} messages on ${topic} (have ${out.length})`);
    return out;
  } finally {
    await consumer.disconnect();
  }
}
