import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../broker/protocol/errors.ts';
import type { PartitionLog } from '../../broker/log/partition-log.ts';
import { buildBatch, splitBatches } from './batch-builder.ts';
import { cleanupTempDirs, openLog, readAll, tempDir } from './util.ts';

afterEach(cleanupTempDirs);

const PID = 4242;
const SMALL_SEGMENTS = { segmentBytes: 2000, indexIntervalBytes: 300 };

function produce(log: PartitionLog, epoch: number, opts: { seq?: number; count?: number; pid?: number } = {}) {
  const idempotent = opts.seq !== undefined;
  const batch = buildBatch({
    count: opts.count ?? 3,
    valueBytes: 90,
    timestampStep: 5,
    producerId: idempotent ? (opts.pid ?? PID) : -1,
    producerEpoch: idempotent ? 0 : -1,
    baseSequence: idempotent ? opts.seq : -1,
  });
  return log.append(batch, epoch);
}

/** What a Fetch response for the follower's log end would carry (at most maxBytes, whole batches). */
function fetchFrom(leader: PartitionLog, offset: number, maxBytes = 1500): Buffer {
  return Buffer.concat(leader.read(offset, maxBytes, true).chunks);
}

/** Copies until the follower has everything, as a replica fetcher would. Returns the number of fetches. */
function replicate(leader: PartitionLog, follower: PartitionLog, maxBytes = 1500): number {
  let fetches = 0;
  while (follower.logEndOffset < leader.logEndOffset) {
    const r = follower.appendAsFollower(fetchFrom(leader, follower.logEndOffset, maxBytes));
    expect(r.appendedBatches).toBeGreaterThan(0);
    expect(r.lastOffset).toBe(follower.logEndOffset - 1);
    fetches++;
  }
  return fetches;
}

function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KafkaError);
    return (err as KafkaError).code;
  }
  throw new Error('expected a KafkaError');
}

/** A leader with epochs 0, 1 and 4, idempotent and plain batches, over several small segments. */
async function leaderLog(): Promise<PartitionLog> {
  const leader = await openLog(tempDir(), SMALL_SEGMENTS);
  for (let i = 0; i < 8; i++) produce(leader, 0, { seq: i * 3 });
  leader.assignLeaderEpoch(1);
  for (let i = 0; i < 6; i++) produce(leader, 1);
  leader.assignLeaderEpoch(4);
  for (let i = 8; i < 14; i++) produce(leader, 4, { seq: i * 3 });
  expect(leader.segmentCount).toBeGreaterThan(3);
  return leader;
}

const state = (log: PartitionLog) => ({
  start: log.logStartOffset,
  end: log.logEndOffset,
  bytes: log.sizeBytes,
  epochs: log.leaderEpochEntries(),
});

describe('follower append', () => {
  it('copies the leader byte for byte: offsets, epochs, segments, indexes and the epoch cache', async () => {
    const leader = await leaderLog();
    const follower = await openLog(tempDir(), SMALL_SEGMENTS);
    expect(replicate(leader, follower)).toBeGreaterThan(3);
    expect(state(follower)).toEqual(state(leader));
    expect(follower.segmentCount).toBe(leader.segmentCount);
    expect(readAll(follower)).toEqual(readAll(leader));
    for (const offset of [0, 5, 23, 30, 41, 59]) {
      expect(Buffer.concat(follower.read(offset, 700, true).chunks)).toEqual(Buffer.concat(leader.read(offset, 700, true).chunks));
    }
    for (const epoch of [0, 1, 2, 4]) expect(follower.endOffsetForEpoch(epoch)).toEqual(leader.endOffsetForEpoch(epoch));
    await follower.close();
    const reopened = await openLog(follower.dir, SMALL_SEGMENTS);
    expect(state(reopened)).toEqual(state(leader));
    expect(readAll(reopened)).toEqual(readAll(leader));
    await Promise.all([reopened.close(), leader.close()]);
  });

  it('skips a partial batch at the end of the records, whatever its length', async () => {
    const leader = await leaderLog();
    const whole = fetchFrom(leader, 0, 10_000);
    const batches = splitBatches(whole);
    for (const cut of [1, 20, 61, batches[2].length - 1]) {
      const follower = await openLog(tempDir());
      const records = whole.subarray(0, batches[0].length + batches[1].length + cut);
      expect(follower.appendAsFollower(records)).toEqual({ appendedBatches: 2, lastOffset: 5 });
      expect(follower.logEndOffset).toBe(6);
      expect(follower.appendAsFollower(whole.subarray(0, 30))).toEqual({ appendedBatches: 0, lastOffset: -1 }); // nothing whole
      expect(follower.appendAsFollower(Buffer.alloc(0))).toEqual({ appendedBatches: 0, lastOffset: -1 });
      await follower.close();
    }
    await leader.close();
  });

  it('rejects records that do not start at the log end, have gaps or a bad CRC, and then appends nothing', async () => {
    const leader = await leaderLog();
    const [b0, b1, b2, b3] = splitBatches(fetchFrom(leader, 0, 10_000));
    const follower = await openLog(tempDir());
    follower.appendAsFollower(b0);
    const before = state(follower);

    expect(codeOf(() => follower.appendAsFollower(Buffer.concat([b2, b3])))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE); // gap before
    expect(codeOf(() => follower.appendAsFollower(Buffer.concat([b0, b1])))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE); // overlap
    expect(codeOf(() => follower.appendAsFollower(Buffer.concat([b1, b3])))).toBe(ErrorCode.INVALID_RECORD); // gap inside
    const corrupt = Buffer.from(b2);
    corrupt[corrupt.length - 3] ^= 0xff;
    expect(codeOf(() => follower.appendAsFollower(Buffer.concat([b1, corrupt, b3])))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const badMagic = Buffer.from(b2);
    badMagic[16] = 1;
    expect(codeOf(() => follower.appendAsFollower(Buffer.concat([b1, badMagic])))).toBe(ErrorCode.INVALID_RECORD);
    const shortLength = Buffer.from(b2);
    shortLength.writeInt32BE(10, 8);
    expect(codeOf(() => follower.appendAsFollower(Buffer.concat([b1, shortLength])))).toBe(ErrorCode.INVALID_RECORD);
    expect(state(follower)).toEqual(before);

    expect(follower.appendAsFollower(Buffer.concat([b1, b2, b3])).appendedBatches).toBe(3);
    expect(readAll(follower)).toEqual([b0, b1, b2, b3]);
    await Promise.all([follower.close(), leader.close()]);
  });

  it('a promoted follower deduplicates idempotent retries exactly like the old leader', async () => {
    const leader = await leaderLog();
    const follower = await openLog(tempDir(), SMALL_SEGMENTS);
    replicate(leader, follower);
    expect(follower.producerStateSnapshot(PID)?.batches).toEqual(leader.producerStateSnapshot(PID)?.batches);

    // The producer retries its last batch (seq 39-41, at epoch 4) against the new leader.
    const leo = follower.logEndOffset;
    follower.assignLeaderEpoch(5);
    const original = leader.producerStateSnapshot(PID)!.batches.at(-1)!;
    const retry = produce(follower, 5, { seq: 39 });
    expect(retry).toMatchObject({ duplicate: true, baseOffset: original.baseOffset, lastOffset: original.lastOffset });
    expect(follower.logEndOffset).toBe(leo);
    expect(codeOf(() => produce(follower, 5, { seq: 45 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(produce(follower, 5, { seq: 42 })).toMatchObject({ duplicate: false, baseOffset: leo });

    // The same after the follower restarted (state rebuilt from its snapshots and batch headers).
    await follower.close();
    const reopened = await openLog(follower.dir, SMALL_SEGMENTS);
    expect(produce(reopened, 5, { seq: 42 })).toMatchObject({ duplicate: true, baseOffset: leo });
    expect(reopened.leaderEpochEntries().map((e) => e.epoch)).toEqual([0, 1, 4, 5]);
    await Promise.all([reopened.close(), leader.close()]);
  });

  it('truncates a divergent suffix found through the epoch caches, then converges (KIP-101)', async () => {
    // Both replicas hold epochs 0-1; the old leader (now follower) then wrote 3 batches at epoch 2 that were never
    // replicated, and the new leader wrote 4 different batches at epoch 3.
    const oldLeader = await openLog(tempDir(), SMALL_SEGMENTS);
    for (let i = 0; i < 4; i++) produce(oldLeader, 0, { seq: i * 3 });
    oldLeader.assignLeaderEpoch(1);
    for (let i = 0; i < 3; i++) produce(oldLeader, 1);
    const newLeader = await openLog(tempDir(), SMALL_SEGMENTS);
    replicate(oldLeader, newLeader);
    oldLeader.assignLeaderEpoch(2);
    for (let i = 0; i < 3; i++) produce(oldLeader, 2, { count: 1 });
    newLeader.assignLeaderEpoch(3);
    for (let i = 0; i < 4; i++) produce(newLeader, 3, { count: 2 });

    const follower = oldLeader;
    const asked = newLeader.endOffsetForEpoch(follower.latestEpoch()); // epoch 2 is unknown to the new leader
    expect(asked).toEqual({ leaderEpoch: 1, endOffset: 21 });
    const local = follower.endOffsetForEpoch(asked.leaderEpoch);
    follower.truncateTo(Math.min(asked.endOffset, local.endOffset));
    expect(follower.logEndOffset).toBe(21);
    expect(follower.leaderEpochEntries()).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 12 }]);
    replicate(newLeader, follower);
    expect(readAll(follower)).toEqual(readAll(newLeader));
    expect(state(follower)).toEqual(state(newLeader));
    await Promise.all([follower.close(), newLeader.close()]);
  });

  it('restarts at the leader\'s log start, also when it falls inside a batch', async () => {
    const leader = await leaderLog();
    leader.deleteRecordsBefore(25); // inside the batch 24-26
    const follower = await openLog(tempDir(), SMALL_SEGMENTS);
    for (let i = 0; i < 3; i++) produce(follower, 0, { seq: i * 3 }); // older data the leader has since deleted
    follower.truncateFullyAndStartAt(leader.logStartOffset);
    expect([follower.logStartOffset, follower.logEndOffset, follower.sizeBytes]).toEqual([25, 25, 0]);
    expect(follower.producerStateSnapshot(PID)).toBeUndefined();
    expect(follower.latestEpoch()).toBe(-1);

    const first = fetchFrom(leader, 25);
    expect(Number(first.readBigInt64BE(0))).toBe(24);
    expect(follower.appendAsFollower(first).appendedBatches).toBeGreaterThan(0);
    expect(follower.logStartOffset).toBe(25); // the batch is stored whole, the log start stays
    replicate(leader, follower);
    // Same offsets, epochs and batches; the leader still holds the rest of its first segment below offset 24.
    expect({ ...state(follower), bytes: 0 }).toEqual({ ...state(leader), bytes: 0 });
    expect(readAll(follower)).toEqual(readAll(leader));
    // A non-empty log never restarts: records below its end are refused.
    expect(codeOf(() => follower.appendAsFollower(fetchFrom(leader, 25)))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    await Promise.all([follower.close(), leader.close()]);
  });

  it('fsyncs what it wrote when fsyncOnAppend is set, across rolls', async () => {
    const leader = await leaderLog();
    const follower = await openLog(tempDir(), { ...SMALL_SEGMENTS, fsyncOnAppend: true });
    replicate(leader, follower, 10_000);
    expect(readAll(follower)).toEqual(readAll(leader));
    await Promise.all([follower.close(), leader.close()]);
  });
});
