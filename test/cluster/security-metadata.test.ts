// Security metadata in a cluster (issue 15): SCRAM credentials and ACLs go through the controller
// quorum as metadata records, so what is created through one broker holds on every broker; and each
// broker registers all its listeners, so clients are told the other brokers' endpoints on the
// listener they came in on. Runs against a real in-process 3-node cluster with two listeners.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { startCluster, type RunningCluster } from '../../broker/cluster/node.ts';
import { ControllerClient, startController } from '../../broker/cluster/controller/index.ts';
import { waitFor } from '../helpers/run.ts';
import { apply, brokerEndpoint, deserializeSnapshot, emptyMetadataState, serializeSnapshot, type MetadataCommand, type MetadataState } from '../../broker/cluster/metadata/index.ts';
import { CredentialStore, credentialFromPassword, saltPassword } from '../../broker/security/credentials.ts';
import { ApiKey } from '../../broker/protocol/generated/index.ts';
import { AdminConnection } from '../../cli/users-client.ts';

const TOPIC = 'secured';
const TOPIC_AUTHORIZATION_FAILED = 29;
let cluster: RunningCluster;
let dataDir: string;
const logs: string[] = [];

const portOf = (node: number, listener: string): number => cluster.nodes[node - 1].broker!.listeners.find((l) => l.name === listener)!.port;
const sasl = (user: string, password: string): SASLOptions => ({ mechanism: 'scram-sha-512', username: user, password });

function kafkaOn(node: number, listener: string, auth?: SASLOptions): Kafka {
  return new Kafka({
    clientId: 'security-metadata-test',
    brokers: [`127.0.0.1:${portOf(node, listener)}`],
    sasl: auth,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 300 },
  });
}

/** A raw connection to one broker's SASL listener (our codecs: kafkajs has no AlterUserScramCredentials). */
const rawOn = (node: number, user: string, password: string) =>
  AdminConnection.open({ bootstrapServer: `127.0.0.1:${portOf(node, 'SASL_PLAINTEXT')}`, securityProtocol: 'SASL_PLAINTEXT', saslMechanism: 'SCRAM-SHA-256', user, password, timeoutMs: 10_000 });

async function request<T>(node: number, apiKey: number, version: number, body: object, user = 'admin', password = 'admin-pw'): Promise<T> {
  const c = await rawOn(node, user, password);
  try {
    return await c.request<T>(apiKey, version, body);
  } finally {
    c.close();
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'untangle-security-metadata-'));
  // The first user is written offline into node 1's data directory (`untangle users add --data-dir`);
  // node 1 imports it into the cluster's credentials when it starts.
  const store = await CredentialStore.open(join(dataDir, 'node-1'));
  await store.apply(await Promise.all((['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).map(async (mechanism) => ({ user: 'admin', mechanism, credential: await credentialFromPassword(mechanism, 'admin-pw') }))));
  cluster = await startCluster({
    nodes: 3,
    dataDir,
    logger: (line) => void logs.push(line),
    controller: { snapshotEveryEntries: 20, leaderRebalanceIntervalMs: 0 },
    brokerConfig: {
      authorizer: 'acl',
      superUsers: ['User:admin'],
      maxAcls: 4,
      security: { listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0' },
    },
  });
  const admin = kafkaOn(1, 'SASL_PLAINTEXT', sasl('admin', 'admin-pw')).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
  await admin.disconnect();
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('SCRAM credentials are the cluster\'s', () => {
  test('the offline user of node 1 was imported (its file renamed) and authenticates on node 3', async () => {
    expect(readdirSync(join(dataDir, 'node-1', 'meta'))).toContain('scram-credentials.json.imported');
    const admin = kafkaOn(3, 'SASL_PLAINTEXT', sasl('admin', 'admin-pw')).admin();
    await admin.connect();
    await admin.disconnect();
  });

  test('a user created through broker 1 authenticates with kafkajs on brokers 2 and 3; deleted, it no longer does', async () => {
    const salt = Buffer.alloc(32, 9);
    const upsert = await request<{ results: { user: string; errorCode: number }[] }>(1, ApiKey.AlterUserScramCredentials, 0, {
      deletions: [],
      upsertions: [{ name: 'alice', mechanism: 2, iterations: 8192, salt, saltedPassword: await saltPassword('SCRAM-SHA-512', 'alice-pw', salt, 8192) }],
    });
    expect(upsert.results).toEqual([expect.objectContaining({ user: 'alice', errorCode: 0 })]);
    for (const node of [2, 3]) {
      const admin = kafkaOn(node, 'SASL_PLAINTEXT', sasl('alice', 'alice-pw')).admin();
      await admin.connect();
      await admin.disconnect();
    }
    // Described the same on every broker.
    const described = await request<{ results: { user: string; credentialInfos: { mechanism: number; iterations: number }[] }[] }>(3, ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: 'alice' }] });
    expect(described.results[0].credentialInfos).toEqual([{ mechanism: 2, iterations: 8192 }]);

    const del = await request<{ results: { errorCode: number }[] }>(2, ApiKey.AlterUserScramCredentials, 0, { deletions: [{ name: 'alice', mechanism: 2 }], upsertions: [] });
    expect(del.results[0].errorCode).toBe(0);
    for (const node of [1, 3]) {
      const admin = kafkaOn(node, 'SASL_PLAINTEXT', sasl('alice', 'alice-pw')).admin();
      await expect(admin.connect()).rejects.toThrow(/authentication failed/i);
    }
  });
});

describe('ACLs are the cluster\'s', () => {
  const topicError = async (node: number): Promise<number> => {
    const md = await request<{ topics: { name: string; errorCode: number }[] }>(node, ApiKey.Metadata, 4, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false }, 'bob', 'bob-pw');
    return md.topics[0].errorCode;
  };
  const acl = (operation: number) => ({ resourceType: 2, resourceName: TOPIC, resourcePatternType: 3, principal: 'User:bob', host: '*', operation, permissionType: 3 });

  test('an ACL created through broker 2 is enforced on broker 3; deleted through broker 1, it no longer is', async () => {
    const salt = Buffer.alloc(32, 3);
    await request(1, ApiKey.AlterUserScramCredentials, 0, { deletions: [], upsertions: [{ name: 'bob', mechanism: 1, iterations: 4096, salt, saltedPassword: await saltPassword('SCRAM-SHA-256', 'bob-pw', salt, 4096) }] });
    expect(await topicError(3)).toBe(TOPIC_AUTHORIZATION_FAILED);

    const created = await request<{ results: { errorCode: number }[] }>(2, ApiKey.CreateAcls, 1, { creations: [acl(8)] });
    expect(created.results).toEqual([expect.objectContaining({ errorCode: 0 })]);
    expect(await topicError(3)).toBe(0);
    const described = await request<{ resources: { resourceName: string; acls: { principal: string }[] }[] }>(1, ApiKey.DescribeAcls, 1, {
      resourceTypeFilter: 2, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1,
    });
    expect(described.resources).toEqual([expect.objectContaining({ resourceName: TOPIC, acls: [expect.objectContaining({ principal: 'User:bob' })] })]);

    const deleted = await request<{ filterResults: { errorCode: number; matchingAcls: unknown[] }[] }>(1, ApiKey.DeleteAcls, 1, {
      filters: [{ resourceTypeFilter: 2, resourceNameFilter: TOPIC, patternTypeFilter: 3, principalFilter: 'User:bob', hostFilter: null, operation: 1, permissionType: 1 }],
    });
    expect(deleted.filterResults).toEqual([expect.objectContaining({ errorCode: 0, matchingAcls: [expect.anything()] })]);
    expect(await topicError(3)).toBe(TOPIC_AUTHORIZATION_FAILED);
    expect(await topicError(2)).toBe(TOPIC_AUTHORIZATION_FAILED);
  });

  test('--max-acls holds for the cluster\'s set: a CreateAcls past it is refused whole with POLICY_VIOLATION', async () => {
    const ok = await request<{ results: { errorCode: number }[] }>(1, ApiKey.CreateAcls, 1, { creations: [acl(3), acl(4), acl(8)] });
    expect(ok.results.map((r) => r.errorCode)).toEqual([0, 0, 0]);
    const refused = await request<{ results: { errorCode: number; errorMessage: string }[] }>(3, ApiKey.CreateAcls, 1, { creations: [acl(6), acl(7)] });
    expect(refused.results.map((r) => r.errorCode)).toEqual([44, 44]);
    expect(await topicError(2)).toBe(0); // the first three hold everywhere
  });

  test('only brokers may change credentials or ACLs on the controller: an admin controller client is refused', async () => {
    const client = new ControllerClient({ voters: cluster.voters, clusterSecret: cluster.clusterSecret, requestTimeoutMs: 5_000 });
    try {
      const binding = { resourceType: 2, resourceName: TOPIC, patternType: 3, principal: 'User:mallory', host: '*', operation: 2, permissionType: 3 };
      await expect(client.createAcls([binding], 100)).rejects.toMatchObject({ code: 'CLUSTER_AUTHORIZATION_FAILED' });
    } finally {
      client.close();
    }
  });
});

describe('per-listener endpoints', () => {
  test('clients on each listener are told every broker\'s endpoint on that listener (Metadata and FindCoordinator)', async () => {
    for (const listener of ['PLAINTEXT', 'SASL_PLAINTEXT']) {
      const auth = listener === 'PLAINTEXT' ? undefined : sasl('admin', 'admin-pw');
      const admin = kafkaOn(2, listener, auth).admin();
      await admin.connect();
      try {
        const { brokers } = await admin.describeCluster();
        expect(brokers.map((b) => [b.nodeId, b.port]).sort()).toEqual([1, 2, 3].map((n) => [n, portOf(n, listener)]));
        if (auth) {
          // FindCoordinator answers on the same listener (the group's coordinator may be any node).
          const c = await rawOn(2, 'admin', 'admin-pw');
          const found = await waitCoordinator(c);
          c.close();
          expect(found.port).toBe(portOf(found.nodeId, 'SASL_PLAINTEXT'));
        }
      } finally {
        await admin.disconnect();
      }
    }
  });

  test('a broker without the client\'s listener is left out; one registered without listeners keeps its one endpoint', () => {
    const b = { brokerId: 1, host: 'h', port: 1, listeners: [{ name: 'A', host: 'a', port: 2, securityProtocol: 'PLAINTEXT' as const }], incarnationId: 'x', epoch: 1, fenced: false, leaseExpiresAtMs: null };
    expect(brokerEndpoint(b, 'A')).toEqual({ host: 'a', port: 2 });
    expect(brokerEndpoint(b, 'B')).toBeNull();
    expect(brokerEndpoint({ ...b, listeners: undefined }, 'B')).toEqual({ host: 'h', port: 1 });
  });
});

async function waitCoordinator(c: AdminConnection): Promise<{ nodeId: number; port: number }> {
  for (let i = 0; i < 100; i++) {
    const r = await c.request<{ errorCode: number; nodeId: number; port: number }>(ApiKey.FindCoordinator, 2, { key: 'g1', keyType: 0 });
    if (r.errorCode === 0) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('no coordinator');
}

describe('after a controller failover', () => {
  test('users and ACLs stay, and a user created afterwards authenticates everywhere (last: it stops a node)', async () => {
    const leader = cluster.nodes.find((n) => n.controller?.isLeader())!;
    await leader.close();
    const others = cluster.nodes.filter((n) => n !== leader).map((n) => n.nodeId);
    const salt = Buffer.alloc(32, 5);
    const body = { deletions: [], upsertions: [{ name: 'carol', mechanism: 2, iterations: 4096, salt, saltedPassword: await saltPassword('SCRAM-SHA-512', 'carol-pw', salt, 4096) }] };
    // While the quorum elects a new leader the change may time out (REQUEST_TIMED_OUT); then it is retried.
    let errorCode = -1;
    for (let attempt = 0; attempt < 3 && errorCode !== 0; attempt++) {
      errorCode = (await request<{ results: { errorCode: number }[] }>(others[0], ApiKey.AlterUserScramCredentials, 0, body)).results[0].errorCode;
    }
    expect(errorCode).toBe(0);
    const admin = kafkaOn(others[1], 'SASL_PLAINTEXT', sasl('carol', 'carol-pw')).admin();
    await admin.connect();
    await admin.disconnect();
    expect(await request<{ topics: { errorCode: number }[] }>(others[1], ApiKey.Metadata, 4, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false }, 'bob', 'bob-pw')).toMatchObject({ topics: [{ errorCode: 0 }] });

    // The stopped controller restarts from its own Raft log and snapshot and catches up: users and ACLs included.
    const restarted = await startController({
      nodeId: leader.nodeId,
      voters: cluster.voters,
      dataDir: join(dataDir, `node-${leader.nodeId}`),
      raft: { electionTimeoutMinMs: 1_000, electionTimeoutMaxMs: 2_000, heartbeatIntervalMs: 200 },
      clusterSecret: cluster.clusterSecret,
    });
    try {
      await waitFor(() => restarted.metadata().users.has('carol'), 15_000, 'the restarted controller to hold carol');
      expect([...restarted.metadata().users.keys()].sort()).toEqual(['admin', 'bob', 'carol']);
      expect(restarted.metadata().acls).toHaveLength(3);
    } finally {
      await restarted.close();
    }
  }, 40_000);
});

describe('metadata records and snapshots', () => {
  test('users, ACLs and listeners survive a snapshot round trip; records are checked when applied', () => {
    let s: MetadataState = emptyMetadataState();
    let index = 0;
    const run = (c: MetadataCommand) => apply(s, ++index, c);
    const cred = { salt: Buffer.alloc(32, 1).toString('base64'), iterations: 4096, storedKey: Buffer.alloc(32, 2).toString('base64'), serverKey: Buffer.alloc(32, 3).toString('base64') };
    for (const c of [
      { type: 'RegisterBroker', brokerId: 1, host: 'h', port: 9092, listeners: [{ name: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 'PLAINTEXT' }, { name: 'SASL_SSL', host: 'h', port: 9093, securityProtocol: 'SASL_SSL' }], incarnationId: 'a', epoch: 1 },
      { type: 'AlterScramCredentials', changes: [{ user: 'u', mechanism: 'SCRAM-SHA-256', credential: cred }] },
      { type: 'CreateAcls', acls: [{ resourceType: 2, resourceName: 't', patternType: 3, principal: 'User:u', host: '*', operation: 3, permissionType: 3 }], maxAcls: 10 },
    ] as MetadataCommand[]) {
      const r = run(c);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      s = r.state;
    }
    // A binding that cannot be stored is refused whole.
    const bad = run({ type: 'CreateAcls', acls: [{ resourceType: 1, resourceName: 't', patternType: 3, principal: 'User:u', host: '*', operation: 3, permissionType: 3 }], maxAcls: 10 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_ACL' } });
    const text = serializeSnapshot(s);
    const loaded = deserializeSnapshot(text);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(serializeSnapshot(loaded.state)).toBe(text);
    expect(loaded.state.users.get('u')).toEqual({ 'SCRAM-SHA-256': cred });
    expect(loaded.state.acls).toHaveLength(1);
    expect(loaded.state.brokers.get(1)!.listeners).toHaveLength(2);
  });
});
