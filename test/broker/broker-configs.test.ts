// DescribeConfigs / AlterConfigs on a BROKER resource against a real in-process broker: kafkajs's admin (as its own
// integration tests call it) and python confluent_kafka's AdminClient. Values must be the broker's real ones, secrets
// null, dynamic configs must take effect live and survive a restart, read-only and unknown ones must be refused with
// the reason, and validateOnly must change nothing.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigResourceTypes, type Admin, type ConfigEntries, type Kafka } from 'kafkajs';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../broker/index.ts';
import { makeKafka } from '../helpers/kafkajs.ts';
import { makeTestCertificates } from '../helpers/tls-certs.ts';
import { PYTHON, peerChecks, requirePeer } from '../helpers/peers.ts';
import { runCommand, sleep } from '../helpers/run.ts';
import { requestOnce } from '../helpers/generated-request.ts';
import type { AlterConfigsResponse, DescribeConfigsResponse } from '../../broker/protocol/generated/index.ts';

const hasPython = await requirePeer('python3-confluent-kafka', peerChecks.confluentKafka);
const SCRIPTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python');
/** Kafka's ConfigSource on the wire. */
const DYNAMIC_BROKER = 2;
const DYNAMIC_DEFAULT = 3;
const STATIC = 4;
const DEFAULT = 5;

let dir: string;
let options: StartBrokerOptions;
let broker: RunningBroker;
let kafka: Kafka;
let admin: Admin;

async function start(): Promise<void> {
  broker = await startBroker(options);
  kafka = makeKafka(broker.address, 'broker-configs-test', 2);
  admin = kafka.admin();
  await admin.connect();
}

async function stop(): Promise<void> {
  await admin?.disconnect();
  await broker?.close();
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'untangle-broker-configs-'));
  const certs = makeTestCertificates(dir);
  options = {
    dataDir: path.join(dir, 'data'),
    nodeId: 7,
    defaultPartitions: 3,
    groupInitialRebalanceDelayMs: 0,
    log: { retentionMs: 3_600_000 },
    // A TLS listener too: the broker then holds a private key, which DescribeConfigs must never show.
    security: { listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0', sslCertFile: certs.serverCert, sslKeyFile: certs.serverKey },
  };
  await start();
});

afterAll(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

async function brokerConfigs(name = '7'): Promise<Map<string, ConfigEntries>> {
  const res = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.BROKER, name }] });
  expect(res.resources[0].errorCode).toBe(0);
  return new Map(res.resources[0].configEntries.map((e) => [e.configName, e]));
}

async function topicConfig(topic: string, name: string): Promise<string> {
  const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }] });
  return res.resources[0].configEntries[0].configValue;
}

function alter(entries: Record<string, string>, validateOnly = false, name = '7'): Promise<unknown> {
  return admin.alterConfigs({
    validateOnly,
    resources: [{ type: ConfigResourceTypes.BROKER, name, configEntries: Object.entries(entries).map(([n, value]) => ({ name: n, value })) }],
  });
}

/** The Kafka error name kafkajs rejected with (its message is its own text for the code). */
async function errorType(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    const e = err as { type?: string; cause?: { type?: string }; originalError?: { type?: string } };
    return e.type ?? e.cause?.type ?? e.originalError?.type ?? String(err);
  }
}

/** Opens `n` sockets from 127.0.0.1 and returns how many the broker kept open (a refused one is closed at once). */
async function openSockets(n: number): Promise<{ open: number; sockets: Socket[] }> {
  const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
    const s = connect(broker.port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  })));
  const closed = new Set<Socket>();
  for (const s of sockets) s.on('close', () => closed.add(s));
  await sleep(500);
  return { open: sockets.length - closed.size, sockets };
}

describe('broker configs', () => {
  test('DescribeConfigs lists the broker\'s real settings under Kafka\'s names, secrets as null', async () => {
    const c = await brokerConfigs();
    expect(c.get('node.id')?.configValue).toBe('7');
    expect(c.get('broker.id')?.configValue).toBe('7');
    expect(c.get('num.partitions')).toMatchObject({ configValue: '3', readOnly: true, isDefault: false, configSource: STATIC });
    expect(c.get('max.connections')).toMatchObject({ configValue: '1000', readOnly: false, isDefault: true, configSource: DEFAULT });
    expect(c.get('log.dirs')?.configValue).toBe(options.dataDir);
    expect(c.get('listeners')?.configValue).toBe('PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0');
    expect(c.get('auto.create.topics.enable')?.configValue).toBe('false');
    expect(c.get('log.retention.hours')?.configValue).toBe('1');
    const retention = c.get('log.retention.ms')!;
    expect(retention).toMatchObject({ configValue: '3600000', readOnly: false, configSource: STATIC });
    expect(retention.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource])).toEqual([
      ['log.retention.ms', '3600000', STATIC],
      ['log.retention.ms', '604800000', DEFAULT],
      ['log.retention.hours', '168', DEFAULT],
    ]);
    // The private key read from --ssl-key: listed, sensitive, never sent.
    expect(c.get('ssl.keystore.key')).toMatchObject({ configValue: null, isSensitive: true, readOnly: true });
    // A single node has no cluster roles, quorum or controller settings.
    for (const absent of ['process.roles', 'controller.quorum.voters', 'broker.session.timeout.ms', 'replica.lag.time.max.ms']) expect(c.has(absent), absent).toBe(false);
    // Another broker's id is not this broker.
    // Another broker's id is refused (kafkajs would route it to broker 8, so this goes over the wire directly).
    const other = await requestOnce<DescribeConfigsResponse>(broker, 32, 2, { resources: [{ resourceType: 4, resourceName: '8', configurationKeys: null }], includeSynonyms: false });
    expect(other.results[0]).toMatchObject({ errorCode: 42, errorMessage: expect.stringMatching(/not this broker/) });
  });

  test('DescribeConfigs v4 gives config types and, when asked, documentation', async () => {
    const ask = (includeDocumentation: boolean) => requestOnce<DescribeConfigsResponse>(broker, 32, 4, {
      resources: [{ resourceType: 4, resourceName: '7', configurationKeys: ['max.connections', 'super.users', 'auto.create.topics.enable'] }],
      includeSynonyms: false,
      includeDocumentation,
    });
    const withDocs = await ask(true);
    expect(withDocs.results[0].errorCode).toBe(0);
    const byName = new Map(withDocs.results[0].configs.map((c) => [c.name, c]));
    expect([...byName.keys()].sort()).toEqual(['auto.create.topics.enable', 'max.connections', 'super.users']);
    // Kafka's ConfigType: BOOLEAN 1, INT 3, LIST 7.
    expect([byName.get('auto.create.topics.enable')?.configType, byName.get('max.connections')?.configType, byName.get('super.users')?.configType]).toEqual([1, 3, 7]);
    expect(byName.get('max.connections')?.documentation).toMatch(/--max-connections/);
    expect((await ask(false)).results[0].configs.every((c) => c.documentation === null)).toBe(true);
  });

  test('validateOnly changes nothing; a read-only or unknown config is refused', async () => {
    await alter({ 'max.connections.per.ip': '3' }, true);
    expect((await brokerConfigs()).get('max.connections.per.ip')).toMatchObject({ configValue: '2147483647', configSource: DEFAULT });
    await expect(readFile(path.join(options.dataDir!, 'meta', 'broker-configs.json'))).rejects.toThrow(/ENOENT/);
    expect(await errorType(alter({ 'num.partitions': '5' }))).toBe('INVALID_REQUEST');
    expect(await errorType(alter({ 'no.such.config': '5' }))).toBe('INVALID_CONFIG');
    expect(await errorType(alter({ 'max.connections.per.ip': '-4' }))).toBe('INVALID_CONFIG');
    expect((await brokerConfigs()).get('num.partitions')?.configValue).toBe('3');
  });

  test('a dynamic config takes effect at once: retention default, message size, connections per address', async () => {
    await admin.createTopics({ topics: [{ topic: 'own-retention', configEntries: [{ name: 'retention.ms', value: '1000' }] }, { topic: 'no-retention' }] });
    await alter({ 'log.retention.ms': '120000', 'message.max.bytes': '2000', 'max.connections.per.ip': '4' });
    const c = await brokerConfigs();
    expect(c.get('log.retention.ms')).toMatchObject({ configValue: '120000', configSource: DYNAMIC_BROKER, isDefault: false });
    expect(c.get('log.retention.ms')!.configSynonyms[0]).toMatchObject({ configName: 'log.retention.ms', configValue: '120000', configSource: DYNAMIC_BROKER });
    expect(c.get('log.retention.hours')?.configValue).toBe('0');
    expect(await topicConfig('no-retention', 'retention.ms')).toBe('120000');
    expect(await topicConfig('own-retention', 'retention.ms')).toBe('1000');

    // The partition logs took the new message.max.bytes: a 5000-byte batch is refused.
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      expect(await errorType(producer.send({ topic: 'no-retention', acks: 1, messages: [{ value: 'x'.repeat(5000) }] }))).toBe('MESSAGE_TOO_LARGE');
      await producer.send({ topic: 'no-retention', acks: 1, messages: [{ value: 'small' }] });
    } finally {
      await producer.disconnect();
    }

    // At most 4 connections from 127.0.0.1, the admin's included.
    const { open, sockets } = await openSockets(6);
    try {
      expect(open).toBeGreaterThan(0);
      expect(open).toBeLessThanOrEqual(3);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  test('dynamic configs survive a restart; leaving one out of AlterConfigs returns it to its start value', async () => {
    await stop();
    await start();
    let c = await brokerConfigs();
    expect(c.get('log.retention.ms')).toMatchObject({ configValue: '120000', configSource: DYNAMIC_BROKER });
    expect(c.get('message.max.bytes')).toMatchObject({ configValue: '2000', configSource: DYNAMIC_BROKER });
    expect(c.get('max.connections.per.ip')).toMatchObject({ configValue: '4', configSource: DYNAMIC_BROKER });
    expect(await topicConfig('no-retention', 'retention.ms')).toBe('120000');

    // AlterConfigs replaces the whole set: what it leaves out goes back to what the broker was started with.
    await alter({ 'log.retention.ms': '240000' });
    c = await brokerConfigs();
    expect(c.get('log.retention.ms')).toMatchObject({ configValue: '240000', configSource: DYNAMIC_BROKER });
    expect(c.get('message.max.bytes')).toMatchObject({ configValue: '1048588', configSource: DEFAULT });
    expect(c.get('max.connections.per.ip')).toMatchObject({ configValue: '2147483647', configSource: DEFAULT });
    const { open, sockets } = await openSockets(6);
    for (const s of sockets) s.destroy();
    expect(open).toBe(6);
    // A topic at DescribeConfigs v4 (flexible) answers too.
    const topic = await requestOnce<DescribeConfigsResponse>(broker, 32, 4, { resources: [{ resourceType: 2, resourceName: 'no-retention', configurationKeys: ['retention.ms'] }], includeSynonyms: true, includeDocumentation: true });
    expect(topic.results[0]).toMatchObject({ errorCode: 0, configs: [expect.objectContaining({ name: 'retention.ms', value: '240000' })] });
  });

  test('cluster-wide defaults (resource name "") sit under the per-broker values', async () => {
    // kafkajs refuses an empty resource name itself: AlterConfigs and DescribeConfigs go over the wire directly.
    const altered = await requestOnce<AlterConfigsResponse>(broker, 33, 1, {
      resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'log.retention.bytes', value: '1000000' }, { name: 'log.retention.ms', value: '360000' }] }],
      validateOnly: false,
    });
    expect(altered.responses[0]).toMatchObject({ errorCode: 0 });
    const described = await requestOnce<DescribeConfigsResponse>(broker, 32, 2, { resources: [{ resourceType: 4, resourceName: '', configurationKeys: null }], includeSynonyms: true });
    const defaults = new Map(described.results[0].configs.map((e) => [e.name, { configValue: e.value, configSource: e.configSource }]));
    expect([...defaults.keys()].sort()).toEqual(['log.retention.bytes', 'log.retention.ms']);
    expect(defaults.get('log.retention.bytes')).toMatchObject({ configValue: '1000000', configSource: DYNAMIC_DEFAULT });
    const c = await brokerConfigs();
    expect(c.get('log.retention.bytes')).toMatchObject({ configValue: '1000000', configSource: DYNAMIC_DEFAULT });
    // The per-broker value wins over the default.
    expect(c.get('log.retention.ms')).toMatchObject({ configValue: '240000', configSource: DYNAMIC_BROKER });
    expect(c.get('log.retention.ms')!.configSynonyms.slice(0, 2).map((s) => [s.configValue, s.configSource])).toEqual([['240000', DYNAMIC_BROKER], ['360000', DYNAMIC_DEFAULT]]);
    expect(await topicConfig('no-retention', 'retention.bytes')).toBe('1000000');
  });

  test('with ACLs, DESCRIBE_CONFIGS / ALTER_CONFIGS on the cluster decide', async () => {
    const describeReq = { resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['num.partitions'] }], includeSynonyms: false };
    const alterReq = { resources: [{ resourceType: 4, resourceName: '1', configs: [{ name: 'max.connections', value: '900' }] }], validateOnly: true };
    for (const allowEveryone of [false, true]) {
      const acl = await startBroker({ dataDir: path.join(dir, `acl-${allowEveryone}`), port: 0, authorizer: 'acl', allowEveryoneIfNoAclFound: allowEveryone });
      try {
        const described = await requestOnce<DescribeConfigsResponse>(acl, 32, 2, describeReq);
        const altered = await requestOnce<AlterConfigsResponse>(acl, 33, 1, alterReq);
        // User:ANONYMOUS with no ACL: CLUSTER_AUTHORIZATION_FAILED (31), unless resources without ACLs are open.
        expect([described.results[0].errorCode, altered.responses[0].errorCode]).toEqual(allowEveryone ? [0, 0] : [31, 31]);
        if (allowEveryone) expect(described.results[0].configs.map((c) => c.value)).toEqual(['1']);
      } finally {
        await acl.close();
      }
    }
  });

  test.runIf(hasPython)('python confluent_kafka describes and alters the broker resource', async () => {
    const res = await runCommand(PYTHON, [path.join(SCRIPTS, 'broker_configs.py'), broker.address, '7'], { timeoutMs: 60_000 });
    const out = res.stdout.toString().trim().split('\n').pop() ?? '';
    expect(res.code, `stdout: ${out}\nstderr: ${res.stderr.slice(-2000)}`).toBe(0);
    type Entry = { value: string | null; read_only: boolean; default: boolean; sensitive: boolean; source: number; synonyms: [string, string | null, number][] };
    const r = JSON.parse(out) as { configs: Record<string, Entry>; alter_read_only: string; alter_unknown: string };
    expect(r.configs['num.partitions']).toMatchObject({ value: '3', read_only: true, default: false, source: STATIC });
    expect(r.configs['ssl.keystore.key']).toMatchObject({ value: null, sensitive: true });
    expect(r.configs['log.retention.ms']).toMatchObject({ value: '240000', read_only: false, source: DYNAMIC_BROKER });
    expect(r.configs['log.retention.bytes']).toMatchObject({ value: '1000000', source: DYNAMIC_DEFAULT });
    expect(r.configs['socket.request.max.bytes'].value).toBe(String(broker.config.maxFrameBytes));
    expect(r.alter_read_only).toMatch(/^INVALID_REQUEST: num\.partitions is read-only/);
    expect(r.alter_unknown).toMatch(/^INVALID_CONFIG: unknown broker config "no\.such\.config"/);
  });
});
