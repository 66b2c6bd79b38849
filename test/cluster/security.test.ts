// Inter-node security of a cluster (issue 15): the controller quorum's port and the leaders' replica
// fetches accept only peers that prove the cluster secret, and a connection acts only as the node it
// authenticated as. Everything runs against a real in-process 3-node cluster: the forged frames go to
// its real controller port, the spoofed fetches to a real leader's Kafka listener.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startCluster, type RunningCluster } from '../../broker/cluster/node.ts';
import { ControllerClient } from '../../broker/cluster/controller/index.ts';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { authenticateReplicaConnection } from '../../broker/cluster/replica/fetcher.ts';
import { ApiKey, type FetchResponse } from '../../broker/protocol/generated/index.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { clusterKafka } from '../helpers/cluster.ts';
import { rawController } from '../helpers/controller-wire.ts';
import { makeTestCertificates } from '../helpers/tls-certs.ts';
import { sleep, waitFor } from '../helpers/run.ts';

const TOPIC = 'guarded';
const WRONG_SECRET = Buffer.from('not-the-cluster-secret-0123456789abcdef0123');
let cluster: RunningCluster;
let dataDir: string;
let admin: Admin;
const logs: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'untangle-security-'));
  // Long session and lag timeouts: a stopped follower stays in the ISR, so only its fetches (real or
  // spoofed) could complete an acks=all write.
  cluster = await startCluster({
    nodes: 3,
    dataDir,
    logger: (line) => void logs.push(line),
    controller: { brokerSessionTimeoutMs: 60_000, leaderRebalanceIntervalMs: 0 },
    broker: { replicaLagTimeMaxMs: 60_000 },
  });
  admin = clusterKafka(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
}, 60_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const activeController = () => cluster.nodes.find((n) => n.controller?.isLeader())!.controller!;
const anyController = (not: number) => cluster.nodes.find((n) => n.controller && n.nodeId !== not)!.controller!;

describe('controller quorum port', () => {
  test('a forged hello + vote and a forged AppendEntries with a huge term are refused; the term does not move', async () => {
    const target = anyController(2);
    const term = target.term();
    const nonce = 'ab'.repeat(32);
    // The audit's attack: claim to be voter 2, then vote / append without knowing the secret.
    const forged = await rawController(target.port, null, { kind: 'raft', from: 2 }, target.nodeId);
    forged.send({ kind: 'raft', from: 2, nonce });
    expect(JSON.parse((await forged.next()).toString('utf8'))).toHaveProperty('nonce'); // the challenge
    forged.send({ type: 'RequestVoteResponse', from: 2, to: target.nodeId, term: term + 1, granted: true });
    await forged.closed;
    const append = await rawController(target.port, null, { kind: 'raft', from: 2 }, target.nodeId);
    append.send({ kind: 'raft', from: 2, nonce });
    await append.next();
    append.send({ proof: '00'.repeat(32) });
    append.send({ type: 'AppendEntries', from: 2, to: target.nodeId, term: 1001, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 });
    await append.closed;
    // Before the handshake a frame may not be large: an unauthenticated peer cannot make it buffer megabytes.
    const big = await rawController(target.port, null, { kind: 'raft', from: 2 }, target.nodeId);
    big.write(Buffer.from([0x00, 0x10, 0x00, 0x00]));
    await big.closed;
    expect(logs.some((l) => /frame length 1048576 is outside 1\.\.4096 bytes; closing/.test(l))).toBe(true);
    // A peer with another secret fails on its side: the controller's proof does not check out.
    await expect(rawController(target.port, WRONG_SECRET, { kind: 'raft', from: 2 }, target.nodeId)).rejects.toThrow(/did not prove the cluster secret/);
    await sleep(300);
    expect(target.term()).toBe(term);
    expect(target.term()).toBeLessThan(1001);
    expect(logs.some((l) => /claiming to be controller 2 did not prove the cluster secret; closing/.test(l))).toBe(true);
  });

  test('a replayed or altered frame on an authenticated connection closes it', async () => {
    const c = activeController();
    const conn = await rawController(c.port, cluster.clusterSecret, { kind: 'broker', brokerId: null }, c.nodeId);
    const request = conn.send({ id: 1, op: 'describeQuorum', args: {} });
    expect(JSON.parse((await conn.next()).toString('utf8'))).toMatchObject({ id: 1, result: { leaderId: c.nodeId } });
    const before = logs.filter((l) => l.includes('frame MAC check failed')).length;
    conn.write(request); // the same bytes again: sequence number 0 is spent
    await conn.closed;
    const altered = await rawController(c.port, cluster.clusterSecret, { kind: 'broker', brokerId: null }, c.nodeId);
    const frame = Buffer.from(altered.send({ id: 2, op: 'describeQuorum', args: {} }));
    await altered.next();
    const next = Buffer.from(frame);
    next[next.length - 3] ^= 0x01; // one bit of the JSON, with a tag that was valid for sequence 0
    altered.write(next);
    await altered.closed;
    await waitFor(() => logs.filter((l) => l.includes('frame MAC check failed')).length >= before + 2, 5000, 'the MAC failures to be logged');
  });

  test('a connection speaks only for the broker it authenticated as; a wrong secret cannot register', async () => {
    const c = activeController();
    const as3 = await rawController(c.port, cluster.clusterSecret, { kind: 'broker', brokerId: 3 }, c.nodeId);
    as3.send({ id: 7, op: 'heartbeat', args: { brokerId: 2, epoch: 1 } });
    expect(JSON.parse((await as3.next()).toString('utf8'))).toMatchObject({ id: 7, error: { code: 'CLUSTER_AUTHORIZATION_FAILED' } });
    as3.socket.destroy();

    const intruder = new ControllerClient({ voters: cluster.voters, clusterSecret: WRONG_SECRET, brokerId: 9, requestTimeoutMs: 1500 });
    try {
      await expect(intruder.register({ brokerId: 9, host: '127.0.0.1', port: 1, incarnationId: 'intruder' })).rejects.toMatchObject({ code: 'NO_QUORUM' });
    } finally {
      intruder.close();
    }
    expect(c.metadata().brokers.has(9)).toBe(false);
  });
});

describe('replica fetch', () => {
  const fetchAs = (replicaId: number, fetchOffset: number) => ({
    clusterId: null,
    replicaId,
    replicaState: { replicaId, replicaEpoch: -1 },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: TOPIC, topicId: Buffer.alloc(16), partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1024 * 1024, replicaDirectoryId: Buffer.alloc(16) }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const errorOf = (r: FetchResponse<Buffer>) => r.responses[0].partitions[0].errorCode;
  const highWatermark = async () => Number((await admin.fetchTopicOffsets(TOPIC))[0].high);

  test('a spoofed fetch as a follower is refused: the high watermark stays and acks=all is not acknowledged', async () => {
    const kafka = clusterKafka(cluster.bootstrap, 'security-producer', 0);
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'replicated' }] }); // the authenticated followers replicate it
    const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    const p = meta.topics[0].partitions[0];
    const follower = p.replicas.find((r) => r !== p.leader)!;
    const leaderNode = cluster.nodes[p.leader - 1];
    const epoch = cluster.nodes.find((n) => n.controller)!.controller!.metadata().brokers.get(follower)!.epoch;
    const hw = await highWatermark();

    // The follower stops (still in the ISR for a minute): only its fetches could commit a new write.
    await cluster.nodes[follower - 1].close();
    const pending = producer.send({ topic: TOPIC, acks: -1, timeout: 4000, messages: [{ value: 'must not be acknowledged' }] }).then(
      () => 'acknowledged',
      () => 'refused',
    );
    const spoof = new PeerConnection({ host: '127.0.0.1', port: leaderNode.broker!.port, clientId: 'spoofer', maxFrameBytes: 16 * 1024 * 1024, connectTimeoutMs: 2000 });
    const bySecret = (brokerEpoch: number, secret = cluster.clusterSecret) =>
      new PeerConnection({
        host: '127.0.0.1',
        port: leaderNode.broker!.port,
        clientId: 'replica',
        maxFrameBytes: 16 * 1024 * 1024,
        connectTimeoutMs: 2000,
        authenticate: (send) => authenticateReplicaConnection(send, secret, { brokerId: follower, brokerEpoch }, p.leader),
      });
    const stale = bySecret(epoch + 1000);
    const real = bySecret(epoch);
    try {
      for (let i = 0; i < 20; i++) {
        // Unauthenticated, claiming the follower's id at the leader's log end and far past it.
        expect(errorOf(await spoof.request<FetchResponse<Buffer>>(ApiKey.Fetch, 11, fetchAs(follower, hw + 1), 5000))).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        expect(errorOf(await spoof.request<FetchResponse<Buffer>>(ApiKey.Fetch, 11, fetchAs(follower, 1_000_000), 5000))).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        // Authenticated, but with a registration that is not the current one.
        expect(errorOf(await stale.request<FetchResponse<Buffer>>(ApiKey.Fetch, 11, fetchAs(follower, hw + 1), 5000))).toBe(ErrorCode.STALE_BROKER_EPOCH);
        // Authenticated as the follower, but an offset past the leader's log end is not its log end.
        expect(errorOf(await real.request<FetchResponse<Buffer>>(ApiKey.Fetch, 11, fetchAs(follower, 1_000_000), 5000))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
        await sleep(100);
      }
      expect(await pending).toBe('refused');
      expect(await highWatermark()).toBe(hw);
      // A wrong secret does not authenticate at all.
      const intruder = bySecret(epoch, Buffer.from('not-the-cluster-secret-0123456789abcdef0123'));
      await expect(intruder.request(ApiKey.Fetch, 11, fetchAs(follower, hw), 5000)).rejects.toThrow(/SaslAuthenticate failed|did not prove/);
      intruder.close();
    } finally {
      spoof.close();
      stale.close();
      real.close();
      await producer.disconnect();
    }
    expect(logs.some((l) => /Fetch as replica \d+ refused: the connection is User:ANONYMOUS/.test(l))).toBe(true);
  }, 60_000);
});

describe('replica fetch over TLS', () => {
  test('followers of an SSL-only cluster fetch over TLS, authenticated, and stay in the ISR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'untangle-security-tls-'));
    const certs = makeTestCertificates(dir);
    const tlsCluster = await startCluster({
      nodes: 3,
      dataDir: join(dir, 'data'),
      brokerConfig: { security: { listeners: 'SSL://127.0.0.1:0', sslCertFile: certs.serverCert, sslKeyFile: certs.serverKey, sslCaFile: certs.ca } },
    });
    const kafka = new Kafka({ brokers: tlsCluster.bootstrap, ssl: { ca: [readFileSync(certs.ca)] }, logLevel: logLevel.NOTHING });
    const tlsAdmin = kafka.admin();
    const producer = kafka.producer();
    try {
      await tlsAdmin.connect();
      await tlsAdmin.createTopics({ topics: [{ topic: 'tls', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic: 'tls', acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `m${i}` })) });
      const controller = tlsCluster.nodes.find((n) => n.controller?.isLeader())!.controller!;
      expect(controller.metadata().topics.get('tls')!.partitions.map((p) => p.isr.length)).toEqual([3, 3]);
      // Every follower has every record: the leaders' high watermarks reached the log ends.
      const offsets = await tlsAdmin.fetchTopicOffsets('tls');
      expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(20);
    } finally {
      await producer.disconnect();
      await tlsAdmin.disconnect();
      await tlsCluster.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
