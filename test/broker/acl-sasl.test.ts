// ACLs with real principals: users authenticated with SASL/SCRAM get exactly what their ACLs say, a
// super user administers, and a credential-less client on the PLAINTEXT listener is refused.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { AclOperationTypes as Op, AclPermissionTypes as Perm, AclResourceTypes as Res, Kafka, logLevel, ResourcePatternTypes as Pattern, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { CredentialStore, credentialFromPassword } from '../../broker/security/credentials.ts';
import { makeTempDir } from '../helpers/broker-process.ts';

let dir: string;
let broker: RunningBroker;

async function addUser(dataDir: string, user: string, password: string): Promise<void> {
  const store = await CredentialStore.open(dataDir);
  await store.apply([{ user, mechanism: 'SCRAM-SHA-256', credential: await credentialFromPassword('SCRAM-SHA-256', password) }]);
}

function kafkaAs(sasl?: SASLOptions): Kafka {
  const listener = broker.listeners.find((l) => l.name === (sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT'))!;
  return new Kafka({ clientId: 'acl-sasl-test', brokers: [`127.0.0.1:${listener.port}`], logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 50 }, sasl });
}

const scram = (username: string): SASLOptions => ({ mechanism: 'scram-sha-256', username, password: `${username}-secret` });

/** The Kafka error type of a failed kafkajs call (nested in aggregate and retry errors). */
async function failure(call: Promise<unknown>): Promise<string> {
  const err = await call.then(() => null, (e: unknown) => e);
  const types = (e: unknown): string[] => {
    if (e === null || typeof e !== 'object') return [];
    const x = e as { type?: unknown; errors?: unknown[]; cause?: unknown };
    return [...(typeof x.type === 'string' ? [x.type] : []), ...(x.errors ?? []).flatMap(types), ...types(x.cause)];
  };
  return types(err).join(',') || (err === null ? 'succeeded' : String(err));
}

beforeAll(async () => {
  dir = makeTempDir('untangle-acl-sasl-');
  const dataDir = path.join(dir, 'data');
  for (const user of ['admin', 'alice']) await addUser(dataDir, user, `${user}-secret`);
  broker = await startBroker({
    dataDir,
    authorizer: 'acl',
    superUsers: ['User:admin'],
    security: { listeners: 'SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: ['SCRAM-SHA-256'] },
  });
});

afterAll(async () => {
  await broker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a SCRAM user gets what its ACLs grant; the super user administers; ANONYMOUS gets nothing', async () => {
  const admin = kafkaAs(scram('admin')).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'alice-topic' }, { topic: 'bob-topic' }] });
    await admin.createAcls({ acl: [{ resourceType: Res.TOPIC, resourceName: 'alice-', resourcePatternType: Pattern.PREFIXED, principal: 'User:alice', host: '*', operation: Op.WRITE, permissionType: Perm.ALLOW }] });
  } finally {
    await admin.disconnect();
  }

  const alice = kafkaAs(scram('alice')).producer({ allowAutoTopicCreation: false });
  await alice.connect();
  try {
    await alice.send({ topic: 'alice-topic', messages: [{ value: 'hello' }] });
    expect(await failure(alice.send({ topic: 'bob-topic', messages: [{ value: 'x' }] }))).toContain('TOPIC_AUTHORIZATION_FAILED');
  } finally {
    await alice.disconnect();
  }
  const aliceAdmin = kafkaAs(scram('alice')).admin();
  await aliceAdmin.connect();
  try {
    expect(await failure(aliceAdmin.deleteTopics({ topics: ['alice-topic'] }))).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(await failure(aliceAdmin.createAcls({ acl: [{ resourceType: Res.TOPIC, resourceName: 'bob-topic', resourcePatternType: Pattern.LITERAL, principal: 'User:alice', host: '*', operation: Op.ALL, permissionType: Perm.ALLOW }] }))).toContain('CLUSTER_AUTHORIZATION_FAILED');
  } finally {
    await aliceAdmin.disconnect();
  }

  const anonymous = kafkaAs().producer({ allowAutoTopicCreation: false });
  await anonymous.connect();
  try {
    expect(await failure(anonymous.send({ topic: 'alice-topic', messages: [{ value: 'x' }] }))).toContain('TOPIC_AUTHORIZATION_FAILED');
  } finally {
    await anonymous.disconnect();
  }
});
