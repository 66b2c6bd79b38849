// @confluentinc/kafka-javascript (librdkafka, through its KafkaJS-compatible API) against the broker and a 3-node
// cluster: admin create and delete, produce, a classic consumer group of three sharing the partitions, and a second
// generation that resumes from the committed offsets; every record exactly once (no member joins or leaves while
// records flow). The package builds librdkafka from source when it cannot download its prebuilt binary (.ci/run
// installs the libraries that build links against).
import { afterAll, describe, it } from 'vitest';
import { startBroker } from '../../broker/index.ts';
import { startCluster } from '../../broker/cluster/node.ts';
import { requirePeer } from '../helpers/peers.ts';
import { judgeGroupScenario } from './judge.ts';
import type { ConfluentRun } from './confluent-group-run.ts';

let runScenario: ((brokers: string[], topic: string, rf: number) => Promise<ConfluentRun>) | null = null;
const hasClient = await requirePeer('@confluentinc/kafka-javascript', async () => {
  runScenario = (await import('./confluent-group-run.ts')).confluentGroupRun;
});

function judge(r: ConfluentRun, label: string): void {
  console.log(`@confluentinc/kafka-javascript, ${label}: ${JSON.stringify({ ...r, first: { ...r.first, keys: undefined }, second: { ...r.second, keys: undefined } })}`);
  judgeGroupScenario(r);
}

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

describe.runIf(hasClient)('@confluentinc/kafka-javascript (classic group protocol)', () => {
  it('against one broker: create, produce, a group of three sharing partitions, resume from committed offsets, delete', async () => {
    const broker = await startBroker({ preset: 'test' });
    cleanup.push(() => broker.close());
    judge(await runScenario!([broker.address], 'ck-single', 1), 'one broker');
  }, 150_000);

  it('against a 3-node cluster, replication factor 3', async () => {
    const cluster = await startCluster({ nodes: 3, preset: 'test' });
    cleanup.push(() => cluster.close());
    judge(await runScenario!(cluster.bootstrap, 'ck-cluster', 3), '3-node cluster');
  }, 150_000);
});
