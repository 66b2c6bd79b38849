// Acceptance: kcat and python3-confluent-kafka (both librdkafka) against a 3-node cluster of real
// processes: Metadata lists 3 brokers with partition leaders spread across them; produce, consume
// and consumer-group commits work; the group's committed offsets survive killing its coordinator.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Admin } from 'kafkajs';
import { PYTHON, peerChecks, requirePeer } from '../helpers/peers.ts';
import { runCommand } from '../helpers/run.ts';
import { clusterKafka, startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { ApiKey, type FindCoordinatorResponse } from '../../broker/protocol/generated/index.ts';

const hasKcat = await requirePeer('kcat', peerChecks.kcat);
const hasPython = await requirePeer('python3-confluent-kafka', peerChecks.confluentKafka);
const SCRIPTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'broker', 'python');

let cluster: TestCluster;
let admin: Admin;
let bootstrap: string;

beforeAll(async () => {
  cluster = await startTestCluster(3);
  bootstrap = cluster.bootstrap.join(',');
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'spread', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
      { topic: 'py-group', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
    ],
    waitForLeaders: true,
  });
}, 90_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await cluster?.cleanup();
});

async function py<T>(script: string, ...args: (string | number)[]): Promise<T> {
  const res = await runCommand(PYTHON, [path.join(SCRIPTS, script), bootstrap, ...args.map(String)], { timeoutMs: 120_000 });
  const out = res.stdout.toString().trim().split('\n').pop() ?? '';
  if (res.code !== 0 || !out.startsWith('{')) throw new Error(`${script} exited ${res.code}\nstdout: ${out.slice(-2000)}\nstderr: ${res.stderr.slice(-3000)}`);
  return JSON.parse(out) as T;
}

describe.runIf(hasKcat)('kcat against the 3-node cluster', () => {
  test('kcat -L lists 3 brokers and partition leaders spread across them', async () => {
    const res = await runCommand('kcat', ['-L', '-J', '-b', bootstrap, '-t', 'spread'], { timeoutMs: 30_000 });
    expect(res.code, res.stderr).toBe(0);
    const md = JSON.parse(res.stdout.toString()) as { brokers: { id: number; name: string }[]; topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[] }[] };
    expect(md.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
    expect(md.brokers.map((b) => b.name).sort()).toEqual([...cluster.bootstrap].sort());
    const partitions = md.topics.find((t) => t.topic === 'spread')!.partitions;
    expect(new Set(partitions.map((p) => p.leader)).size, 'one leader per broker').toBe(3);
    for (const p of partitions) {
      expect(p.replicas.length).toBe(3);
      expect(p.isrs.length).toBe(3);
    }
  });

  test('kcat produces with acks=all and reads every message back', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `k${i % 97}:v${i}`);
    const produced = await runCommand('kcat', ['-P', '-b', bootstrap, '-t', 'spread', '-K', ':', '-X', 'acks=all', '-X', 'queue.buffering.max.ms=5'], { input: lines.join('\n') + '\n', timeoutMs: 60_000 });
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await runCommand('kcat', ['-C', '-b', bootstrap, '-t', 'spread', '-e', '-f', '%s\n', '-X', 'fetch.wait.max.ms=100'], { timeoutMs: 60_000 });
    expect(consumed.code, consumed.stderr).toBe(0);
    const values = consumed.stdout.toString().split('\n').filter((l) => l.length > 0);
    expect(values.length).toBe(5000);
    expect(new Set(values)).toEqual(new Set(lines.map((l) => l.split(':')[1])));
  });
});

describe.runIf(hasPython)('python confluent-kafka against the 3-node cluster', () => {
  test('group commits survive killing the group coordinator', async () => {
    const N = 3000;
    expect(await py<{ unflushed: number }>('group.py', 'produce', 'py-group', N)).toEqual({ unflushed: 0 });
    type Run = { values: number[]; commits: number; errors: string[]; committed: Record<string, number> };
    const first = await py<Run>('group.py', 'consume', 'py-group', 'py-cluster-g', 1200);
    expect(first.errors).toEqual([]);
    expect(first.commits).toBeGreaterThan(0);

    // Kill the group's coordinator: its committed offsets must be served by the next leader of its offsets partition.
    const { coordinatorId } = await findCoordinator('py-cluster-g');
    await cluster.node(coordinatorId).kill('SIGKILL');

    const second = await py<Run>('group.py', 'consume', 'py-group', 'py-cluster-g', N);
    expect(second.errors).toEqual([]);
    const firstSet = new Set(first.values);
    const overlap = second.values.filter((v) => firstSet.has(v));
    expect(overlap.slice(0, 10), 'committed messages must not be read again after the coordinator died').toEqual([]);
    const all = [...first.values, ...second.values];
    expect(new Set(all).size).toBe(N);
    await cluster.node(coordinatorId).start();
  }, 180_000);
});

/** The group's coordinator node, from FindCoordinator v2 sent to the first broker. */
async function findCoordinator(groupId: string): Promise<{ coordinatorId: number }> {
  const [host, port] = cluster.bootstrap[0].split(':');
  const conn = new PeerConnection({ host, port: Number(port), clientId: 'clients-test', maxFrameBytes: 1 << 20, connectTimeoutMs: 3_000 });
  try {
    const res = await conn.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 2, { key: groupId, keyType: 0, coordinatorKeys: [] }, 10_000);
    expect(res.errorCode).toBe(0);
    return { coordinatorId: res.nodeId };
  } finally {
    conn.close();
  }
}
