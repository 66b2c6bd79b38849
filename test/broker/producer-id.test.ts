// Producer ids (issue 15): InitProducerId no longer bumps the epoch of any id it is given, and
// Produce refuses ids nobody here handed out, so sprayed ids cannot evict real producers' state.
// Against a real broker over the wire, plus the allocator's own guarantees across restarts and nodes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { ProducerIdAllocator, PRODUCER_ID_NODE_SLOTS } from '../../broker/producer-ids.ts';
import { PeerConnection } from '../../broker/cluster/replica/peer-connection.ts';
import { ApiKey, type InitProducerIdResponse, type ProduceResponse } from '../../broker/protocol/generated/index.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import { encodeRecordBatch } from '../helpers/kafka-wire.ts';
import { Kafka, logLevel } from 'kafkajs';

const TOPIC = 'pids';
/** An id of this broker's own range far beyond anything it handed out: never issued, whatever the key. */
const FORGED = 1_000_000 * PRODUCER_ID_NODE_SLOTS * 65_536;
let dir: string;
let broker: RunningBroker;
let conn: PeerConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'untangle-pids-'));
  // Room for 5 producers per partition, so a spray of 50 ids would evict a real one.
  broker = await startBroker({ dataDir: dir, port: 0, host: '127.0.0.1', log: { maxProducerIds: 5 } });
  const admin = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
  await admin.disconnect();
  conn = new PeerConnection({ host: '127.0.0.1', port: broker.port, clientId: 'pid-test', maxFrameBytes: 16 * 1024 * 1024, connectTimeoutMs: 2000 });
}, 30_000);

afterAll(async () => {
  conn?.close();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

const init = (producerId: number, producerEpoch: number, version = 4) =>
  conn.request<InitProducerIdResponse>(ApiKey.InitProducerId, version, { transactionalId: null, transactionTimeoutMs: 60_000, producerId, producerEpoch }, 5000);

async function produce(producerId: number, producerEpoch: number, baseSequence: number, value = 'v'): Promise<{ errorCode: number; baseOffset: number }> {
  const records = encodeRecordBatch([{ key: null, value }], { producerId: BigInt(producerId), producerEpoch, baseSequence });
  const r = await conn.request<ProduceResponse>(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] }, 5000);
  const p = r.responses[0].partitionResponses[0];
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

describe('InitProducerId', () => {
  test('hands out a fresh id at epoch 0 whatever id and epoch are named (as Kafka without a transactional id), so asking never fences', async () => {
    const first = await init(-1, -1);
    expect(first).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 0 });
    const id = Number(first.producerId);
    expect(id).toBeGreaterThan(0);
    // Named both or neither, at every version (@platformatic/kafka names 0/0 on its first request).
    expect(await init(id, -1)).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1 });
    expect(await init(-1, 0)).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1 });
    // The producer writes at epoch 3 (clients may bump locally).
    expect((await produce(id, 3, 0)).errorCode).toBe(ErrorCode.NONE);
    // The audit's finding: naming an id bumped its epoch, so anyone could fence its producer. Now every answer is a
    // fresh id at epoch 0: a zombie at an old epoch, a made-up id and a 0/0 first request alike.
    const answers = [await init(id, 1), await init(id, 1, 3), await init(FORGED, 0), await init(0, 0, 5), await init(id, 3)];
    for (const a of answers) expect(a).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 0 });
    const ids = answers.map((a) => Number(a.producerId));
    expect(new Set([id, ...ids]).size).toBe(ids.length + 1);
    // The owner carries on at its epoch.
    expect((await produce(id, 3, 1)).errorCode).toBe(ErrorCode.NONE);
  });

  test('Produce refuses made-up ids, so spraying them cannot evict a real producer', async () => {
    const { producerId } = await init(-1, -1);
    const id = Number(producerId);
    const original = await produce(id, 0, 0, 'once');
    expect(original.errorCode).toBe(ErrorCode.NONE);
    for (let i = 0; i < 50; i++) expect((await produce(FORGED + i * 65_536, 0, 0, 'spray')).errorCode).toBe(ErrorCode.UNKNOWN_PRODUCER_ID);
    // The retry of the real producer's batch is still recognised: answered with its original offset.
    expect(await produce(id, 0, 0, 'once')).toEqual({ errorCode: ErrorCode.NONE, baseOffset: original.baseOffset });
  });
});

describe('ProducerIdAllocator', () => {
  test('accepts its own ids across a restart and its cluster peers\' ids, nothing else', () => {
    const d = mkdtempSync(join(tmpdir(), 'untangle-pid-alloc-'));
    try {
      const a = new ProducerIdAllocator(join(d, 'a.json'), 10);
      const ids = Array.from({ length: 25 }, () => a.allocate());
      expect(new Set(ids).size).toBe(25);
      for (const id of ids) expect(Number.isSafeInteger(id) && a.isIssued(id)).toBe(true);
      const reopened = new ProducerIdAllocator(join(d, 'a.json'), 10);
      for (const id of ids) expect(reopened.isIssued(id)).toBe(true);
      expect(ids.every((id) => !reopened.isIssued(id + 1) || !reopened.isIssued(id + 2))).toBe(true);
      expect(reopened.isIssued(FORGED)).toBe(false);
      expect(ids.filter((id) => new ProducerIdAllocator(join(d, 'other.json'), 10).isIssued(id)).length).toBeLessThan(3);

      const secret = Buffer.alloc(32, 7);
      const n1 = new ProducerIdAllocator(join(d, 'n1.json'), 10, 1, secret);
      const n2 = new ProducerIdAllocator(join(d, 'n2.json'), 10, 2, secret);
      const stranger = new ProducerIdAllocator(join(d, 'n3.json'), 10, 3, Buffer.alloc(32, 8));
      const fromN1 = Array.from({ length: 20 }, () => n1.allocate());
      expect(fromN1.every((id) => n2.isIssued(id))).toBe(true);
      expect(fromN1.filter((id) => stranger.isIssued(id)).length).toBeLessThan(3);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
