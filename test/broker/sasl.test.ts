// Client authentication: SASL (PLAIN, SCRAM-SHA-256/512) and TLS listeners on an in-process broker,
// driven by kafkajs and by our own codecs (cli/users-client.ts); the SCRAM credential APIs and the
// `untangle users` CLI; the refusal to bind a non-loopback address without authentication.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { CredentialStore, credentialFromPassword, saltPassword } from '../../broker/security/credentials.ts';
import { ApiKey } from '../../broker/protocol/generated/index.ts';
import { AdminConnection, type AdminConnectOptions } from '../../cli/users-client.ts';
import { makeTempDir, REPO_ROOT } from '../helpers/broker-process.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';
import { makeConsumer } from '../helpers/kafkajs.ts';

const BIN = path.join(REPO_ROOT, 'bin/untangle.js');

let dir: string;
let certs: TestCertificates;
let broker: RunningBroker;
const lines: string[] = [];
const port = (name: string): number => broker.listeners.find((l) => l.name === name)!.port;

async function addUser(dataDir: string, user: string, password: string): Promise<void> {
  const store = await CredentialStore.open(dataDir);
  await store.apply(await Promise.all((['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).map(async (mechanism) => ({ user, mechanism, credential: await credentialFromPassword(mechanism, password) }))));
}

beforeAll(async () => {
  dir = makeTempDir('untangle-sasl-');
  certs = makeTestCertificates(dir, 'certuser');
  await addUser(path.join(dir, 'data'), 'alice', 'alice-secret');
  broker = await startBroker({
    dataDir: path.join(dir, 'data'),
    groupInitialRebalanceDelayMs: 0,
    logger: (l) => void lines.push(l),
    // ACLs on, so the principal each authentication sets is observable: these two may do anything, nobody else.
    authorizer: 'acl',
    superUsers: ['User:alice', 'User:certuser'],
    security: {
      listeners: 'SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0',
      listenerSecurityProtocolMap: 'INTERNAL:SSL',
      advertisedListeners: 'PLAINTEXT://localhost:0',
      sslCertFile: certs.serverCert,
      sslKeyFile: certs.serverKey,
      sslCaFile: certs.ca,
      sslClientAuth: 'required',
      saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
      saslAuthenticationTimeoutMs: 1_000,
    },
  });
});

afterAll(async () => {
  await broker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kafkaOn(listener: string, sasl?: SASLOptions): Kafka {
  const tls = listener === 'SASL_SSL' || listener === 'INTERNAL';
  return new Kafka({
    clientId: 'sasl-test',
    brokers: [`127.0.0.1:${port(listener)}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 5_000,
    ssl: tls ? { ca: [readFileSync(certs.ca)], ...(listener === 'INTERNAL' ? { cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } : {}) } : false,
    sasl,
  });
}

async function connectAs(listener: string, sasl: SASLOptions): Promise<void> {
  const admin = kafkaOn(listener, sasl).admin();
  await admin.connect();
  await admin.disconnect();
}

/** Creates the topic, produces 50 records and reads them back with a consumer group, all over `kafka`. */
async function roundTrip(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  const sent = Array.from({ length: 50 }, (_, i) => `${topic}-${i}`);
  await producer.send({ topic, messages: sent.map((value) => ({ value })) });
  await producer.disconnect();
  const consumer = makeConsumer(kafka, `${topic}-group`);
  const got: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${got.length} of 50`)), 20_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message.value!.toString());
          if (got.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  expect(got).toEqual(sent);
  return got;
}

describe('kafkajs over SASL and TLS listeners', () => {
  test.each([
    ['SASL_SSL', 'scram-sha-256'],
    ['SASL_SSL', 'scram-sha-512'],
    ['SASL_PLAINTEXT', 'plain'],
  ] as const)('%s with %s produces and consumes', async (listener, mechanism) => {
    await roundTrip(kafkaOn(listener, { mechanism, username: 'alice', password: 'alice-secret' } as SASLOptions), `t-${mechanism}`);
  });

  test('a wrong password is refused with SASL_AUTHENTICATION_FAILED, for SCRAM and PLAIN', async () => {
    for (const mechanism of ['scram-sha-256', 'scram-sha-512', 'plain'] as const) {
      const admin = kafkaOn('SASL_PLAINTEXT', { mechanism, username: 'alice', password: 'wrong' } as SASLOptions).admin();
      await expect(admin.connect(), mechanism).rejects.toThrow(/authentication failed/i);
    }
    // An unknown user fails the same way (the exchange does not reveal who exists).
    const admin = kafkaOn('SASL_SSL', { mechanism: 'scram-sha-512', username: 'mallory', password: 'x' }).admin();
    await expect(admin.connect()).rejects.toThrow(/invalid credentials/i);
  });

  test('SSL listener with required client certificates: the principal is User:<CN>; without a certificate the client is refused', async () => {
    const admin = kafkaOn('INTERNAL').admin();
    await admin.connect();
    expect((await admin.describeCluster()).brokers[0].port).toBe(port('INTERNAL'));
    // User:certuser is a super user: it may create a topic, which ANONYMOUS (PLAINTEXT) may not.
    expect(await admin.createTopics({ topics: [{ topic: 'by-certuser', numPartitions: 1 }] })).toBe(true);
    await admin.disconnect();
    const anonymousAdmin = kafkaOn('PLAINTEXT').admin();
    await anonymousAdmin.connect();
    const refused = await anonymousAdmin.createTopics({ topics: [{ topic: 'by-anonymous', numPartitions: 1 }] }).then(() => null, (e: { errors?: { type: string }[] }) => e);
    expect(refused?.errors?.map((e) => e.type)).toEqual([expect.stringMatching(/AUTHORIZATION_FAILED/)]);
    await anonymousAdmin.disconnect();
    const anonymous = new Kafka({ brokers: [`127.0.0.1:${port('INTERNAL')}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, ssl: { ca: [readFileSync(certs.ca)] } }).admin();
    await expect(anonymous.connect()).rejects.toThrow();
  });
});

describe('the SASL gate', () => {
  const open = (listener: string, o: Partial<AdminConnectOptions> = {}) =>
    AdminConnection.open({ bootstrapServer: `127.0.0.1:${port(listener)}`, securityProtocol: 'PLAINTEXT', saslMechanism: 'PLAIN', timeoutMs: 10_000, ...o });

  test('Metadata answers with the endpoint of the listener the request arrived on (advertised.listeners honoured)', async () => {
    const plain = await open('PLAINTEXT');
    const md = await plain.request<{ brokers: { host: string; port: number }[] }>(ApiKey.Metadata, 4, { topics: [], allowAutoTopicCreation: false });
    plain.close();
    expect(md.brokers).toEqual([expect.objectContaining({ host: 'localhost', port: port('PLAINTEXT') })]);
    const sasl = await open('SASL_PLAINTEXT', { securityProtocol: 'SASL_PLAINTEXT', saslMechanism: 'SCRAM-SHA-256', user: 'alice', password: 'alice-secret' });
    const md2 = await sasl.request<{ brokers: { host: string; port: number }[] }>(ApiKey.Metadata, 4, { topics: [], allowAutoTopicCreation: false });
    sasl.close();
    expect(md2.brokers).toEqual([expect.objectContaining({ host: '127.0.0.1', port: port('SASL_PLAINTEXT') })]);
  });

  test('an unauthenticated request on a SASL listener closes the connection; ApiVersions is answered', async () => {
    const c = await open('SASL_PLAINTEXT');
    const versions = await c.request<{ errorCode: number; apiKeys: { apiKey: number }[] }>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    expect(versions.errorCode).toBe(0);
    expect(versions.apiKeys.map((k) => k.apiKey)).toEqual(expect.arrayContaining([17, 36, 50, 51]));
    await expect(c.request(ApiKey.Metadata, 4, { topics: [], allowAutoTopicCreation: false })).rejects.toThrow(/closed/);
    c.close();
    expect(lines.some((l) => l.includes('unauthenticated request on SASL listener SASL_PLAINTEXT'))).toBe(true);
  });

  test('an unknown mechanism gets UNSUPPORTED_SASL_MECHANISM and the enabled list', async () => {
    const c = await open('SASL_PLAINTEXT');
    const hs = await c.request<{ errorCode: number; mechanisms: string[] }>(ApiKey.SaslHandshake, 1, { mechanism: 'GSSAPI' });
    c.close();
    expect(hs).toEqual({ errorCode: 33, mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] });
  });

  test('a connection that does not authenticate within the deadline is closed', async () => {
    const socket = connect(port('SASL_PLAINTEXT'), '127.0.0.1');
    const t0 = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(8_000);
  });

  test('oversized authentication bytes are refused', async () => {
    const c = await open('SASL_PLAINTEXT');
    expect((await c.request<{ errorCode: number }>(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    const r = await c.request<{ errorCode: number; errorMessage: string }>(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.alloc(100_000, 1) });
    c.close();
    expect(r.errorCode).toBe(58);
    expect(r.errorMessage).toMatch(/exceeds/);
  });
});

describe('SCRAM credentials through the API and the CLI', () => {
  const admin = () =>
    AdminConnection.open({ bootstrapServer: `127.0.0.1:${port('SASL_SSL')}`, securityProtocol: 'SASL_SSL', saslMechanism: 'SCRAM-SHA-512', user: 'alice', password: 'alice-secret', sslCa: certs.ca, timeoutMs: 10_000 });

  test('AlterUserScramCredentials upserts and deletes with Kafka\'s error codes; DescribeUserScramCredentials lists', async () => {
    const c = await admin();
    try {
      const salt = Buffer.alloc(32, 7);
      const alter = await c.request<{ results: { user: string; errorCode: number }[] }>(ApiKey.AlterUserScramCredentials, 0, {
        deletions: [{ name: 'nobody', mechanism: 1 }],
        upsertions: [
          { name: 'bob', mechanism: 1, iterations: 8192, salt, saltedPassword: await saltPassword('SCRAM-SHA-256', 'bob-pw', salt, 8192) },
          { name: 'weak', mechanism: 1, iterations: 1000, salt, saltedPassword: Buffer.alloc(32) },
          { name: 'odd', mechanism: 0, iterations: 4096, salt, saltedPassword: Buffer.alloc(32) },
        ],
      });
      expect(Object.fromEntries(alter.results.map((r) => [r.user, r.errorCode]))).toEqual({ nobody: 91, bob: 0, weak: 93, odd: 33 });
      const described = await c.request<{ results: { user: string; errorCode: number; credentialInfos: { mechanism: number; iterations: number }[] }[] }>(
        ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: 'bob' }, { name: 'weak' }] });
      expect(described.results).toEqual([
        expect.objectContaining({ user: 'bob', errorCode: 0, credentialInfos: [{ mechanism: 1, iterations: 8192 }] }),
        expect.objectContaining({ user: 'weak', errorCode: 91, credentialInfos: [] }),
      ]);
    } finally {
      c.close();
    }
    // The new user authenticates at once (SCRAM-SHA-256 and PLAIN from the one store).
    await connectAs('SASL_SSL', { mechanism: 'scram-sha-256', username: 'bob', password: 'bob-pw' });
    await connectAs('SASL_PLAINTEXT', { mechanism: 'plain', username: 'bob', password: 'bob-pw' });
    // Persisted: the store file has bob, and no password in it.
    const file = readFileSync(CredentialStore.fileIn(broker.config.dataDir), 'utf8');
    expect(JSON.parse(file).users.bob['SCRAM-SHA-256'].iterations).toBe(8192);
    expect(file).not.toContain('bob-pw');
  });

  test('untangle users: offline add/list/delete in a data dir (password on stdin), online add/delete against the broker', async () => {
    const offline = path.join(dir, 'offline');
    expect(await cli(['users', 'add', 'carol', '--data-dir', offline, '--iterations', '4096'], 'carol-pw\n')).toMatch(/added carol/);
    expect(await cli(['users', 'list', '--data-dir', offline])).toBe('carol\tSCRAM-SHA-256:4096,SCRAM-SHA-512:4096\n');
    expect(await (await CredentialStore.open(offline)).verifyPassword('carol', 'carol-pw')).toBe(true);

    const online = ['--bootstrap-server', `127.0.0.1:${port('SASL_SSL')}`, '--security-protocol', 'SASL_SSL', '--ssl-ca', certs.ca, '--admin-user', 'alice', '--admin-password', 'alice-secret'];
    await cli(['users', 'add', 'dave', '--password', 'dave-pw', '--mechanism', 'SCRAM-SHA-512', ...online]);
    await connectAs('SASL_SSL', { mechanism: 'scram-sha-512', username: 'dave', password: 'dave-pw' });
    expect(await cli(['users', 'list', ...online])).toContain('dave\tSCRAM-SHA-512:4096');
    await cli(['users', 'delete', 'dave', ...online]);
    await expect(connectAs('SASL_SSL', { mechanism: 'scram-sha-512', username: 'dave', password: 'dave-pw' })).rejects.toThrow(/authentication failed/i);
  });
});

describe('non-loopback listeners without authentication', () => {
  const start = (listeners: string, allow = false) =>
    startBroker({ dataDir: path.join(dir, `nl-${Math.random()}`), security: { listeners, allowUnauthenticatedListeners: allow, sslCertFile: certs.serverCert, sslKeyFile: certs.serverKey } });

  test('refuse to start, naming the listener, unless explicitly allowed', async () => {
    await expect(start('PLAINTEXT://0.0.0.0:0')).rejects.toThrow(/listener PLAINTEXT:\/\/0\.0\.0\.0:0 \(PLAINTEXT\) binds a non-loopback address without authentication/);
    await expect(start('SASL_SSL://127.0.0.1:0,SSL://:0')).rejects.toThrow(/listener SSL:\/\/0\.0\.0\.0:0 \(SSL\)/);
    for (const [listeners, allow] of [['PLAINTEXT://0.0.0.0:0', true], ['SASL_PLAINTEXT://0.0.0.0:0', false]] as const) {
      const b = await start(listeners, allow);
      await b.close();
    }
  });
});

/** Runs `untangle ...`; resolves with stdout, rejects with stderr. */
function cli(args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.end(stdin ?? '');
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`untangle ${args.join(' ')} exited ${code}: ${err}`))));
  });
}
