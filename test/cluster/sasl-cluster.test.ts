// Acceptance (issue 15): kafkajs, kcat and python confluent-kafka produce and consume over SASL/SCRAM
// with TLS against a 3-node cluster of real broker processes whose nodes listen SASL_SSL only, and
// whose inter-node traffic is authenticated: the controller quorum with the cluster secret
// (handshake + per-frame MAC), replica fetches over TLS with the cluster SASL mechanism. Topics have
// replication factor 3 and min.insync.replicas 2, leaders on every node, and every client bootstraps
// from a single node, so each talks SASL_SSL to all three.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ClusterProcess, planProcessCluster } from '../../broker/cluster/process-cluster.ts';
import { ApiKey } from '../../broker/protocol/generated/index.ts';
import type { AlterUserScramCredentialsResponse } from '../../broker/protocol/generated/alter-user-scram-credentials.ts';
import { CredentialStore, SCRAM_MECHANISMS, credentialFromPassword, saltPassword } from '../../broker/security/credentials.ts';
import { AdminConnection } from '../../cli/users-client.ts';
import { makeTempDir } from '../helpers/broker-process.ts';
import { makeConsumer } from '../helpers/kafkajs.ts';
import { PYTHON, peerChecks, requirePeer } from '../helpers/peers.ts';
import { runCommand, waitFor } from '../helpers/run.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';

const hasKcat = await requirePeer('kcat', peerChecks.kcat);
const hasPython = await requirePeer('python3-confluent-kafka', peerChecks.confluentKafka);
// The same script as the single-broker SASL test's.
const SCRIPT = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'broker', 'python', 'sasl.py');

const ADMIN_PASSWORD = 'admin-secret';
const ALICE_PASSWORD = 'alice-secret';
const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
const PARTITIONS = 3;
const TOPICS = ['via-kafkajs', 'via-kcat', 'via-python'];

let dir: string;
let certs: TestCertificates;
let nodes: ClusterProcess[] = [];
let admin: Admin;

/** A kafkajs client over SASL_SSL that knows only the one node it bootstraps from. */
function kafkaVia(address: string, sasl: SASLOptions): Kafka {
  return new Kafka({
    clientId: 'sasl-cluster-test',
    brokers: [address],
    ssl: { ca: [readFileSync(certs.ca)] },
    sasl,
    logLevel: process.env.KAFKAJS_LOG ? logLevel.INFO : logLevel.NOTHING,
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** AlterUserScramCredentials on one node, authenticated as the admin over SASL_SSL. */
async function addUserOnline(address: string, user: string, password: string): Promise<void> {
  const conn = await AdminConnection.open({ bootstrapServer: address, securityProtocol: 'SASL_SSL', saslMechanism: 'SCRAM-SHA-512', user: 'admin', password: ADMIN_PASSWORD, sslCa: certs.ca, timeoutMs: 15_000 });
  try {
    const upsertions = await Promise.all(
      MECHANISMS.map(async (mechanism) => {
        const salt = randomBytes(32);
        return { name: user, mechanism: SCRAM_MECHANISMS[mechanism].wireId, iterations: 4096, salt, saltedPassword: await saltPassword(mechanism, password, salt, 4096) };
      }),
    );
    const res = await conn.request<AlterUserScramCredentialsResponse>(ApiKey.AlterUserScramCredentials, 0, { deletions: [], upsertions });
    expect(res.results).toEqual([{ user, errorCode: 0, errorMessage: null }]);
  } finally {
    conn.close();
  }
}

beforeAll(async () => {
  dir = makeTempDir('untangle-sasl-cluster-');
  certs = makeTestCertificates(dir);
  const plan = await planProcessCluster({
    nodes: 3,
    dataDir: join(dir, 'cluster'),
    basePort: 0,
    // Generous timeouts: this checks security, not failover, on a loaded machine.
    extraArgs: [
      '--ssl-cert', certs.serverCert, '--ssl-key', certs.serverKey, '--ssl-ca', certs.ca,
      '--sasl-enabled-mechanisms', MECHANISMS.join(','),
      '--broker-session-timeout-ms', '6000', '--replica-lag-time-max-ms', '10000',
      '--offsets-topic-partitions', '3', '--group-initial-rebalance-delay-ms', '0',
    ],
  });
  // The first user of a SASL-only cluster has to be added offline (what `untangle users add
  // --data-dir` does, as Kafka's `kafka-storage format --add-scram`); each node imports its file into
  // the cluster's credentials when it starts. Written in every data directory, so any node could start first.
  for (const spec of plan.nodes) {
    const store = await CredentialStore.open(spec.dataDir);
    await store.apply(await Promise.all(MECHANISMS.map(async (mechanism) => ({ user: 'admin', mechanism, credential: await credentialFromPassword(mechanism, ADMIN_PASSWORD) }))));
  }
  // One SASL_SSL listener per node, on the port the plan chose for it: the only way in, for
  // clients and for the followers' replica fetches alike.
  const onLog = process.env.CLUSTER_LOG ? (id: number, line: string) => void process.stderr.write(`[node ${id}] ${line}\n`) : () => undefined;
  nodes = plan.nodes.map((spec) => new ClusterProcess({ ...spec, args: [...spec.args, '--listeners', `SASL_SSL://127.0.0.1:${spec.port}`] }, onLog));
  await Promise.all(nodes.map((n) => n.start()));
  // The user clients use, added online with AlterUserScramCredentials through every node: the same
  // upsert three times (the last test checks that one node's change reaches the others by itself).
  await Promise.all(nodes.map((n) => addUserOnline(n.address, 'alice', ALICE_PASSWORD)));

  admin = kafkaVia(nodes[0].address, { mechanism: 'scram-sha-512', username: 'alice', password: ALICE_PASSWORD }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: TOPICS.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] })),
    waitForLeaders: true,
  });
}, 90_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every partition of every topic: leaders on all three nodes, three replicas, all three in sync. */
async function expectSpreadAndFullyReplicated(): Promise<void> {
  const meta = await admin.fetchTopicMetadata({ topics: TOPICS });
  for (const t of meta.topics) {
    expect(new Set(t.partitions.map((p) => p.leader)), `${t.name}: one leader per node`).toEqual(new Set([1, 2, 3]));
    for (const p of t.partitions) expect({ topic: t.name, partition: p.partitionId, replicas: [...p.replicas].sort(), isr: [...p.isr].sort() }).toEqual({ topic: t.name, partition: p.partitionId, replicas: [1, 2, 3], isr: [1, 2, 3] });
  }
}

test('the topics are spread over the three SASL_SSL-only nodes with every replica in sync', async () => {
  await expectSpreadAndFullyReplicated();
});

test('kafkajs (SCRAM-SHA-256, bootstrapping from node 1) produces with acks=all and consumes in a group', async () => {
  const N = 300;
  const kafka = kafkaVia(nodes[0].address, { mechanism: 'scram-sha-256', username: 'alice', password: ALICE_PASSWORD });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic: 'via-kafkajs', acks: -1, messages: Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  } finally {
    await producer.disconnect();
  }
  const consumer = makeConsumer(kafka, 'sasl-cluster-kafkajs');
  const seen = new Set<string>();
  const partitions = new Set<number>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'via-kafkajs', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        partitions.add(partition);
        seen.add(message.value!.toString());
      },
    });
    await waitFor(() => seen.size >= N, 30_000, `kafkajs to consume ${N} records`);
  } finally {
    await consumer.disconnect();
  }
  expect([...seen].sort()).toEqual(Array.from({ length: N }, (_, i) => `v${i}`).sort());
  expect([...partitions].sort()).toEqual([0, 1, 2]); // records came from all three leaders
  // Each record written once, and the high watermarks (which need the in-sync followers) reached it.
  const offsets = await admin.fetchTopicOffsets('via-kafkajs');
  expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(N);
}, 60_000);

describe.runIf(hasKcat)('kcat', () => {
  const kcat = (address: string, args: string[], opts: { input?: string; password?: string } = {}) =>
    runCommand('kcat', ['-b', address, '-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=alice', '-X', `sasl.password=${opts.password ?? ALICE_PASSWORD}`, '-X', `ssl.ca.location=${certs.ca}`, ...args], { input: opts.input, timeoutMs: 45_000 });

  test('kcat (SCRAM-SHA-512, bootstrapping from node 2) produces with acks=all and reads every record back', async () => {
    const N = 500;
    const lines = Array.from({ length: N }, (_, i) => `k${i}:v${i}`);
    const produced = await kcat(nodes[1].address, ['-P', '-t', 'via-kcat', '-K', ':', '-X', 'acks=all', '-X', 'queue.buffering.max.ms=5'], { input: lines.join('\n') + '\n' });
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await kcat(nodes[1].address, ['-C', '-t', 'via-kcat', '-o', 'beginning', '-e', '-q', '-f', '%p %s\n', '-X', 'fetch.wait.max.ms=100']);
    expect(consumed.code, consumed.stderr).toBe(0);
    const rows = consumed.stdout.toString().split('\n').filter((l) => l.length > 0).map((l) => l.split(' '));
    expect(rows.map((r) => r[1]).sort()).toEqual(lines.map((l) => l.split(':')[1]).sort());
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(['0', '1', '2']));
  }, 60_000);
});

describe.runIf(hasPython)('python confluent-kafka', () => {
  test('confluent-kafka (SCRAM-SHA-256, bootstrapping from node 3) produces with acks=all and consumes in a group', async () => {
    const N = 500;
    const config = { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.username': 'alice', 'sasl.password': ALICE_PASSWORD, 'ssl.ca.location': certs.ca };
    const res = await runCommand(PYTHON, [SCRIPT, nodes[2].address, 'via-python', String(N), JSON.stringify(config)], { timeoutMs: 90_000 });
    const out = res.stdout.toString().trim().split('\n').pop() ?? '';
    if (res.code !== 0 || !out.startsWith('{')) throw new Error(`sasl.py exited ${res.code}\n${out}\n${res.stderr.slice(-3000)}`);
    expect(JSON.parse(out)).toMatchObject({ acked: N, unflushed: 0, received: N, complete: true, produced_partitions: [0, 1, 2], consumed_partitions: [0, 1, 2] });
  }, 90_000);
});

test('every replica is still in sync after the clients ran: replication over authenticated TLS kept up', async () => {
  await waitFor(async () => (await admin.fetchTopicMetadata({ topics: TOPICS })).topics.every((t) => t.partitions.every((p) => p.isr.length === 3)), 15_000, 'every ISR to hold 3 replicas');
  await expectSpreadAndFullyReplicated();
});

test('a wrong password is refused on a follower node', async () => {
  const meta = await admin.fetchTopicMetadata({ topics: ['via-kafkajs'] });
  const p0 = meta.topics[0].partitions.find((p) => p.partitionId === 0)!;
  const follower = nodes.find((n) => n.nodeId !== p0.leader && n.nodeId !== 1)!; // not the leader, not the admin's bootstrap
  const wrong = kafkaVia(follower.address, { mechanism: 'scram-sha-512', username: 'alice', password: 'not-alice-secret' }).admin({ retry: { retries: 0 } });
  await expect(wrong.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed|Authentication failed/i);
  await wrong.disconnect();
  // The right password on the same node works.
  const right = kafkaVia(follower.address, { mechanism: 'scram-sha-512', username: 'alice', password: ALICE_PASSWORD }).admin();
  await right.connect();
  await right.disconnect();
});

test('a user added through one node authenticates on every node: the credentials are the cluster\'s', async () => {
  await addUserOnline(nodes[2].address, 'bob', 'bob-secret');
  for (const node of nodes) {
    for (const mechanism of ['scram-sha-256', 'scram-sha-512'] as const) {
      // The node that took the change answers once it applied it; the others apply the same commit moments later.
      await waitFor(
        async () => {
          const a = kafkaVia(node.address, { mechanism, username: 'bob', password: 'bob-secret' }).admin({ retry: { retries: 0 } });
          try {
            await a.connect();
            return true;
          } catch {
            return false;
          } finally {
            await a.disconnect();
          }
        },
        10_000,
        `bob to authenticate with ${mechanism} on node ${node.nodeId}`,
        200,
      );
    }
  }
});
