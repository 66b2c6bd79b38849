// ListOffsets at every version the broker advertises (0-10), encoded with the generated codecs over a real socket
// to a real in-process broker, answers checked field by field; and kcat -Q (librdkafka's offsets-for-times).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { ApiKey, type ApiVersionsResponse, type ListOffsetsResponse, type ListOffsetsResponsePartitions, type ProduceResponse } from '../../broker/protocol/generated/index.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { encodeRecordBatch, type RecordInput } from '../helpers/kafka-wire.ts';
import { peerChecks, requirePeer } from '../helpers/peers.ts';
import { runCommand } from '../helpers/run.ts';

const hasKcat = await requirePeer('kcat', peerChecks.kcat);
const TOPIC = 'lo';
let dir: string;
let broker: RunningBroker;
let conn: PeerConnection;
/** The broker's clock around the produce: every record timestamp is relative to it. */
const T = Date.now();
/** Offsets 0,1 | 2,3 | 4,5, one batch per segment (segment.bytes=14 rolls before every batch but the first). */
const BATCHES: { base: number; records: RecordInput[] }[] = [
  { base: T - 3000, records: [{ key: null, value: 'a0' }, { key: null, value: 'a1', timestampDelta: 10 }] },
  { base: T - 2000, records: [{ key: null, value: 'b0' }, { key: null, value: 'b1', timestampDelta: 5000 }] }, // b1 holds the max timestamp, T+3000
  { base: T - 1000, records: [{ key: null, value: 'c0' }, { key: null, value: 'c1', timestampDelta: 10 }] },
];
/** The modification time of each segment file, oldest first, once everything is written. */
let segmentMtimes: number[] = [];

function findDir(root: string, name: string): string | null {
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    if (e.name === name) return join(root, e.name);
    const inner = findDir(join(root, e.name), name);
    if (inner) return inner;
  }
  return null;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'untangle-list-offsets-'));
  broker = await startBroker({ dataDir: dir, port: 0, host: '127.0.0.1' });
  const admin = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '14' }] }, { topic: 'empty', numPartitions: 1 }] });
  await admin.disconnect();
  conn = new PeerConnection({ host: '127.0.0.1', port: broker.port, clientId: 'list-offsets-test', maxFrameBytes: 16 * 1024 * 1024, connectTimeoutMs: 2000 });
  for (const b of BATCHES) {
    const records = encodeRecordBatch(b.records, { baseTimestamp: BigInt(b.base) });
    const r = await conn.request<ProduceResponse>(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] }, 5000);
    expect(r.responses[0].partitionResponses[0].errorCode).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 30)); // distinct segment file times
  }
  const partitionDir = findDir(dir, `${TOPIC}-0`)!;
  segmentMtimes = readdirSync(partitionDir).filter((f) => f.endsWith('.log')).sort().map((f) => statSync(join(partitionDir, f)).mtimeMs);
}, 30_000);

afterAll(async () => {
  conn?.close();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Ask { timestamp: number; currentLeaderEpoch?: number; maxNumOffsets?: number; topic?: string; partition?: number }

async function listOffsets(version: number, asks: Ask[], isolationLevel = 0): Promise<ListOffsetsResponsePartitions[]> {
  const topics = [...new Set(asks.map((a) => a.topic ?? TOPIC))].map((name) => ({
    name,
    partitions: asks.filter((a) => (a.topic ?? TOPIC) === name).map((a) => ({ partitionIndex: a.partition ?? 0, currentLeaderEpoch: a.currentLeaderEpoch ?? -1, timestamp: a.timestamp, maxNumOffsets: a.maxNumOffsets ?? 1 })),
  }));
  const r = await conn.request<ListOffsetsResponse>(ApiKey.ListOffsets, version, { replicaId: -1, isolationLevel, topics, timeoutMs: 1000 }, 5000);
  return r.topics.flatMap((t) => t.partitions);
}

const one = async (version: number, ask: Ask): Promise<ListOffsetsResponsePartitions> => (await listOffsets(version, [ask]))[0];

describe('ListOffsets', () => {
  test('ApiVersions advertises 0..10', async () => {
    const r = await conn.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }, 5000);
    expect(r.apiKeys.find((k) => k.apiKey === ApiKey.ListOffsets)).toMatchObject({ minVersion: 0, maxVersion: 10 });
  });

  test('v0: oldStyleOffsets are segment boundaries, newest first, at most maxNumOffsets', async () => {
    expect(segmentMtimes).toHaveLength(3);
    const v0 = async (timestamp: number, maxNumOffsets: number) => {
      const p = await one(0, { timestamp, maxNumOffsets });
      expect(p.errorCode).toBe(0);
      return p.oldStyleOffsets.map(Number);
    };
    expect(await v0(-1, 10)).toEqual([6, 4, 2, 0]); // the log end, then every segment's base offset
    expect(await v0(-1, 1)).toEqual([6]);
    expect(await v0(-1, 2)).toEqual([6, 4]);
    expect(await v0(-2, 10)).toEqual([0]);
    // By time: the last segment whose file was modified at or before the timestamp, and older ones.
    expect(await v0(Math.floor(segmentMtimes[1]) + 1, 10)).toEqual([2, 0]);
    expect(await v0(Math.floor(segmentMtimes[2]) + 1, 2)).toEqual([4, 2]);
    expect(await v0(1, 10)).toEqual([]); // 1970: nothing that old
    expect(await v0(-1, 0)).toEqual([]);
    expect((await one(0, { timestamp: -3, maxNumOffsets: 1 })).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect((await one(0, { timestamp: -1, maxNumOffsets: -1 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(await one(0, { timestamp: -1, partition: 7 })).toMatchObject({ partitionIndex: 7, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, oldStyleOffsets: [] });
    expect(await one(0, { timestamp: -1, maxNumOffsets: 5, topic: 'empty' })).toMatchObject({ errorCode: 0, oldStyleOffsets: [0] });
  });

  test('v1..v10: latest, earliest and lookups by time, field by field', async () => {
    for (let v = 1; v <= 10; v++) {
      const withEpoch = (epoch: number) => (v >= 4 ? epoch : -1); // decoded default below v4
      const got = async (timestamp: number) => {
        const p = await one(v, { timestamp });
        return [p.partitionIndex, p.errorCode, Number(p.offset), Number(p.timestamp), p.leaderEpoch];
      };
      expect(await got(-1), `v${v} latest`).toEqual([0, 0, 6, -1, withEpoch(0)]);
      expect(await got(-2), `v${v} earliest`).toEqual([0, 0, 0, -1, withEpoch(0)]);
      expect(await got(T - 5000), `v${v} before everything`).toEqual([0, 0, 0, T - 3000, withEpoch(0)]);
      expect(await got(T - 2995), `v${v} inside the first batch`).toEqual([0, 0, 1, T - 2990, withEpoch(0)]);
      // The first batch whose max timestamp reaches T-1500 is the second; inside it, its second record.
      expect(await got(T - 1500), `v${v} out of order`).toEqual([0, 0, 3, T + 3000, withEpoch(0)]);
      expect(await got(T + 4000), `v${v} after everything`).toEqual([0, 0, -1, -1, withEpoch(-1)]);
      // Special timestamps a version does not know yet.
      for (const special of [-3, -4, -5]) {
        const since = { [-3]: 7, [-4]: 8, [-5]: 9 }[special]!;
        if (v < since) expect((await one(v, { timestamp: special })).errorCode, `v${v} ${special}`).toBe(ErrorCode.UNSUPPORTED_VERSION);
      }
      expect((await one(v, { timestamp: -6 })).errorCode, `v${v} -6`).toBe(ErrorCode.UNSUPPORTED_VERSION);
      expect(await one(v, { timestamp: -1, partition: 3 })).toMatchObject({ partitionIndex: 3, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, offset: -1, timestamp: -1 });
      expect(await one(v, { timestamp: -1, topic: 'empty' })).toMatchObject({ errorCode: 0, offset: 0, timestamp: -1 });
    }
  });

  test('v7+ max timestamp, v8+ earliest local, v9+ latest tiered', async () => {
    for (let v = 7; v <= 10; v++) {
      expect(await one(v, { timestamp: -3 }), `v${v}`).toMatchObject({ errorCode: 0, offset: 3, timestamp: T + 3000, leaderEpoch: 0 });
      expect(await one(v, { timestamp: -3, topic: 'empty' })).toMatchObject({ errorCode: 0, offset: -1, timestamp: -1, leaderEpoch: -1 });
      if (v >= 8) expect(await one(v, { timestamp: -4 })).toMatchObject({ errorCode: 0, offset: 0, timestamp: -1, leaderEpoch: 0 });
      if (v >= 9) expect(await one(v, { timestamp: -5 })).toMatchObject({ errorCode: 0, offset: -1, timestamp: -1, leaderEpoch: -1 });
    }
  });

  test('v4+: the current leader epoch is checked (a single node is at epoch 0)', async () => {
    for (let v = 4; v <= 10; v++) {
      expect(await one(v, { timestamp: -1, currentLeaderEpoch: 0 })).toMatchObject({ errorCode: 0, offset: 6, leaderEpoch: 0 });
      expect(await one(v, { timestamp: -1, currentLeaderEpoch: 1 })).toMatchObject({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, offset: -1, timestamp: -1, leaderEpoch: -1 });
    }
    // Below v4 the field does not exist: whatever is set is not sent.
    expect(await one(3, { timestamp: -1, currentLeaderEpoch: 1 })).toMatchObject({ errorCode: 0, offset: 6 });
  });

  test('a partition named twice is refused both times (v1+); others still answer', async () => {
    for (const v of [1, 5, 10]) {
      const ps = await listOffsets(v, [{ timestamp: -1 }, { timestamp: -2 }, { timestamp: -1, partition: 1 }]);
      expect(ps.map((p) => p.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    }
  });

  test('read_committed answers like read_uncommitted (no transactions: the last stable offset is the high watermark)', async () => {
    expect((await listOffsets(5, [{ timestamp: -1 }], 1))[0]).toMatchObject({ errorCode: 0, offset: 6 });
  });
});

describe.runIf(hasKcat)('kcat -Q', () => {
  test('offsets by timestamp through librdkafka', async () => {
    const q = async (ts: number): Promise<string> => {
      const res = await runCommand('kcat', ['-b', broker.address, '-Q', '-t', `${TOPIC}:0:${ts}`], { timeoutMs: 30_000 });
      expect(res.code, res.stderr).toBe(0);
      return res.stdout.toString().trim();
    };
    expect(await q(T - 2995)).toMatch(new RegExp(`^${TOPIC} \\[0\\] offset 1$`));
    expect(await q(T - 1500)).toMatch(new RegExp(`^${TOPIC} \\[0\\] offset 3$`));
    expect(await q(-1)).toMatch(new RegExp(`^${TOPIC} \\[0\\] offset 6$`));
    expect(await q(-2)).toMatch(new RegExp(`^${TOPIC} \\[0\\] offset 0$`));
  });
});
