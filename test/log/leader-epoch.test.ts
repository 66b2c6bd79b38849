import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PartitionLog } from '../../broker/log/partition-log.ts';
import { LEADER_EPOCH_FILE, LeaderEpochCache } from '../../broker/log/leader-epoch-cache.ts';
import { buildBatch } from './batch-builder.ts';
import { cleanupTempDirs, openLog, readAll, segmentFiles, tempDir } from './util.ts';

afterEach(cleanupTempDirs);

/** Appends `n` batches of `count` records as leader at `epoch`; returns the base offset of the first. */
function produce(log: PartitionLog, epoch: number, n = 1, count = 2): number {
  const first = log.logEndOffset;
  for (let i = 0; i < n; i++) log.append(buildBatch({ count, valueBytes: 100 }), epoch);
  return first;
}

const entries = (log: PartitionLog) => log.leaderEpochEntries().map((e) => [e.epoch, e.startOffset]);
const checkpoint = (dir: string) => fs.readFileSync(path.join(dir, LEADER_EPOCH_FILE), 'utf8');

/** Epochs 0 (offsets 0-5), 2 (6-11) and 5 (12-17), with segments of a few batches each. */
async function threeEpochs(dir: string): Promise<PartitionLog> {
  const log = await openLog(dir, { segmentBytes: 700 });
  produce(log, 0, 3);
  log.assignLeaderEpoch(2);
  produce(log, 2, 3);
  log.assignLeaderEpoch(5);
  produce(log, 5, 3);
  expect(entries(log)).toEqual([[0, 0], [2, 6], [5, 12]]);
  expect(log.segmentCount).toBeGreaterThan(2);
  return log;
}

describe('leader epoch cache', () => {
  it('answers OffsetForLeaderEpoch like Kafka', async () => {
    const log = await threeEpochs(tempDir());
    expect(log.latestEpoch()).toBe(5);
    const answer = (e: number) => log.endOffsetForEpoch(e);
    expect(answer(0)).toEqual({ leaderEpoch: 0, endOffset: 6 });
    expect(answer(1)).toEqual({ leaderEpoch: 0, endOffset: 6 }); // largest epoch <= 1, ends where epoch 2 starts
    expect(answer(2)).toEqual({ leaderEpoch: 2, endOffset: 12 });
    expect(answer(4)).toEqual({ leaderEpoch: 2, endOffset: 12 });
    expect(answer(5)).toEqual({ leaderEpoch: 5, endOffset: 18 }); // the latest epoch ends at the log end
    expect(answer(6)).toEqual({ leaderEpoch: -1, endOffset: -1 }); // newer than every epoch: undefined
    expect(answer(-1)).toEqual({ leaderEpoch: -1, endOffset: -1 });
    await log.close();
  });

  it('is empty for a new log; appends add an entry only for a newer epoch', async () => {
    const log = await openLog(tempDir());
    expect(log.latestEpoch()).toBe(-1);
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: -1, endOffset: -1 });
    produce(log, 3, 2);
    produce(log, 1); // older epoch (a misbehaving caller): no entry, the cache stays monotonic
    produce(log, 3);
    produce(log, 4);
    expect(entries(log)).toEqual([[3, 0], [4, 8]]);
    // Below every cached epoch: Kafka answers the requested epoch and the first known start offset.
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 0 });
    await log.close();
  });

  it('assignLeaderEpoch records the log end; an epoch that never appended is replaced by the next one', async () => {
    const log = await openLog(tempDir());
    produce(log, 0, 2);
    log.assignLeaderEpoch(1);
    log.assignLeaderEpoch(1); // same epoch again: no change
    log.assignLeaderEpoch(0); // older: ignored
    expect(entries(log)).toEqual([[0, 0], [1, 4]]);
    expect(log.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 4 });
    log.assignLeaderEpoch(3);
    expect(entries(log)).toEqual([[0, 0], [3, 4]]);
    expect(log.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 0, endOffset: 4 });
    produce(log, 3);
    expect(log.endOffsetForEpoch(3)).toEqual({ leaderEpoch: 3, endOffset: 6 });
    await log.close();
  });

  it('persists every change in Kafka\'s checkpoint format and reloads it after a clean or unclean stop', async () => {
    const dir = tempDir();
    const log = await threeEpochs(dir);
    expect(checkpoint(dir)).toBe('0\n3\n0 0\n2 6\n5 12\n');
    log.assignLeaderEpoch(7); // not in any batch: only the checkpoint knows it
    expect(checkpoint(dir)).toBe('0\n4\n0 0\n2 6\n5 12\n7 18\n');
    await log.close();
    const reopened = await openLog(dir);
    expect(entries(reopened)).toEqual([[0, 0], [2, 6], [5, 12], [7, 18]]);
    reopened.assignLeaderEpoch(8);
    // no close(): the next open recovers, and the checkpoint written at the change is what it finds
    const recovered = await openLog(dir);
    expect(entries(recovered)).toEqual([[0, 0], [2, 6], [5, 12], [8, 18]]);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await recovered.close();
  });

  it('rebuilds a missing or corrupt checkpoint from the batch headers', async () => {
    const dir = tempDir();
    const log = await threeEpochs(dir);
    const bytes = readAll(log);
    fs.rmSync(path.join(dir, LEADER_EPOCH_FILE)); // e.g. a crash before the first checkpoint was written
    const lines: string[] = [];
    const rebuilt = await openLog(dir, {}, lines);
    expect(entries(rebuilt)).toEqual([[0, 0], [2, 6], [5, 12]]);
    expect(lines.join('\n')).toMatch(/leader-epoch-checkpoint missing; rebuilt from 9 batch headers \(3 epochs\)/);
    expect(checkpoint(dir)).toBe('0\n3\n0 0\n2 6\n5 12\n');
    expect(readAll(rebuilt)).toEqual(bytes);
    await rebuilt.close();

    for (const garbage of ['', 'junk', '0\n2\n0 0\n', '0\n2\n2 6\n0 0\n', '1\n1\n0 0\n', '0\n1\n0 -4\n']) {
      fs.writeFileSync(path.join(dir, LEADER_EPOCH_FILE), garbage);
      const again: string[] = [];
      const reopened = await openLog(dir, {}, again);
      expect(entries(reopened), JSON.stringify(garbage)).toEqual([[0, 0], [2, 6], [5, 12]]);
      expect(again.join('\n')).toMatch(/unreadable; rebuilt/);
      await reopened.close();
    }
  });

  it('recovery drops the entries that start beyond the recovered log end', async () => {
    const dir = tempDir();
    await threeEpochs(dir); // segments of 2 batches (4 offsets): 0-3, 4-7, 8-11, 12-15, 16-17
    // SIGKILL-like (no close), and the data from offset 8 on is lost; the checkpoint still lists epoch 5 at 12.
    for (const f of segmentFiles(dir).slice(2)) fs.rmSync(path.join(dir, f));
    const recovered = await openLog(dir);
    expect(recovered.logEndOffset).toBe(8);
    expect(entries(recovered)).toEqual([[0, 0], [2, 6]]);
    expect(recovered.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 8 });
    expect(checkpoint(dir)).toBe('0\n2\n0 0\n2 6\n');
    await recovered.close();
  });

  it('truncateTo drops the epochs starting at or after the new log end', async () => {
    const dir = tempDir();
    const log = await threeEpochs(dir);
    log.truncateTo(13); // inside the first epoch-5 batch (12-13): the whole batch goes
    expect(log.logEndOffset).toBe(12);
    expect(entries(log)).toEqual([[0, 0], [2, 6]]);
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 12 });
    log.truncateTo(7);
    expect(log.logEndOffset).toBe(6);
    expect(entries(log)).toEqual([[0, 0]]);
    // An epoch assigned at the log end that never appended goes even when there is nothing to cut (as in Kafka).
    log.assignLeaderEpoch(9);
    log.truncateTo(100);
    expect(entries(log)).toEqual([[0, 0]]);
    await log.close();
    expect(entries(await openLog(dir))).toEqual([[0, 0]]);
  });

  it('DeleteRecords and retention keep the epoch covering the new log start, moved up to it', async () => {
    const dir = tempDir();
    const log = await threeEpochs(dir);
    expect(log.deleteRecordsBefore(3)).toBe(3);
    expect(entries(log)).toEqual([[0, 3], [2, 6], [5, 12]]);
    expect(log.deleteRecordsBefore(9)).toBe(9);
    expect(entries(log)).toEqual([[2, 9], [5, 12]]);
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 9 }); // older history is gone
    expect(log.deleteRecordsBefore(12)).toBe(12);
    expect(entries(log)).toEqual([[5, 12]]); // starts exactly at the log start: nothing to move
    await log.close();
    expect(entries(await openLog(dir))).toEqual([[5, 12]]);

    const dir2 = tempDir();
    const log2 = await threeEpochs(dir2);
    await log2.close();
    const retained = await openLog(dir2, { segmentBytes: 700, retentionBytes: 1300, retentionMs: -1 });
    // 2547 bytes in segments of 566, 566, 566, 566, 283: the first two go, so the log starts inside epoch 2
    expect(retained.enforceRetention(Date.now())).toBe(2);
    expect(retained.logStartOffset).toBe(8);
    expect(entries(retained)).toEqual([[2, 8], [5, 12]]);
    await retained.close();
  });

  it('truncateFullyAndStartAt empties the cache', async () => {
    const dir = tempDir();
    const log = await threeEpochs(dir);
    log.truncateFullyAndStartAt(40);
    expect([log.logStartOffset, log.logEndOffset, log.sizeBytes, log.latestEpoch()]).toEqual([40, 40, 0, -1]);
    expect(checkpoint(dir)).toBe('0\n0\n');
    produce(log, 6);
    expect(entries(log)).toEqual([[6, 40]]);
    await log.close();
    const reopened = await openLog(dir);
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([40, 42]);
    expect(entries(reopened)).toEqual([[6, 40]]);
    await reopened.close();
  });

  it('follower batches rewrite the entries the leader\'s log contradicts', async () => {
    const dir = tempDir();
    await (await openLog(dir)).close();
    const cache = LeaderEpochCache.open(dir, [], 0, 0, () => {});
    const list = () => cache.list().map((e) => [e.epoch, e.startOffset]);
    for (const [epoch, start] of [[1, 0], [1, 5], [3, 10], [7, 20]]) cache.assignFromLeader(epoch, start);
    expect(list()).toEqual([[1, 0], [3, 10], [7, 20]]);
    expect(cache.assignFromLeader(7, 25)).toBe(false); // same epoch, later batch
    expect(cache.assignFromLeader(-1, 30)).toBe(false); // no epoch in the batch
    expect(cache.assignFromLeader(5, 20)).toBe(true); // epoch 7 never really started at 20
    expect(list()).toEqual([[1, 0], [3, 10], [5, 20]]);
    expect(cache.assignFromLeader(5, 15)).toBe(true); // the latest epoch starts earlier than cached
    expect(list()).toEqual([[1, 0], [3, 10], [5, 15]]);
    expect(cache.assignFromLeader(2, 8)).toBe(true);
    expect(list()).toEqual([[1, 0], [2, 8]]);
  });
});
