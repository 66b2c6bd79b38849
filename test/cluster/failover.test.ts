// Acceptance: a 3-node cluster of real processes, a topic with replication factor 3 and
// min.insync.replicas 2, a kafkajs idempotent producer with acks=all under steady load. SIGKILL the
// partition's leader, later the controller quorum's leader: every acknowledged message is present
// exactly once afterwards, and the failover time (last acknowledgement before the kill to the first
// after it) is printed. Once the killed leader is back in sync, the controller moves leadership back
// to the preferred replicas (leader rebalance every 2 s here) under the same load. Beside it the hub's own publisher (systems/hub/publisher.ts) sends keyed
// records to a topic of 6 partitions spread over the three brokers; the same holds for it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { clusterKafka, partitionLeader, quorumLeader, startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { sleep, waitFor } from '../helpers/run.ts';
import { HubPublisher } from '../../systems/hub/publisher.ts';

const TOPIC = 'orders-rf3';
/** Where the hub publisher writes: 6 partitions, so its sends go to every broker. */
const HUB_TOPIC = 'hub-orders-rf3';

let cluster: TestCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startTestCluster(3, ['--leader-rebalance-interval-ms', '2000']);
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [TOPIC, HUB_TOPIC].map((topic) => ({ topic, numPartitions: topic === TOPIC ? 3 : 6, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] })),
    waitForLeaders: true,
  });
}, 90_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await cluster?.cleanup();
});

/** Sends one message at a time to partition 0 (acks=all, idempotent) and records when each was acknowledged. */
class SteadyProducer {
  readonly acked = new Map<string, number>();
  /** When each acknowledged message's send began. */
  readonly sentAt = new Map<string, number>();
  readonly failed: string[] = [];
  private seq = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly producer: Producer,
    private readonly prefix: string,
    private readonly intervalMs: number,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const value = `${this.prefix}-${this.seq++}`;
      const started = Date.now();
      try {
        await this.producer.send({ topic: TOPIC, acks: -1, messages: [{ value, partition: 0 }] });
        this.acked.set(value, Date.now());
        this.sentAt.set(value, started);
      } catch {
        this.failed.push(value);
      }
      await sleep(this.intervalMs);
    }
  }

  /** Whether a message whose send began after `t` has been acknowledged. */
  ackedSentAfter(t: number): boolean {
    for (const [v, at] of this.sentAt) if (at > t && this.acked.has(v)) return true;
    return false;
  }

  /**
   * The outage around a kill at `t`: the longest gap between consecutive acknowledgements from
   * the last one before the kill on. (An acknowledgement already on the wire at the kill can land
   * just after it; the gap that follows is the failover.)
   */
  outage(t: number): { from: number; to: number } {
    const times = [...this.acked.values()].sort((a, b) => a - b);
    let best = { from: t, to: t };
    for (let i = 1; i < times.length; i++) {
      if (times[i] <= t) continue;
      if (times[i - 1] < t && i > 1 && times[i - 1] < t - 60_000) continue;
      if (times[i] - times[i - 1] > best.to - best.from) best = { from: times[i - 1], to: times[i] };
    }
    return best;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** The hub's publisher under the same faults: a few concurrent publishes at a time, as a system's ingress makes them. */
class PublisherLoad {
  readonly acked = new Set<string>();
  failed = 0;
  private seq = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly publisher: HubPublisher) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const ids = Array.from({ length: 3 }, () => `p-${this.seq++}`);
      await Promise.all(ids.map((orderId) => this.publisher.publish('order', { orderId }).then(() => void this.acked.add(orderId), () => void this.failed++)));
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** How often each value occurs in the given partitions of a topic (every partition when none are given). */
async function readTopic(topic: string, groupSuffix: string, only?: number[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const kafka = clusterKafka(cluster.bootstrap, `reader-${groupSuffix}`);
  const consumer = kafka.consumer({ groupId: `verify-${groupSuffix}`, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  const ends = new Map((await admin.fetchTopicOffsets(topic)).filter((p) => !only || only.includes(p.partition)).map((p) => [p.partition, Number(p.high)]));
  const seen = new Map<number, number>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (!ends.has(partition)) return;
      const raw = message.value!.toString();
      const v = raw.startsWith('{') ? (JSON.parse(raw) as { orderId: string }).orderId : raw;
      counts.set(v, (counts.get(v) ?? 0) + 1);
      seen.set(partition, Math.max(seen.get(partition) ?? 0, Number(message.offset) + 1));
    },
  });
  await waitFor(() => [...ends].every(([p, end]) => (seen.get(p) ?? 0) >= end), 60_000, `reading ${[...ends.values()].reduce((a, b) => a + b, 0)} records of ${topic}`);
  await consumer.disconnect();
  return counts;
}

function missingAndDuplicated(acked: Iterable<string>, counts: Map<string, number>): { missing: string[]; duplicated: string[] } {
  return { missing: [...acked].filter((v) => !counts.has(v)), duplicated: [...counts].filter(([, n]) => n > 1).map(([v]) => v) };
}

async function killAndMeasure(victim: number, what: string, load: SteadyProducer): Promise<number> {
  await sleep(2_000); // steady state before the kill
  const killedAt = Date.now();
  await cluster.node(victim).kill('SIGKILL');
  await waitFor(() => load.ackedSentAfter(killedAt + 1_000), 60_000, `acknowledgements again after killing ${what} (node ${victim})`, 100);
  await sleep(2_000);
  const { from, to } = load.outage(killedAt);
  const failover = to - from;
  process.stdout.write(
    `failover after SIGKILL of ${what} (node ${victim}): ${failover} ms without acknowledgements (last before the outage ${from - killedAt} ms from the kill, first after it +${to - killedAt} ms)\n`,
  );
  return failover;
}

describe('3-node cluster failover (real processes, kafkajs acks=all, RF 3, min.insync.replicas 2)', () => {
  test('killing the partition leader, then the quorum leader, loses and duplicates no acknowledged message', async () => {
    const kafka = clusterKafka(cluster.bootstrap, 'steady-producer', 30);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const load = new SteadyProducer(producer, 'm', 20);
    const publisher = new HubPublisher({
      kafka: clusterKafka(cluster.bootstrap, 'hub-publisher', 30), systemId: 'A', topics: [{ name: HUB_TOPIC, dataKind: 'order', key: 'orderId' }], logger: () => undefined,
    });
    await publisher.connect();
    const hubLoad = new PublisherLoad(publisher);

    const leader = await partitionLeader(admin, TOPIC, 0);
    expect(leader).toBeGreaterThan(0);
    const first = await killAndMeasure(leader, 'the leader of partition 0', load);
    await waitFor(async () => ![leader, -1].includes(await partitionLeader(admin, TOPIC, 0)), 30_000, 'metadata to show a new leader of partition 0', 250);

    await cluster.node(leader).start(); // the old leader comes back and must catch up, not diverge
    await waitFor(async () => (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.every((p) => p.isr.length === 3), 60_000, 'the restarted node back in every ISR', 250);
    const inSyncAt = Date.now();
    await waitFor(
      async () => (await admin.fetchTopicMetadata({ topics: [TOPIC, HUB_TOPIC] })).topics.every((t) => t.partitions.every((p) => p.leader === p.replicas[0])),
      30_000, 'leadership back on every preferred replica', 250,
    );
    process.stdout.write(`leaders back on their preferred replicas ${Date.now() - inSyncAt} ms after the restarted node was in every ISR\n`);
    expect(await partitionLeader(admin, TOPIC, 0), 'partition 0 led again by the node that was killed').toBe(leader);

    const controllerLeader = await quorumLeader(cluster);
    const second = await killAndMeasure(controllerLeader, 'the controller quorum leader', load);
    await cluster.node(controllerLeader).start();
    await sleep(1_000);
    await load.stop();
    await hubLoad.stop();
    await producer.disconnect();
    await publisher.close();

    const { missing, duplicated } = missingAndDuplicated(load.acked.keys(), await readTopic(TOPIC, 'after-failovers', [0]));
    process.stdout.write(`acknowledged ${load.acked.size} messages (${load.failed.length} sends failed); failovers ${first} ms and ${second} ms\n`);
    expect(missing, 'acknowledged messages missing after failover').toEqual([]);
    expect(duplicated, 'messages present more than once').toEqual([]);
    expect(load.acked.size).toBeGreaterThan(100);

    const hub = missingAndDuplicated(hubLoad.acked, await readTopic(HUB_TOPIC, 'hub-after-failovers'));
    process.stdout.write(`hub publisher: ${hubLoad.acked.size} records acknowledged over ${HUB_TOPIC}'s 6 partitions, ${hubLoad.failed} failed, ${hub.missing.length} missing, ${hub.duplicated.length} duplicated\n`);
    expect(hub.missing, 'records the hub publisher had acknowledged, missing').toEqual([]);
    expect(hub.duplicated, 'hub records present more than once').toEqual([]);
    expect(hubLoad.acked.size).toBeGreaterThan(100);
  }, 240_000);
});
