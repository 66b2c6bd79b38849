// Acceptance: a 3-node cluster of real processes, a topic with replication factor 3 and
// min.insync.replicas 2, a kafkajs idempotent producer with acks=all under steady load. SIGKILL the
// partition's leader, later the controller quorum's leader: every acknowledged message is present
// exactly once afterwards, and the failover time (last acknowledgement before the kill to the first
// after it) is printed.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { clusterKafka, partitionLeader, quorumLeader, startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { sleep, waitFor } from '../helpers/run.ts';

const TOPIC = 'orders-rf3';

let cluster: TestCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startTestCluster(3);
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
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

async function readPartition(groupSuffix: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const kafka = clusterKafka(cluster.bootstrap, `reader-${groupSuffix}`);
  const consumer = kafka.consumer({ groupId: `verify-${groupSuffix}`, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  const end = Number((await admin.fetchTopicOffsets(TOPIC)).find((p) => p.partition === 0)!.high);
  let seen = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (partition !== 0) return;
      const v = message.value!.toString();
      counts.set(v, (counts.get(v) ?? 0) + 1);
      seen = Math.max(seen, Number(message.offset) + 1);
    },
  });
  await waitFor(() => seen >= end, 60_000, `reading ${end} records of ${TOPIC}-0`);
  await consumer.disconnect();
  return counts;
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

    const leader = await partitionLeader(admin, TOPIC, 0);
    expect(leader).toBeGreaterThan(0);
    const first = await killAndMeasure(leader, 'the leader of partition 0', load);
    await waitFor(async () => ![leader, -1].includes(await partitionLeader(admin, TOPIC, 0)), 30_000, 'metadata to show a new leader of partition 0', 250);

    await cluster.node(leader).start(); // the old leader comes back and must catch up, not diverge
    await waitFor(async () => (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.every((p) => p.isr.length === 3), 60_000, 'the restarted node back in every ISR', 250);

    const controllerLeader = await quorumLeader(cluster);
    const second = await killAndMeasure(controllerLeader, 'the controller quorum leader', load);
    await cluster.node(controllerLeader).start();
    await sleep(1_000);
    await load.stop();
    await producer.disconnect();

    const counts = await readPartition('after-failovers');
    const missing = [...load.acked.keys()].filter((v) => !counts.has(v));
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
    process.stdout.write(`acknowledged ${load.acked.size} messages (${load.failed.length} sends failed); failovers ${first} ms and ${second} ms\n`);
    expect(missing, 'acknowledged messages missing after failover').toEqual([]);
    expect(duplicated, 'messages present more than once').toEqual([]);
    expect(load.acked.size).toBeGreaterThan(100);
  }, 240_000);
});
