import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../broker/protocol/errors.ts';
import type { PartitionLog } from '../../broker/log/partition-log.ts';
import { buildBatch } from './batch-builder.ts';
import { cleanupTempDirs, openLog, readAll, tempDir } from './util.ts';

afterEach(cleanupTempDirs);

const PID = 1000;

function produce(log: PartitionLog, seq: number, opts: { count?: number; epoch?: number; pid?: number } = {}) {
  const batch = buildBatch({
    count: opts.count ?? 2,
    valueBytes: 40,
    producerId: opts.pid ?? PID,
    producerEpoch: opts.epoch ?? 0,
    baseSequence: seq,
  });
  return log.append(batch, 0);
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

describe('idempotent producers', () => {
  it('answers a retry of any of the last 5 batches with its original offsets and writes nothing', async () => {
    const log = await openLog(tempDir());
    const results = [];
    for (let i = 0; i < 8; i++) results.push(produce(log, i * 2));
    const leo = log.logEndOffset;
    const size = log.sizeBytes;
    for (let i = 3; i < 8; i++) {
      const r = produce(log, i * 2);
      expect(r).toEqual({ baseOffset: results[i].baseOffset, lastOffset: results[i].lastOffset, logAppendTimeMs: -1, duplicate: true });
    }
    expect([log.logEndOffset, log.sizeBytes]).toEqual([leo, size]);
    // older than the last 5: no longer recognised, and out of sequence
    expect(codeOf(() => produce(log, 4))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(produce(log, 16).baseOffset).toBe(leo);
    await log.close();
  });

  it('rejects a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER (45)', async () => {
    const log = await openLog(tempDir());
    produce(log, 0);
    produce(log, 2);
    expect(codeOf(() => produce(log, 5))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(codeOf(() => produce(log, 3))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER); // overlaps a batch
    expect(produce(log, 4).duplicate).toBe(false);
    await log.close();
  });

  it('fences a stale epoch (47) and requires sequence 0 for a new epoch', async () => {
    const log = await openLog(tempDir());
    produce(log, 0, { epoch: 3 });
    expect(codeOf(() => produce(log, 2, { epoch: 2 }))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(codeOf(() => produce(log, 2, { epoch: 4 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(produce(log, 0, { epoch: 4 }).duplicate).toBe(false);
    expect(codeOf(() => produce(log, 2, { epoch: 3 }))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(produce(log, 2, { epoch: 4 }).duplicate).toBe(false);
    await log.close();
  });

  it('accepts an unknown producer at any sequence, tracks producers separately, wraps at int32', async () => {
    const log = await openLog(tempDir());
    expect(produce(log, 500, { pid: 1 }).duplicate).toBe(false);
    expect(produce(log, 0, { pid: 2 }).duplicate).toBe(false);
    expect(produce(log, 502, { pid: 1 }).duplicate).toBe(false);
    expect(produce(log, 0x7ffffffe, { pid: 3 }).duplicate).toBe(false); // covers 0x7ffffffe..0x7fffffff
    expect(produce(log, 0, { pid: 3 }).duplicate).toBe(false);
    expect(produce(log, 0, { pid: 3 }).duplicate).toBe(true);
    await log.close();
  });

  it('never deduplicates non-idempotent batches (librdkafka -1/-1/-1, kafkajs -1/0/0)', async () => {
    const log = await openLog(tempDir());
    for (let i = 0; i < 2; i++) {
      expect(log.append(buildBatch({ producerId: -1, producerEpoch: -1, baseSequence: -1 }), 0).duplicate).toBe(false);
      expect(log.append(buildBatch({ producerId: -1, producerEpoch: 0, baseSequence: 0 }), 0).duplicate).toBe(false);
    }
    expect(log.logEndOffset).toBe(4);
    await log.close();
  });

  it('rebuilds the state after a reopen without close (snapshot at roll + header replay)', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 1024 });
    const results = [];
    for (let i = 0; i < 30; i++) results.push(produce(log, i * 2));
    expect(fs.readdirSync(dir).some((f) => f.endsWith('.snapshot'))).toBe(true);
    // no close(): as after SIGKILL
    const lines: string[] = [];
    const again = await openLog(dir, { segmentBytes: 1024 }, lines);
    expect(lines.some((l) => /producer state rebuilt from snapshot \d+ \+ \d+ batches/.test(l))).toBe(true);
    expect(produce(again, 58)).toMatchObject({ baseOffset: results[29].baseOffset, duplicate: true });
    expect(codeOf(() => produce(again, 62))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(codeOf(() => produce(again, 0, { epoch: -1 }))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(produce(again, 60).duplicate).toBe(false);
    await again.close();
    // after a clean close the snapshot at the log end is used as is
    const lines2: string[] = [];
    const third = await openLog(dir, { segmentBytes: 1024 }, lines2);
    expect(lines2).toEqual([]);
    expect(produce(third, 60).duplicate).toBe(true);
    await third.close();
  });

  it('rebuilds from the log alone when every snapshot is gone', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 1024 });
    for (let i = 0; i < 20; i++) produce(log, i * 2);
    await log.close();
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.snapshot')) fs.rmSync(path.join(dir, f));
    const again = await openLog(dir, { segmentBytes: 1024 });
    expect(produce(again, 38).duplicate).toBe(true);
    await again.close();
  });

  it('forgets truncated batches: a retry after truncateTo is appended again', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 1024 });
    for (let i = 0; i < 20; i++) produce(log, i * 2);
    log.truncateTo(30); // keeps seq 0..29
    expect(log.logEndOffset).toBe(30);
    const r = produce(log, 30);
    expect(r).toMatchObject({ baseOffset: 30, duplicate: false });
    expect(produce(log, 28).duplicate).toBe(true);
    expect(readAll(log)).toHaveLength(16);
    await log.close();
  });

  it('bounds the number of tracked producers', async () => {
    const log = await openLog(tempDir(), { maxProducerIds: 3 });
    for (let pid = 1; pid <= 5; pid++) produce(log, 10, { pid });
    expect(log.producerStateSnapshot(1)).toBeUndefined();
    expect(log.producerStateSnapshot(2)).toBeUndefined();
    expect(log.producerStateSnapshot(5)?.batches).toHaveLength(1);
    // an evicted producer is unknown again: its retry is accepted as new data (documented trade-off)
    expect(produce(log, 10, { pid: 1 }).duplicate).toBe(false);
    await log.close();
  });
});
