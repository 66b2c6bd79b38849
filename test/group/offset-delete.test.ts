// OffsetDelete (API 47, KIP-496): librdkafka 2.0.2's rd_kafka_DeleteConsumerGroupOffsets (the call behind
// AdminClient.delete_consumer_group_offsets) and kafkajs against the real broker process, plus the record
// format, the in-memory state and the coordinator's rules (subscribed topics, group states) as units.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32c } from '@node-rs/crc32';
import { AclOperationTypes as Op, AclPermissionTypes as Perm, AclResourceTypes as Res, ResourcePatternTypes as Pattern, type Admin, type Consumer, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { FileOffsetStore } from '../../broker/group/file-offset-store.ts';
import { decodeRecords, encodeRecord, MAGIC, type OffsetRecord } from '../../broker/group/offset-records.ts';
import { MemoryOffsetStore, OffsetState, offsetEntryBytes, type OffsetEntry, type TopicPartitionRef } from '../../broker/group/offset-store.ts';
import { encodeConsumerProtocolSubscription } from '../../broker/protocol/generated/consumer-protocol.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { Writer } from '../../broker/protocol/wire.ts';
import { ApiKey, type OffsetCommitResponse, type OffsetDeleteResponse } from '../../broker/protocol/generated/index.ts';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.ts';
import { makeConsumer, makeKafka } from '../helpers/kafkajs.ts';
import { PYTHON, peerChecks, requirePeer } from '../helpers/peers.ts';
import { runCommand, waitFor } from '../helpers/run.ts';
import { setup, stableGroup } from './helpers.ts';

const entry = (topic: string, partition: number, offset: number, metadata: string | null = null): OffsetEntry => ({
  topic,
  partition,
  offset,
  leaderEpoch: 2,
  metadata,
  commitTimestampMs: 1_700_000_000_000,
});

describe('offset records: deleteOffsets', () => {
  it('round-trips, next to the older record types, and a torn one ends the replay', () => {
    const records: OffsetRecord[] = [
      { type: 'commit', groupId: 'g', entries: [entry('t', 0, 5, 'm'), entry('ü', 1, 2 ** 40)] },
      { type: 'deleteOffsets', groupId: 'g', partitions: [{ topic: 'ü', partition: 1 }, { topic: 't', partition: 7 }] },
      { type: 'deleteOffsets', groupId: 'empty', partitions: [] },
      { type: 'deleteGroup', groupId: 'h' },
      { type: 'deleteTopic', topic: 'x' },
    ];
    const file = Buffer.concat([MAGIC, ...records.map(encodeRecord)]);
    expect(decodeRecords(file, MAGIC.length)).toEqual({ records, validEnd: file.length });
    const torn = file.subarray(0, file.length - encodeRecord(records[4]).length - encodeRecord(records[3]).length - 3);
    const cut = decodeRecords(torn, MAGIC.length);
    expect(cut.records).toEqual(records.slice(0, 2));
  });

  it('refuses a deleteOffsets payload whose count runs past it', () => {
    const good = encodeRecord({ type: 'deleteOffsets', groupId: 'g', partitions: [{ topic: 't', partition: 0 }] });
    const bad = Buffer.from(good);
    // header 8 + type 1 + groupId (4 + 1): the count; a wrong CRC would stop the replay anyway, so re-sign it.
    bad.writeUInt32BE(1000, 8 + 1 + 5);
    bad.writeUInt32BE(crc32c(bad.subarray(8)), 4);
    expect(decodeRecords(Buffer.concat([MAGIC, good, bad, good]), MAGIC.length).records).toHaveLength(1);
  });
});

describe('OffsetState.deleteOffsets', () => {
  it('forgets only the named partitions, keeps counts and bytes, and drops emptied topics and groups', () => {
    const s = new OffsetState();
    s.apply('g', [entry('t', 0, 1, 'abc'), entry('t', 1, 2), entry('u', 0, 3, 'xy')]);
    s.apply('h', [entry('t', 0, 9)]);
    const before = s.estimatedBytes();
    s.deleteOffsets('g', [{ topic: 't', partition: 0 }, { topic: 't', partition: 5 }, { topic: 'nope', partition: 0 }]);
    expect(s.get('g', 't', 0)).toBeUndefined();
    expect(s.get('g', 't', 1)?.offset).toBe(2);
    expect(s.get('h', 't', 0)?.offset).toBe(9);
    expect(s.offsetCount('g')).toBe(2);
    expect(s.estimatedBytes()).toBe(before - offsetEntryBytes('abc'));
    s.deleteOffsets('g', [{ topic: 't', partition: 1 }, { topic: 't', partition: 1 }]);
    expect([...s.entries('g')].map((e) => `${e.topic}-${e.partition}`)).toEqual(['u-0']);
    expect(s.offsetCount('g')).toBe(1);
    s.applyRecord({ type: 'deleteOffsets', groupId: 'g', partitions: [{ topic: 'u', partition: 0 }] });
    expect(s.hasGroup('g')).toBe(false);
    expect(s.offsetCount('g')).toBe(0);
    expect([...s.groups()]).toEqual(['h']);
    expect(s.size()).toBe(1);
    expect(s.estimatedBytes()).toBe(offsetEntryBytes(null));
    s.deleteOffsets('unknown', [{ topic: 't', partition: 0 }]);
    expect(s.groupCount()).toBe(1);
  });

  it('replays from the file store: a deletion is logged and survives a reopen', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'untangle-offdel-'));
    try {
      const a = new FileOffsetStore(dir);
      await a.load();
      await a.commit('g', [entry('t', 0, 1), entry('t', 1, 2), entry('u', 0, 3)]);
      await a.deleteOffsets('g', [{ topic: 't', partition: 1 }, { topic: 'u', partition: 0 }]);
      await a.close();
      const b = new FileOffsetStore(dir);
      await b.load();
      expect([...b.entries('g')].map((e) => [e.topic, e.partition, e.offset])).toEqual([['t', 0, 1]]);
      await b.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A consumer-protocol subscription as the Java consumer and kafkajs send it in JoinGroup. */
function subscription(topics: string[]): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  encodeConsumerProtocolSubscription(w, { topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null }, 0);
  return w.toBuffer();
}

const admin = { generationId: -1, memberId: '', groupInstanceId: null };
const commitTo = (groupId: string, topics: Record<string, number[]>) => ({
  groupId,
  ...admin,
  topics: Object.entries(topics).map(([name, ps]) => ({ name, partitionCount: 8, partitions: ps.map((p) => ({ partitionIndex: p, committedOffset: 10 + p, committedLeaderEpoch: -1, committedMetadata: null })) })),
});
const ask = (topics: Record<string, number[]>) => Object.entries(topics).map(([name, partitions]) => ({ name, partitions }));

describe('GroupCoordinator.deleteOffsets', () => {
  it('an Empty group (offsets only) loses every named offset; partitions without one answer NONE', async () => {
    const { coordinator, store } = setup();
    await coordinator.commitOffsets(commitTo('g', { t: [0, 1], u: [0] }));
    expect(await coordinator.deleteOffsets('g', ask({ t: [0, 5], u: [0] }))).toEqual({
      errorCode: 0,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 5, errorCode: 0 }] },
        { name: 'u', partitions: [{ partitionIndex: 0, errorCode: 0 }] },
      ],
    });
    expect([...store.entries('g')].map((e) => `${e.topic}-${e.partition}`)).toEqual(['t-1']);
  });

  it('refuses unknown groups, empty ids, and closed coordinators at the top level', async () => {
    const { coordinator } = setup();
    expect(await coordinator.deleteOffsets('nobody', ask({ t: [0] }))).toEqual({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] });
    expect(await coordinator.deleteOffsets('', ask({ t: [0] }))).toEqual({ errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] });
    await coordinator.close();
    expect((await coordinator.deleteOffsets('nobody', [])).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  it('a live consumer group keeps the offsets of topics it subscribes to (GROUP_SUBSCRIBED_TO_TOPIC) and loses the others', async () => {
    const t = setup();
    await t.coordinator.commitOffsets(commitTo('g', { t: [0], u: [0], v: [0] }));
    await stableGroup(t, [
      { protocols: [{ name: 'range', metadata: subscription(['t']) }] },
      { protocols: [{ name: 'range', metadata: subscription(['v']) }] },
    ]);
    const res = await t.coordinator.deleteOffsets('g', ask({ t: [0], u: [0, 3], v: [0] }));
    expect(res.topics.map((x) => [x.name, x.partitions.map((p) => p.errorCode)])).toEqual([
      ['t', [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]],
      ['u', [0, 0]],
      ['v', [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]],
    ]);
    expect([...t.store.entries('g')].map((e) => e.topic).sort()).toEqual(['t', 'v']);
    // A live group with no offsets at all is still a group: NONE, nothing to delete.
    await stableGroup(t, [{ groupId: 'fresh', protocols: [{ name: 'range', metadata: subscription(['t']) }] }]);
    expect((await t.coordinator.deleteOffsets('fresh', ask({ u: [0] }))).topics[0].partitions).toEqual([{ partitionIndex: 0, errorCode: 0 }]);
  });

  it('treats every topic as subscribed when a member\'s subscription does not parse', async () => {
    const t = setup();
    await t.coordinator.commitOffsets(commitTo('g', { u: [0] }));
    await stableGroup(t, [{ protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 9]) }] }]);
    const res = await t.coordinator.deleteOffsets('g', ask({ u: [0] }));
    expect(res.topics[0].partitions[0].errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    expect(t.store.get('g', 'u', 0)).toBeDefined();
  });

  it('refuses a live group of another protocol type with NON_EMPTY_GROUP', async () => {
    const t = setup();
    await t.coordinator.commitOffsets(commitTo('c', { u: [0] }));
    await stableGroup(t, [{ groupId: 'c', protocolType: 'connect', protocols: [{ name: 'default', metadata: Buffer.from('x') }] }]);
    expect(await t.coordinator.deleteOffsets('c', ask({ u: [0] }))).toEqual({ errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] });
    expect(t.store.get('c', 'u', 0)).toBeDefined();
  });

  it('answers COORDINATOR_NOT_AVAILABLE when the store cannot record the deletion', async () => {
    class FailingStore extends MemoryOffsetStore {
      override async deleteOffsets(_g: string, _p: TopicPartitionRef[]): Promise<void> {
        throw new Error('disk full');
      }
    }
    const t = setup({}, new FailingStore());
    await t.coordinator.commitOffsets(commitTo('g', { u: [0] }));
    expect(await t.coordinator.deleteOffsets('g', ask({ u: [0] }))).toEqual({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] });
  });
});

// ---- against the broker process, with librdkafka 2.0.2 and kafkajs ----

const hasPython = await requirePeer('python3-confluent-kafka', peerChecks.confluentKafka);
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python', 'offset_delete.py');

interface PyResult {
  error: string | null;
  partitions: Record<string, string>;
}

describe.runIf(hasPython)('OffsetDelete against the broker process (librdkafka 2.0.2, kafkajs)', () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  let kadmin: Admin;

  beforeAll(async () => {
    broker = await startBrokerProcess({ groupInitialRebalanceDelayMs: 300, defaultPartitions: 1 });
    kafka = makeKafka(broker.address);
    kadmin = kafka.admin();
    await kadmin.connect();
    await kadmin.createTopics({
      topics: [
        { topic: 'od-a', numPartitions: 3 },
        { topic: 'od-b', numPartitions: 2 },
        { topic: 'od-live', numPartitions: 1 },
        { topic: 'od-other', numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
  }, 60_000);

  afterAll(async () => {
    await kadmin?.disconnect();
    await broker?.cleanup();
  });

  async function py(op: 'commit' | 'delete', group: string, ...specs: string[]): Promise<PyResult> {
    const res = await runCommand(PYTHON, [SCRIPT, broker.address, op, group, ...specs], { timeoutMs: 90_000 });
    const out = res.stdout.toString().trim().split('\n').pop() ?? '';
    if (res.code !== 0 || !out.startsWith('{')) {
      throw new Error(`offset_delete.py ${op} exited ${res.code} (signal ${res.signal})\nstdout: ${out.slice(-2000)}\nstderr: ${res.stderr.slice(-3000)}\n--- broker ---\n${broker.stderr().slice(-2000)}`);
    }
    return JSON.parse(out) as PyResult;
  }

  async function committed(groupId: string, topics: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const t of await kadmin.fetchOffsets({ groupId, topics })) for (const p of t.partitions) out[`${t.topic}:${p.partition}`] = p.offset;
    return out;
  }

  it('deletes one topic\'s offsets of an Empty group, keeps the others, and the deletion survives kill -9', async () => {
    const group = 'od-g1';
    const commit = await py('commit', group, 'od-a:0:10', 'od-a:1:11', 'od-b:0:20', 'od-b:1:21');
    expect(commit.partitions).toEqual({ 'od-a:0': 'NO_ERROR', 'od-a:1': 'NO_ERROR', 'od-b:0': 'NO_ERROR', 'od-b:1': 'NO_ERROR' });

    const del = await py('delete', group, 'od-a:0', 'od-a:1', 'od-a:2', 'od-nope:0');
    expect(del.error).toBeNull();
    // od-a:2 had no committed offset: NONE, as Kafka answers it.
    expect(del.partitions).toEqual({ 'od-a:0': 'NO_ERROR', 'od-a:1': 'NO_ERROR', 'od-a:2': 'NO_ERROR', 'od-nope:0': 'UNKNOWN_TOPIC_OR_PART' });
    const expected = { 'od-a:0': '-1', 'od-a:1': '-1', 'od-a:2': '-1', 'od-b:0': '20', 'od-b:1': '21' };
    expect(await committed(group, ['od-a', 'od-b'])).toEqual(expected);

    // The answer came once the deletion was written: a crash right after it does not bring the offsets back.
    await kadmin.disconnect();
    await broker.kill();
    await broker.restart();
    kadmin = makeKafka(broker.address).admin();
    await kadmin.connect();
    expect(await committed(group, ['od-a', 'od-b'])).toEqual(expected);
  }, 120_000);

  it('an active kafkajs group keeps its subscribed topic\'s offsets (GROUP_SUBSCRIBED_TO_TOPIC) and loses another topic\'s', async () => {
    const group = 'od-g2';
    // The committed offset is od-live's end (3 messages): kafkajs then has nothing to read and commits
    // nothing (an out-of-range one it would reset by committing -1).
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'od-live', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await producer.disconnect();
    expect((await py('commit', group, 'od-live:0:3', 'od-other:0:5')).partitions).toEqual({ 'od-live:0': 'NO_ERROR', 'od-other:0': 'NO_ERROR' });
    expect(await committed(group, ['od-live', 'od-other'])).toEqual({ 'od-live:0': '3', 'od-other:0': '5' });
    const consumer: Consumer = makeConsumer(kafka, group);
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: ['od-live'] });
      await consumer.run({ eachMessage: async () => undefined });
      await waitFor(() => joined, 30_000, 'the kafkajs consumer to join od-g2');

      const refused = await py('delete', group, 'od-live:0');
      expect(refused.error).toBeNull();
      expect(refused.partitions).toEqual({ 'od-live:0': 'GROUP_SUBSCRIBED_TO_TOPIC' });
      const deleted = await py('delete', group, 'od-other:0');
      expect(deleted).toMatchObject({ error: null, partitions: { 'od-other:0': 'NO_ERROR' } });
      // Kept (the consumer itself commits nothing: it starts at od-live's end).
      expect(await committed(group, ['od-live', 'od-other'])).toEqual({ 'od-live:0': '3', 'od-other:0': '-1' });
    } finally {
      await consumer.disconnect();
    }
    // Once the group is Empty, the subscribed topic's offsets may go too.
    await waitFor(async () => (await kadmin.describeGroups([group])).groups[0].state === 'Empty', 30_000, 'od-g2 to become Empty');
    expect((await py('delete', group, 'od-live:0')).partitions).toEqual({ 'od-live:0': 'NO_ERROR' });
    expect(await committed(group, ['od-live'])).toEqual({ 'od-live:0': '-1' });
  }, 120_000);

  it('answers GROUP_ID_NOT_FOUND for a group with neither members nor offsets', async () => {
    const res = await py('delete', 'od-nobody', 'od-a:0');
    expect(res.error).toBe('GROUP_ID_NOT_FOUND');
    expect(res.partitions).toEqual({});
  }, 120_000);
});

describe('OffsetDelete under --authorizer acl (in-process broker)', () => {
  const ANON = 'User:ANONYMOUS';
  let dir: string;
  let broker: RunningBroker | null = null;

  async function start(superUsers: string[]): Promise<PeerConnection> {
    await broker?.close();
    broker = await startBroker({ dataDir: dir, port: 0, host: '127.0.0.1', authorizer: 'acl', superUsers, groupInitialRebalanceDelayMs: 0 });
    return new PeerConnection({ host: broker.host, port: broker.port, clientId: 'offset-delete-acl-test', maxFrameBytes: 1 << 20, connectTimeoutMs: 3_000 });
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'untangle-offdel-acl-'));
  });
  afterAll(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('needs DELETE on the group (else GROUP_AUTHORIZATION_FAILED) and READ on each topic (else TOPIC_AUTHORIZATION_FAILED)', async () => {
    let conn = await start([ANON]);
    const kafka = makeKafka(broker!.address);
    let kadmin = kafka.admin();
    await kadmin.connect();
    const allow = (resourceType: Res, resourceName: string, operation: Op) => ({ resourceType, resourceName, resourcePatternType: Pattern.LITERAL, principal: ANON, host: '*', operation, permissionType: Perm.ALLOW });
    try {
      await kadmin.createTopics({ topics: [{ topic: 'acl-r', numPartitions: 1 }, { topic: 'acl-x', numPartitions: 1 }] });
      await kadmin.createAcls({ acl: [allow(Res.GROUP, 'acl-g', Op.DELETE), allow(Res.TOPIC, 'acl-r', Op.READ)] });
      for (const groupId of ['acl-g', 'acl-h']) {
        const res = await conn.request<OffsetCommitResponse>(ApiKey.OffsetCommit, 7, {
          groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
          topics: ['acl-r', 'acl-x'].map((name) => ({ name, partitions: [{ partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] })),
        }, 10_000);
        expect(res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))).toEqual([0, 0]);
      }
    } finally {
      await kadmin.disconnect();
      conn.close();
    }

    conn = await start([]);
    try {
      const ask = (groupId: string) => conn.request<OffsetDeleteResponse>(ApiKey.OffsetDelete, 0, { groupId, topics: ['acl-r', 'acl-x'].map((name) => ({ name, partitions: [{ partitionIndex: 0 }] })) }, 10_000);
      expect(await ask('acl-h')).toEqual({ errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] });
      expect(await ask('acl-g')).toEqual({
        errorCode: 0,
        throttleTimeMs: 0,
        topics: [
          { name: 'acl-r', partitions: [{ partitionIndex: 0, errorCode: 0 }] },
          { name: 'acl-x', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }] },
        ],
      });
    } finally {
      conn.close();
    }

    (await start([ANON])).close();
    kadmin = makeKafka(broker!.address).admin();
    await kadmin.connect();
    try {
      const offsets = async (groupId: string) => (await kadmin.fetchOffsets({ groupId, topics: ['acl-r', 'acl-x'] })).map((t) => [t.topic, t.partitions[0].offset]);
      expect(await offsets('acl-g')).toEqual([['acl-r', '-1'], ['acl-x', '7']]);
      expect(await offsets('acl-h')).toEqual([['acl-r', '7'], ['acl-x', '7']]);
    } finally {
      await kadmin.disconnect();
    }
  }, 60_000);
});
