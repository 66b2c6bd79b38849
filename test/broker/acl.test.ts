// ACLs end to end: an in-process broker with --authorizer acl, driven by kafkajs as User:ANONYMOUS on
// a PLAINTEXT listener. The audit's finding (a credential-less client created 500 partitions, set
// retention.ms=1 and deleted a topic) is refused; ACLs made with kafkajs's admin grant exactly what
// they say; they survive a restart; with no authorizer the ACL APIs answer SECURITY_DISABLED.
import { rmSync } from 'node:fs';
import path from 'node:path';
import {
  AclOperationTypes as Op,
  AclPermissionTypes as Perm,
  AclResourceTypes as Res,
  ConfigResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes as Pattern,
  type AclEntry,
} from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../broker/index.ts';
import { makeTempDir } from '../helpers/broker-process.ts';
import { makeConsumer } from '../helpers/kafkajs.ts';
import { waitFor } from '../helpers/run.ts';
import { WireConnection, Writer } from '../helpers/kafka-wire.ts';
import { ApiKey, initProducerId } from '../helpers/kafka-api.ts';

const ANON = 'User:ANONYMOUS';
const GROUP_AUTHORIZATION_FAILED = 30;
let dir: string;
let broker: RunningBroker | null = null;
const lines: string[] = [];

async function start(options: Partial<StartBrokerOptions> = {}): Promise<Kafka> {
  await broker?.close();
  broker = await startBroker({ dataDir: path.join(dir, 'data'), port: 0, authorizer: 'acl', groupInitialRebalanceDelayMs: 0, logger: (l) => void lines.push(l), ...options });
  return new Kafka({ clientId: 'acl-test', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 50 } });
}

async function withAdmin<T>(kafka: Kafka, fn: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

const allow = (resourceType: Res, resourceName: string, operation: Op, resourcePatternType = Pattern.LITERAL): AclEntry => ({
  resourceType,
  resourceName,
  resourcePatternType,
  principal: ANON,
  host: '*',
  operation,
  permissionType: Perm.ALLOW,
});

/** The Kafka error types a kafkajs error carries, itself and nested (aggregate errors, retry wrappers). */
function errorTypes(err: unknown, depth = 0): string[] {
  if (err === null || typeof err !== 'object' || depth > 4) return [];
  const e = err as { type?: unknown; errors?: unknown[]; cause?: unknown; originalError?: unknown };
  return [...(typeof e.type === 'string' ? [e.type] : []), ...(e.errors ?? []).flatMap((x) => errorTypes(x, depth + 1)), ...errorTypes(e.cause, depth + 1), ...errorTypes(e.originalError, depth + 1)];
}

/** Expects the call to fail with this Kafka error (e.g. TOPIC_AUTHORIZATION_FAILED). */
async function refused(call: Promise<unknown>, type: string): Promise<void> {
  const err = await call.then(() => null, (e: unknown) => e);
  expect(err, `expected ${type}, the call succeeded`).not.toBeNull();
  expect(errorTypes(err), String(err)).toContain(type);
}

beforeAll(() => {
  dir = makeTempDir('untangle-acl-');
});

afterAll(async () => {
  await broker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('--authorizer acl', () => {
  test('as a super user, ANONYMOUS creates topics and ACLs; without ACLs it may not', async () => {
    // No ACLs, no super users: the ACL APIs themselves are refused.
    let kafka = await start();
    await withAdmin(kafka, async (admin) => {
      await refused(admin.createTopics({ topics: [{ topic: 'victim' }] }), 'TOPIC_AUTHORIZATION_FAILED');
      await refused(admin.createAcls({ acl: [allow(Res.TOPIC, 'victim', Op.ALL)] }), 'CLUSTER_AUTHORIZATION_FAILED');
      await refused(admin.describeAcls({ resourceType: Res.ANY, resourcePatternType: Pattern.ANY, operation: Op.ANY, permissionType: Perm.ANY }), 'CLUSTER_AUTHORIZATION_FAILED');
    });

    kafka = await start({ superUsers: [ANON] });
    await withAdmin(kafka, async (admin) => {
      await admin.createTopics({ topics: ['victim', 'allowed', 'other', 'app-1', 'app-secret'].map((topic) => ({ topic, numPartitions: 1 })) });
      await admin.createAcls({
        acl: [
          allow(Res.TOPIC, 'victim', Op.DESCRIBE),
          allow(Res.TOPIC, 'victim', Op.DESCRIBE_CONFIGS),
          allow(Res.TOPIC, 'allowed', Op.WRITE),
          allow(Res.TOPIC, 'allowed', Op.READ),
          allow(Res.TOPIC, 'app-', Op.WRITE, Pattern.PREFIXED),
          { ...allow(Res.TOPIC, 'app-secret', Op.WRITE), permissionType: Perm.DENY },
          allow(Res.GROUP, 'readers', Op.READ),
        ],
      });
      const described = await admin.describeAcls({ resourceType: Res.ANY, resourcePatternType: Pattern.ANY, operation: Op.ANY, permissionType: Perm.ANY });
      expect(described.resources.flatMap((r) => r.acls)).toHaveLength(7);
      const prefixed = described.resources.find((r) => r.resourcePatternType === Pattern.PREFIXED);
      expect(prefixed).toMatchObject({ resourceName: 'app-', acls: [{ principal: ANON, operation: Op.WRITE, permissionType: Perm.ALLOW }] });
      // An invalid binding is refused with INVALID_REQUEST, the rest of the request is not affected.
      await refused(admin.createAcls({ acl: [allow(Res.CLUSTER, 'not-the-cluster', Op.ALTER)] }), 'INVALID_REQUEST');
    });
  });

  test('after a restart the ACLs still hold: the audit\'s partitions, retention and deletion are refused', async () => {
    const kafka = await start();
    await withAdmin(kafka, async (admin) => {
      await refused(admin.createTopics({ topics: [{ topic: 'spray', numPartitions: 500 }] }), 'TOPIC_AUTHORIZATION_FAILED');
      await refused(admin.createPartitions({ topicPartitions: [{ topic: 'victim', count: 500 }] }), 'TOPIC_AUTHORIZATION_FAILED');
      await refused(admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'victim', configEntries: [{ name: 'retention.ms', value: '1' }] }] }), 'TOPIC_AUTHORIZATION_FAILED');
      await refused(admin.deleteTopics({ topics: ['victim'] }), 'TOPIC_AUTHORIZATION_FAILED');
      // The topic is untouched: still one partition, no retention override.
      const meta = await admin.fetchTopicMetadata({ topics: ['victim'] });
      expect(meta.topics[0].partitions).toHaveLength(1);
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'victim', configNames: ['retention.ms'] }] });
      expect(configs.resources[0].configEntries[0].configValue).not.toBe('1');
      // Metadata for all topics lists only those ANONYMOUS may describe: WRITE and READ imply DESCRIBE,
      // so app-secret is listed (its DENY is of WRITE only), "other" is not.
      expect((await admin.listTopics()).sort()).toEqual(['allowed', 'app-1', 'app-secret', 'victim']);
      // The ACL APIs need ALTER/DESCRIBE on the cluster, which ANONYMOUS does not have.
      await refused(admin.describeAcls({ resourceType: Res.ANY, resourcePatternType: Pattern.ANY, operation: Op.ANY, permissionType: Perm.ANY }), 'CLUSTER_AUTHORIZATION_FAILED');
    });
  });

  test('produce is allowed exactly where WRITE is: a literal topic, a prefix, not where a DENY wins', async () => {
    const kafka = await start();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic: 'allowed', messages: [{ value: 'one' }, { value: 'two' }] });
      await producer.send({ topic: 'app-1', messages: [{ value: 'prefixed' }] });
      await refused(producer.send({ topic: 'other', messages: [{ value: 'x' }] }), 'TOPIC_AUTHORIZATION_FAILED');
      await refused(producer.send({ topic: 'app-secret', messages: [{ value: 'x' }] }), 'TOPIC_AUTHORIZATION_FAILED');
    } finally {
      await producer.disconnect();
    }
  });

  test('a group with READ consumes; a group without it is refused', async () => {
    const kafka = await start();
    const consumer = makeConsumer(kafka, 'readers');
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: ['allowed'], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      await waitFor(() => seen.length >= 2, 20_000, 'the two messages of "allowed"');
      expect(seen).toEqual(['one', 'two']);
    } finally {
      await consumer.disconnect();
    }
    // kafkajs hides a FindCoordinator refusal behind "No brokers in the broker pool": ask on the wire.
    const wire = await WireConnection.connect(broker!.host, broker!.port);
    try {
      const findCoordinator = async (group: string): Promise<number> => (await wire.request(ApiKey.FindCoordinator, 0, new Writer().string(group).toBuffer())).int16();
      expect(await findCoordinator('strangers')).toBe(GROUP_AUTHORIZATION_FAILED);
      expect(await findCoordinator('readers')).toBe(0);
      // Idempotent producers need IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679): WRITE on "allowed" suffices.
      expect((await initProducerId(wire)).errorCode).toBe(0);
    } finally {
      wire.close();
    }
    await withAdmin(kafka, async (admin) => {
      // The group's committed offsets are readable by a principal with READ on it (DESCRIBE implied).
      const offsets = await admin.fetchOffsets({ groupId: 'readers', topics: ['allowed'] });
      expect(offsets[0].partitions[0].offset).toBe('2');
    });
  });

  test('deleteAcls removes what its filter matches, and the change persists', async () => {
    let kafka = await start({ superUsers: [ANON] });
    await withAdmin(kafka, async (admin) => {
      const res = await admin.deleteAcls({ filters: [{ resourceType: Res.TOPIC, resourceName: 'app-secret', resourcePatternType: Pattern.MATCH, operation: Op.ANY, permissionType: Perm.DENY }] });
      expect(res.filterResponses[0].matchingAcls).toHaveLength(1);
      expect(res.filterResponses[0].matchingAcls[0]).toMatchObject({ resourceName: 'app-secret', permissionType: Perm.DENY });
    });
    kafka = await start();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // The DENY is gone, so the PREFIXED ALLOW on app- now lets this through.
      await producer.send({ topic: 'app-secret', messages: [{ value: 'now allowed' }] });
    } finally {
      await producer.disconnect();
    }
  });
});

describe('--authorizer none (the default)', () => {
  test('everything is allowed and the ACL APIs answer SECURITY_DISABLED', async () => {
    const kafka = await start({ authorizer: 'none', dataDir: path.join(dir, 'open') });
    await withAdmin(kafka, async (admin) => {
      await admin.createTopics({ topics: [{ topic: 'free', numPartitions: 2 }] });
      await refused(admin.createAcls({ acl: [allow(Res.TOPIC, 'free', Op.ALL)] }), 'SECURITY_DISABLED');
    });
  });
});
