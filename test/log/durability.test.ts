// The flush policy (recovery point advanced by rolls, flush.messages, flush.ms and close, and persisted in
// log-meta.json), the committed-offsets store under flush.ms, and the bound on open segment files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PartitionLog } from '../../broker/log/partition-log.ts';
import { FileOffsetStore } from '../../broker/group/file-offset-store.ts';
import { readMeta } from '../../broker/log/checkpoint.ts';
import { openFiles } from '../../broker/log/storage-open-files.ts';
import { NODE_STORAGE, setStorage } from '../../broker/log/storage.ts';
import { buildBatch } from './batch-builder.ts';
import { cleanupTempDirs, config, readAll, tempDir } from './util.ts';

afterAll(cleanupTempDirs);

const batch = (n = 1, valueBytes = 50): Buffer => buildBatch({ count: n, valueBytes });

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('flush policy', () => {
  it('page cache only: the recovery point moves at a roll, to the end of the flushed segment, and at close', async () => {
    const dir = tempDir();
    const log = await PartitionLog.open(dir, config({ segmentBytes: 1024 }));
    expect(log.recoveryPoint).toBe(0);
    log.append(batch(2), 0);
    expect(log.recoveryPoint).toBe(0); // acknowledged, in the page cache only
    while (log.segmentCount < 3) log.append(batch(2, 200), 0);
    const sealedEnd = log.logEndOffset - 2; // the batch that rolled is the only one in the active segment
    expect(log.recoveryPoint).toBe(sealedEnd);
    const meta = readMeta(dir)!;
    expect(meta.recoveryPoint).toBe(sealedEnd);
    expect(meta.sealed[meta.sealed.length - 1].nextOffset).toBeLessThanOrEqual(meta.recoveryPoint!);
    await log.close();
    expect(readMeta(dir)!.recoveryPoint).toBe(log.logEndOffset);
  });

  it('flush.messages: the append that reaches the count is flushed before it is acknowledged', async () => {
    const log = await PartitionLog.open(tempDir(), config({ flushMessages: 5 }));
    log.append(batch(2), 0);
    log.append(batch(2), 0);
    expect(log.recoveryPoint).toBe(0);
    log.append(batch(1), 0);
    expect(log.recoveryPoint).toBe(5);
    log.append(batch(3), 0);
    expect(log.recoveryPoint).toBe(5);
    await log.close();
  });

  it('fsync per append (--fsync true): every acknowledged append is below the recovery point', async () => {
    const log = await PartitionLog.open(tempDir(), config({ fsyncOnAppend: true, segmentBytes: 1024 }));
    for (let i = 0; i < 12; i++) {
      const r = log.append(batch(2, 100), 0);
      expect(log.recoveryPoint).toBe(r.lastOffset + 1);
    }
    expect(log.segmentCount).toBeGreaterThan(1);
    await log.close();
  });

  it('flush.ms: a timer flushes data that waits, even when no further append comes', async () => {
    const log = await PartitionLog.open(tempDir(), config({ flushMs: 100 }));
    log.append(batch(3), 0);
    expect(log.recoveryPoint).toBe(0);
    await until(() => log.recoveryPoint === 3, 'the flush.ms timer');
    await log.close();
  });

  it('committed offsets under flush.ms are flushed by a timer; under fsync before the commit resolves', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-offsets-flush-'));
    try {
      const timed = new FileOffsetStore(path.join(root, 'a'), { flushMs: 100 });
      await timed.load();
      await timed.commit('g', [{ topic: 't', partition: 0, offset: 7, leaderEpoch: 0, metadata: null, commitTimestampMs: 0 }]);
      expect(timed.unflushedRecordCount).toBe(1);
      await until(() => timed.unflushedRecordCount === 0, 'the offsets flush.ms timer');
      await timed.close();
      const synced = new FileOffsetStore(path.join(root, 'b'), { fsync: true });
      await synced.load();
      await synced.commit('g', [{ topic: 't', partition: 0, offset: 7, leaderEpoch: 0, metadata: null, commitTimestampMs: 0 }]);
      expect(synced.unflushedRecordCount).toBe(0);
      await synced.close();
      expect(() => new FileOffsetStore(root, { flushMessages: 0 })).toThrow(/flushMessages/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('open file bound', () => {
  it('many partitions under a low --max-open-files: descriptors stay under the bound, every log stays readable and writable', async () => {
    const openFds = (): number => fs.readdirSync('/proc/self/fd').length;
    const limit = 16;
    const before = openFds();
    const previous = openFiles.limit;
    openFiles.setLimit(limit);
    // This test is about descriptors: fsyncs (slow on a busy disk) are skipped, every other call is node:fs.
    const prevStorage = setStorage({ ...NODE_STORAGE, fsync: () => {}, fdatasync: () => {}, fsyncDir: () => {} });
    const logs: PartitionLog[] = [];
    try {
      const root = path.dirname(tempDir());
      for (let p = 0; p < 120; p++) {
        const log = await PartitionLog.open(path.join(root, `t-${p}`), config({ segmentBytes: 1024 }));
        logs.push(log);
        for (let i = 0; i < 4; i++) log.append(batch(2, 200), 0); // rolls: several segments each
        expect(openFds() - before).toBeLessThanOrEqual(limit);
      }
      // Reads of old segments in every partition, then appends again: all through reopened descriptors.
      for (const log of logs) {
        expect(log.segmentCount).toBeGreaterThan(1);
        expect(readAll(log)).toHaveLength(4);
        log.append(batch(1), 0);
        expect(openFds() - before).toBeLessThanOrEqual(limit);
      }
      expect(openFiles.count).toBeLessThanOrEqual(limit);
      for (const log of logs) expect(readAll(log).length).toBe(5);
    } finally {
      for (const log of logs) await log.close();
      openFiles.setLimit(previous);
      setStorage(prevStorage);
    }
    expect(openFds()).toBeLessThanOrEqual(before);
  });
});
