import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { startLandscape, type Landscape } from '../../systems/runtime/landscape.ts';
import { driveEvents, waitForOutcome } from '../../systems/runtime/run-check.ts';
import { queuePrefixOf, topicPrefixOf } from '../../systems/runtime/options.ts';
import { ingressEvents } from '../../scenarios/load/ingress-feed.ts';
import { modelOf } from '../../systems/model/landscape-model.ts';
import { loadTopology } from '../../systems/topology/index.ts';
import { canonicalSet, readLake, quarantineCounts } from '../../systems/lake/index.ts';
import { formatVerifyReport } from '../../systems/oracle/index.ts';
import { amqpNames } from '../../systems/legacy/amqp.ts';
import { resolveHub } from '../../infra/kafka.ts';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.ts';
import { peerChecks, requirePeer, RABBITMQ_URL } from '../helpers/peers.ts';

// The whole landscape A-I as OS processes, in both layouts, with RabbitMQ and the broker for real
// (the broker as its own process, found through KAFKA_BROKERS as an external hub would be): 1,000
// orders each, the oracle finds nothing lost or duplicated, and the lake holds the same canonical
// record set in both layouts. Bad input is refused or set aside, and counted. (The broker embedded
// in the test's own process carries the hub wiring in test/systems/hub/.)

const TOPOLOGY = 'scenarios/topologies/shop.yaml';
const ORDERS = ingressEvents(loadTopology(TOPOLOGY), 42, 1000);
const SETTLE_MS = 150_000;
const RUN_TIMEOUT_MS = 300_000;
const digests: Record<string, string> = {};
const hasRabbit = await requirePeer('rabbitmq', () => peerChecks.rabbitmq());

function workDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `untangle-${name}-`));
}

async function runOrders(ls: Landscape, label: string): Promise<void> {
  const drive = await driveEvents(ls.ingressUrl, ORDERS, 8);
  console.log(`${label}: ${ORDERS.length} orders sent in ${drive.elapsedMs} ms`);
  expect(drive.failures, `${label}: ingress answers other than 2xx`).toEqual({});
  const check = await waitForOutcome(ls, ORDERS, SETTLE_MS);
  console.log(`${label}: ${ORDERS.length} orders in ${drive.elapsedMs} ms, settled ${check.waitedMs} ms later`);
  expect(check.report.ok, formatVerifyReport(check.report)).toBe(true);
  expect(check.report.totals.lake).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0, mismatched: 0 });
  expect(check.report.totals.received).toMatchObject({ lost: 0, duplicated: 0 });
  expect(check.lakeBadLines).toBe(0);
  digests[label] = canonicalSet(readLake(ls.lakeDir, ls.layout, modelOf(ls.topology).kinds).records).sha256;
}

/** The parts of GET /state these tests read. */
interface SystemState {
  wiring: {
    amqp: { consumers: Record<string, { deadLettered: number }> };
    batch: { pickers: Record<string, { quarantinedLines: number }> };
    subscriber: { deadLettered: number };
  };
}

async function stateOf(ls: Landscape, id: string): Promise<SystemState> {
  return (await ls.state(id)) as SystemState;
}

describe.runIf(hasRabbit)('legacy layout: REST, RabbitMQ and batch files', () => {
  let ls: Landscape;
  const runId = `t${Date.now() % 1_000_000}l`;
  beforeAll(async () => {
    ls = await startLandscape({ topologyFile: TOPOLOGY, layout: 'legacy', workDir: workDir('legacy'), runId, amqpUrl: RABBITMQ_URL });
  });
  afterAll(async () => {
    await ls?.stop();
  });

  it('refuses a malformed order with 400 and a reason', async () => {
    const res = await fetch(`${ls.ingressUrl}/ingress/order`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderId: 'x', items: [{ sku: 'a', qty: -1 }] }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { reason: string };
    expect(body.reason).toMatch(/customerId|qty|items/);
  });

  it('runs 1,000 orders through A-I: nothing lost, nothing duplicated', async () => {
    await runOrders(ls, 'legacy');
  }, RUN_TIMEOUT_MS);

  it('sends a poison AMQP message to the dead-letter queue and counts it', async () => {
    const names = amqpNames('c-d-pick', queuePrefixOf(runId));
    const conn = await amqp.connect(RABBITMQ_URL);
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(names.queue, Buffer.from('<records kind="reservation"><reservation><oops/></reservation>'), { persistent: true });
    await ch.waitForConfirms();
    let deadLettered = 0;
    for (let i = 0; i < 50 && deadLettered === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      deadLettered = (await stateOf(ls, 'D')).wiring.amqp.consumers['c-d-pick'].deadLettered;
    }
    expect(deadLettered).toBe(1);
    const dlq = await ch.checkQueue(names.dlq);
    expect(dlq.messageCount).toBe(1);
    await conn.close();
  });

  it('quarantines a corrupt line of a batch file and counts it', async () => {
    const inbox = join(ls.workDir, 'inbox', 'E', 'a-e-orders');
    mkdirSync(inbox, { recursive: true });
    writeFileSync(join(inbox, '99999999999999-corrupt.csv'), 'this,is,not\nan,order,line\n');
    let quarantined = 0;
    for (let i = 0; i < 50 && quarantined === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      quarantined = (await stateOf(ls, 'E')).wiring.batch.pickers['a-e-orders'].quarantinedLines;
    }
    expect(quarantined).toBeGreaterThan(0);
  });
});

describe('hub layout: every system through our broker, a separate process found through KAFKA_BROKERS', () => {
  let brokerProcess: BrokerProcess;
  let ls: Landscape;
  let dir: string;
  const runId = `t${Date.now() % 1_000_000}h`;
  beforeAll(async () => {
    brokerProcess = await startBrokerProcess({ groupInitialRebalanceDelayMs: 0, defaultPartitions: 6 });
    const hub = await resolveHub({ env: { KAFKA_BROKERS: brokerProcess.address } });
    expect(hub.source).toBe('env');
    dir = workDir('hub');
    ls = await startLandscape({ topologyFile: TOPOLOGY, layout: 'hub', workDir: dir, runId, kafkaBrokers: hub.brokers });
  });
  afterAll(async () => {
    await ls?.stop();
    await brokerProcess?.stop();
    await brokerProcess?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs 1,000 orders through A-I: nothing lost, nothing duplicated', async () => {
    await runOrders(ls, 'hub');
  }, RUN_TIMEOUT_MS);

  it('dead-letters a poison record on the hub and quarantines it in the lake, counting both', async () => {
    const kafka = new Kafka({ brokers: [brokerProcess.address], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: `${topicPrefixOf('shop', runId)}orders`, messages: [{ key: 'poison', value: '{"orderId": 42, "not": "an order"}' }] });
    await producer.disconnect();
    let deadLettered = 0;
    for (let i = 0; i < 75 && deadLettered === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      deadLettered = (await stateOf(ls, 'B')).wiring.subscriber.deadLettered;
    }
    expect(deadLettered).toBe(1);
    let quarantined = 0;
    for (let i = 0; i < 75 && quarantined === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      quarantined = Object.values(quarantineCounts(ls.lakeDir)).reduce((a, b) => a + b, 0);
    }
    expect(quarantined).toBe(1);
  });

  it.runIf(hasRabbit)('gives the same canonical lake content as the legacy layout', () => {
    expect(digests.legacy).toBeDefined();
    expect(digests.hub).toBe(digests.legacy);
  });
});
