// OffsetForLeaderEpoch (API 23) against a real broker over TCP, with requests built by the generated codec; plus the
// epoch fencing of the handler, which a single node (always at epoch 0) cannot show on the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../broker/index.ts';
import { decodeResponseFrame, encodeRequest } from '../../broker/protocol/frame.ts';
import { ErrorCode } from '../../broker/protocol/errors.ts';
import type {
  ApiVersionsResponse,
  CreateTopicsResponse,
  OffsetForLeaderEpochResponse,
  ProduceResponse,
} from '../../broker/protocol/generated/index.ts';
import { handleOffsetForLeaderEpoch } from '../../broker/server/handlers/leader-epoch.ts';
import type { RequestContext } from '../../broker/server/context.ts';
import { buildBatch } from '../log/batch-builder.ts';

const TOPIC = 'epochs';
let broker: RunningBroker;
let dataDir: string;
let socket: Socket;
let correlationId = 0;

async function start(): Promise<void> {
  broker = await startBroker({ port: 0, dataDir, host: '127.0.0.1', autoCreateTopics: false });
  socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(broker.port, broker.host, () => resolve(s));
    s.once('error', reject);
  });
}

async function stop(): Promise<void> {
  socket?.destroy();
  await broker?.close();
}

/** Sends one request and decodes the response of the same API and version. */
function call<T>(apiKey: number, version: number, body: object): Promise<T> {
  const id = ++correlationId;
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buffered = Buffer.concat([buffered, d]);
      if (buffered.length < 4 || buffered.length < 4 + buffered.readInt32BE(0)) return;
      socket.off('data', onData);
      const { correlationId: got, body: decoded } = decodeResponseFrame<T>(apiKey, version, buffered.subarray(0, 4 + buffered.readInt32BE(0)));
      if (got !== id) reject(new Error(`correlation id ${got}, expected ${id}`));
      else resolve(decoded);
    };
    socket.on('data', onData);
    socket.write(encodeRequest(apiKey, version, id, 'leader-epoch-test', body));
  });
}

interface Ask {
  topic?: string;
  partition?: number;
  leaderEpoch: number;
  currentLeaderEpoch?: number;
}

/** One OffsetForLeaderEpoch partition answer as [errorCode, leaderEpoch, endOffset]. */
async function ask(version: number, q: Ask): Promise<[number, number, number]> {
  const body = {
    replicaId: -1,
    topics: [{ topic: q.topic ?? TOPIC, partitions: [{ partition: q.partition ?? 0, currentLeaderEpoch: q.currentLeaderEpoch ?? -1, leaderEpoch: q.leaderEpoch }] }],
  };
  const r = await call<OffsetForLeaderEpochResponse>(23, version, body);
  expect(r.topics.map((t) => t.topic)).toEqual([q.topic ?? TOPIC]);
  const p = r.topics[0].partitions[0];
  expect(p.partition).toBe(q.partition ?? 0);
  return [p.errorCode, p.leaderEpoch, p.endOffset];
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'untangle-epoch-'));
  await start();
  const created = await call<CreateTopicsResponse>(19, 4, {
    topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics[0].errorCode).toBe(0);
  for (const count of [3, 4]) {
    const produced = await call<ProduceResponse>(0, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatch({ count }) }] }],
    });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(0);
  }
});

afterAll(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('OffsetForLeaderEpoch on a single node (epoch 0)', () => {
  it('is advertised as v2-v4', async () => {
    const r = await call<ApiVersionsResponse>(18, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    expect(r.apiKeys.find((k) => k.apiKey === 23)).toMatchObject({ minVersion: 2, maxVersion: 4 });
  });

  it.each([2, 3, 4])('v%i answers the end offset of the requested epoch and checks the current epoch', async (v) => {
    expect(await ask(v, { leaderEpoch: 0, currentLeaderEpoch: 0 })).toEqual([0, 0, 7]);
    expect(await ask(v, { leaderEpoch: 0 })).toEqual([0, 0, 7]); // no current epoch (-1): not checked
    expect(await ask(v, { leaderEpoch: 0, currentLeaderEpoch: 1 })).toEqual([ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1]);
    expect(await ask(v, { leaderEpoch: 3, currentLeaderEpoch: 0 })).toEqual([0, -1, -1]); // newer than any epoch
    expect(await ask(v, { leaderEpoch: 0, partition: 2 })).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1]);
    expect(await ask(v, { leaderEpoch: 0, topic: 'nope' })).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1]);
  });

  it('answers several topics and partitions in one request, and the same after a restart', async () => {
    const body = {
      replicaId: -1,
      topics: [
        { topic: TOPIC, partitions: [0, 1, 5].map((partition) => ({ partition, currentLeaderEpoch: 0, leaderEpoch: 0 })) },
        { topic: 'other', partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] },
      ],
    };
    const summary = (r: OffsetForLeaderEpochResponse) =>
      r.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p.partition}:${p.errorCode}/${p.leaderEpoch}/${p.endOffset}`));
    const expected = ['epochs-0:0/0/7', 'epochs-1:0/-1/-1', 'epochs-5:3/-1/-1', 'other-0:3/-1/-1'];
    expect(summary(await call<OffsetForLeaderEpochResponse>(23, 4, body))).toEqual(expected);
    await stop();
    await start();
    expect(summary(await call<OffsetForLeaderEpochResponse>(23, 3, body))).toEqual(expected);
  });
});

describe('OffsetForLeaderEpoch handler', () => {
  // A replicated partition at leader epoch 3 whose log knows epochs 1 (from 0) and 3 (from 10), log end 15.
  const log = {
    endOffsetForEpoch: (e: number) => (e === 3 ? { leaderEpoch: 3, endOffset: 15 } : e >= 1 && e < 3 ? { leaderEpoch: 1, endOffset: 10 } : { leaderEpoch: -1, endOffset: -1 }),
  };
  // No ACLs here (--authorizer none allows everything): this exercises the epoch rules only.
  const ctxFor = (partition: object) => ({ topics: { partition: (t: string, i: number) => (t === 't' && i === 0 ? partition : undefined) }, authorizer: { enabled: false } }) as unknown as RequestContext;
  const run = (ctx: RequestContext, currentLeaderEpoch: number, leaderEpoch: number) => {
    const p = handleOffsetForLeaderEpoch({ replicaId: 2, topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] }, ctx).topics[0].partitions[0];
    return [p.errorCode, p.leaderEpoch, p.endOffset];
  };

  it('fences an older current epoch, refuses a newer one, and answers only as leader', () => {
    const leader = ctxFor({ log, leaderEpoch: 3, isLeader: true });
    expect(run(leader, 3, 2)).toEqual([0, 1, 10]);
    expect(run(leader, -1, 3)).toEqual([0, 3, 15]);
    expect(run(leader, 2, 2)).toEqual([ErrorCode.FENCED_LEADER_EPOCH, -1, -1]);
    expect(run(leader, 4, 2)).toEqual([ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1]);
    const follower = ctxFor({ log, leaderEpoch: 3, isLeader: false });
    expect(run(follower, 3, 2)).toEqual([ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1]);
    expect(run(follower, 2, 2)).toEqual([ErrorCode.FENCED_LEADER_EPOCH, -1, -1]); // the epoch is checked first, as in Kafka
  });
});
