import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../broker/protocol/errors.ts';
import { batchBaseOffset, buildBatch, DEFAULT_BASE_TIMESTAMP, splitBatches, withoutOffsetAndEpoch } from './batch-builder.ts';
import { cleanupTempDirs, openLog, readAll, segmentFiles, tempDir } from './util.ts';
import { validateProducedBatch } from '../../broker/log/record-batch.ts';

afterEach(cleanupTempDirs);

const T0 = DEFAULT_BASE_TIMESTAMP;

describe('PartitionLog append and read', () => {
  it('round-trips batches byte for byte except baseOffset and leader epoch', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    expect(fs.existsSync(dir)).toBe(true);
    expect([log.logStartOffset, log.logEndOffset, log.sizeBytes]).toEqual([0, 0, 0]);
    const sent: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const b = buildBatch({ count: 1 + (i % 4), valueBytes: 30 + i, baseTimestamp: T0 + i });
      sent.push(Buffer.from(b));
      const r = log.append(b, 3);
      expect(r.duplicate).toBe(false);
      expect(r.logAppendTimeMs).toBe(-1);
      expect(r.lastOffset - r.baseOffset).toBe(i % 4);
    }
    const stored = readAll(log);
    expect(stored).toHaveLength(20);
    let expectedBase = 0;
    for (let i = 0; i < 20; i++) {
      expect(withoutOffsetAndEpoch(stored[i]).equals(withoutOffsetAndEpoch(sent[i]))).toBe(true);
      expect(batchBaseOffset(stored[i])).toBe(expectedBase);
      expect(stored[i].readInt32BE(12)).toBe(3);
      expect(() => validateProducedBatch(stored[i], 1 << 20)).not.toThrow(); // CRC still valid
      expectedBase += (i % 4) + 1;
    }
    expect(log.logEndOffset).toBe(expectedBase);
    expect(log.sizeBytes).toBe(sent.reduce((n, b) => n + b.length, 0));
    await log.close();
  });

  it('reads from the middle of a batch: the whole containing batch comes back', async () => {
    const log = await openLog(tempDir());
    log.append(buildBatch({ count: 5 }), 0); // 0..4
    log.append(buildBatch({ count: 5 }), 0); // 5..9
    const r = log.read(7, 1 << 20, true);
    const batches = splitBatches(Buffer.concat(r.chunks));
    expect(batches.map(batchBaseOffset)).toEqual([5]);
    expect(splitBatches(Buffer.concat(log.read(3, 1 << 20, true).chunks)).map(batchBaseOffset)).toEqual([0, 5]);
    expect(log.read(10, 1000, true)).toEqual({ chunks: [], bytes: 0 });
    await log.close();
  });

  it('honours maxBytes with whole batches and minOneBatch (KIP-74)', async () => {
    const log = await openLog(tempDir(), { indexIntervalBytes: 100 });
    for (let i = 0; i < 10; i++) log.append(buildBatch({ count: 1, valueBytes: 200 }), 0);
    const one = buildBatch({ count: 1, valueBytes: 200 }).length;
    expect(log.read(0, one * 3 + 5, false).bytes).toBe(one * 3);
    expect(log.read(0, one * 3, true).bytes).toBe(one * 3);
    expect(log.read(4, one - 1, false).bytes).toBe(0);
    const forced = log.read(4, 10, true);
    expect(forced.bytes).toBe(one);
    expect(batchBaseOffset(forced.chunks[0])).toBe(4);
    // a batch far bigger than maxBytes and the index interval
    log.append(buildBatch({ count: 1, valueBytes: 50_000 }), 0);
    const big = log.read(10, 100, true);
    expect(big.bytes).toBeGreaterThan(50_000);
    expect(splitBatches(Buffer.concat(big.chunks))).toHaveLength(1);
    expect(log.read(0, 0, false).bytes).toBe(0);
    await log.close();
  });

  it('still finds the batch when the index is sparser than the configured interval', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 1 << 20, indexIntervalBytes: 1 << 30 }); // no index entries
    for (let i = 0; i < 300; i++) log.append(buildBatch({ count: 2, valueBytes: 100 }), 0);
    log.updateConfig({ ...log.config, indexIntervalBytes: 0 });
    for (const off of [0, 1, 299, 401, 598, 599]) {
      const r = log.read(off, 500, true);
      const first = splitBatches(Buffer.concat(r.chunks))[0];
      expect(batchBaseOffset(first)).toBe(off - (off % 2));
    }
    await log.close();
  });

  it('reads only up to maxOffset when given', async () => {
    const log = await openLog(tempDir());
    for (let i = 0; i < 5; i++) log.append(buildBatch({ count: 2 }), 0);
    expect(splitBatches(Buffer.concat(log.read(0, 1 << 20, true, 6).chunks)).map(batchBaseOffset)).toEqual([0, 2, 4]);
    expect(log.read(6, 1 << 20, true, 6).bytes).toBe(0);
    await log.close();
  });

  it('throws OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset]', async () => {
    const log = await openLog(tempDir());
    log.append(buildBatch({ count: 3 }), 0);
    for (const off of [-1, 4, 100]) {
      expect(() => log.read(off, 100, true)).toThrow(KafkaError);
      try {
        log.read(off, 100, true);
      } catch (e) {
        expect((e as KafkaError).code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
      }
    }
    expect(log.read(3, 100, true).bytes).toBe(0);
    await log.close();
  });

  it('rewrites LogAppendTime batches and keeps the CRC valid', async () => {
    const log = await openLog(tempDir(), { messageTimestampType: 'LogAppendTime' });
    const before = Date.now();
    const r = log.append(buildBatch({ count: 2 }), 0);
    expect(r.logAppendTimeMs).toBeGreaterThanOrEqual(before);
    const [stored] = readAll(log);
    expect(stored.readInt16BE(21) & 0x08).toBe(0x08);
    expect(Number(stored.readBigInt64BE(35))).toBe(r.logAppendTimeMs);
    expect(() => validateProducedBatch(stored, 1 << 20)).not.toThrow();
    await log.close();
  });
});

describe('segments', () => {
  it('rolls by size and serves reads across segments', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 4096 });
    const batch = () => buildBatch({ count: 2, valueBytes: 400 }); // ~900 bytes
    for (let i = 0; i < 20; i++) log.append(batch(), 0);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(4096);
    expect(files[0]).toBe('00000000000000000000.log');
    expect(files.every((f) => /^\d{20}\.log$/.test(f))).toBe(true);
    expect(readAll(log, 0, 100).map(batchBaseOffset)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    // sealed segments got their index files
    expect(segmentFiles(dir, '.index').length).toBeGreaterThanOrEqual(files.length - 1);
    // a batch larger than segmentBytes still goes in (alone in its segment)
    log.append(buildBatch({ count: 1, valueBytes: 10_000 }), 0);
    expect(log.logEndOffset).toBe(41);
    await log.close();
  });

  it('rolls by age (segment.ms, from the first batch timestamp)', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentMs: 1000 });
    log.append(buildBatch({ baseTimestamp: T0 }), 0);
    log.append(buildBatch({ baseTimestamp: T0 + 500 }), 0);
    expect(segmentFiles(dir)).toHaveLength(1);
    log.append(buildBatch({ baseTimestamp: T0 + 1500 }), 0);
    expect(segmentFiles(dir)).toEqual(['00000000000000000000.log', '00000000000000000002.log']);
    log.append(buildBatch({ baseTimestamp: T0 + 2000 }), 0);
    expect(segmentFiles(dir)).toHaveLength(2);
    await log.close();
  });

  it('reopens after a clean close with the same content, offsets and indexes', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const log = await openLog(dir, { segmentBytes: 8192 });
    for (let i = 0; i < 50; i++) log.append(buildBatch({ count: 3, valueBytes: 100, baseTimestamp: T0 + i * 10 }), 1);
    const before = readAll(log);
    const leo = log.logEndOffset;
    await log.close();
    expect(fs.existsSync(path.join(dir, 'clean-shutdown.json'))).toBe(true);
    const again = await openLog(dir, { segmentBytes: 8192 }, lines);
    expect(lines.filter((l) => /recover|truncat/.test(l))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'clean-shutdown.json'))).toBe(false);
    expect(again.logEndOffset).toBe(leo);
    expect(Buffer.concat(readAll(again)).equals(Buffer.concat(before))).toBe(true);
    expect(again.offsetForTimestamp(T0 + 255)?.offset).toBe(78);
    const r = again.append(buildBatch(), 0);
    expect(r.baseOffset).toBe(leo);
    await again.close();
    await expect(again.close()).resolves.toBeUndefined();
    expect(() => again.append(buildBatch(), 0)).toThrow(/closed/);
  });
});

describe('offsetForTimestamp', () => {
  it('finds the first batch whose maxTimestamp reaches the target, across segments', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 2048, indexIntervalBytes: 200 });
    // timestamps rise by 100 per batch, with one out-of-order batch
    const ts = [0, 100, 200, 300, 50, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200];
    for (const t of ts) log.append(buildBatch({ count: 2, valueBytes: 100, baseTimestamp: T0 + t }), 0);
    expect(log.offsetForTimestamp(T0 + 250)).toEqual({ offset: 6, timestampMs: T0 + 300 });
    expect(log.offsetForTimestamp(T0 + 300)).toEqual({ offset: 6, timestampMs: T0 + 300 });
    expect(log.offsetForTimestamp(T0 + 40)).toEqual({ offset: 2, timestampMs: T0 + 100 });
    expect(log.offsetForTimestamp(T0 - 5)).toEqual({ offset: 0, timestampMs: T0 });
    expect(log.offsetForTimestamp(T0 + 1150)).toEqual({ offset: 26, timestampMs: T0 + 1200 });
    expect(log.offsetForTimestamp(T0 + 1201)).toBeNull();
    await log.close();
  });

  it('returns the exact record inside an uncompressed batch', async () => {
    const log = await openLog(tempDir());
    log.append(buildBatch({ count: 10, timestampStep: 10 }), 0);
    expect(log.offsetForTimestamp(T0 + 35)).toEqual({ offset: 4, timestampMs: T0 + 40 });
    await log.close();
  });
});

describe('truncateTo', () => {
  it('drops batches at and after the offset, across segments, and keeps appending from there', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2048 });
    for (let i = 0; i < 30; i++) log.append(buildBatch({ count: 2, valueBytes: 100, baseTimestamp: T0 + i }), 0);
    const segsBefore = segmentFiles(dir).length;
    log.truncateTo(20);
    expect(log.logEndOffset).toBe(20);
    expect(segmentFiles(dir).length).toBeLessThan(segsBefore);
    expect(readAll(log).map(batchBaseOffset)).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    log.truncateTo(13); // inside batch 12..13: the whole batch goes
    expect(log.logEndOffset).toBe(12);
    expect(log.offsetForTimestamp(T0 + 5)).toEqual({ offset: 10, timestampMs: T0 + 5 });
    expect(log.offsetForTimestamp(T0 + 6)).toBeNull();
    expect(log.append(buildBatch({ baseTimestamp: T0 + 100 }), 1).baseOffset).toBe(12);
    await log.close();
    const again = await openLog(dir, { segmentBytes: 2048 });
    expect(again.logEndOffset).toBe(13);
    expect(readAll(again)).toHaveLength(7);
    again.truncateTo(0);
    expect([again.logStartOffset, again.logEndOffset, again.sizeBytes]).toEqual([0, 0, 0]);
    await again.close();
  });
});

describe('deleteRecordsBefore and retention', () => {
  it('advances logStartOffset, deletes whole segments below it, and survives reopen', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2048 });
    for (let i = 0; i < 40; i++) log.append(buildBatch({ count: 2, valueBytes: 100 }), 0);
    const segs = segmentFiles(dir).length;
    expect(log.deleteRecordsBefore(31)).toBe(31);
    expect(log.logStartOffset).toBe(31);
    expect(segmentFiles(dir).length).toBeLessThan(segs);
    expect(() => log.read(30, 1000, true)).toThrow(KafkaError);
    expect(batchBaseOffset(log.read(31, 1000, true).chunks[0])).toBe(30); // containing batch
    expect(log.deleteRecordsBefore(10)).toBe(31); // never backwards
    // unclean reopen (no close): logStartOffset was persisted when it changed
    const again = await openLog(dir, { segmentBytes: 2048 });
    expect(again.logStartOffset).toBe(31);
    expect(again.logEndOffset).toBe(80);
    expect(again.deleteRecordsBefore(1000)).toBe(80); // capped at the log end
    expect(segmentFiles(dir)).toEqual(['00000000000000000080.log']);
    expect(again.read(80, 100, true).bytes).toBe(0);
    expect(again.append(buildBatch(), 0).baseOffset).toBe(80);
    await again.close();
    const third = await openLog(dir, { segmentBytes: 2048 });
    expect([third.logStartOffset, third.logEndOffset]).toEqual([80, 81]);
    await third.close();
  });

  it('deletes the oldest non-active segments by retention.bytes', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2048 });
    for (let i = 0; i < 40; i++) log.append(buildBatch({ count: 1, valueBytes: 200 }), 0);
    const total = log.sizeBytes;
    const segs = segmentFiles(dir).length;
    expect(log.enforceRetention(T0 + 1000)).toBe(0); // retention.bytes unlimited, batches younger than 7 days
    log.updateConfig({ ...log.config, retentionBytes: 3000 });
    const deleted = log.enforceRetention(T0 + 1000);
    expect(deleted).toBeGreaterThan(0);
    expect(segmentFiles(dir).length).toBe(segs - deleted);
    expect(log.sizeBytes).toBeGreaterThanOrEqual(3000);
    expect(log.sizeBytes).toBeLessThan(3000 + 2048);
    expect(log.sizeBytes).toBeLessThan(total);
    expect(log.logStartOffset).toBe(Number(segmentFiles(dir)[0].slice(0, 20)));
    expect(readAll(log).length).toBeGreaterThan(0);
    await log.close();
  });

  it('deletes segments older than retention.ms, never the active one', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2048, retentionMs: 10_000 });
    for (let i = 0; i < 30; i++) log.append(buildBatch({ count: 1, valueBytes: 200, baseTimestamp: T0 + i * 1000 }), 0);
    const segs = segmentFiles(dir).length;
    expect(log.enforceRetention(T0 + 5000)).toBe(0);
    // now - newest > 10 s for segments whose batches are all before T0 + 15 s
    const deleted = log.enforceRetention(T0 + 25_000);
    expect(deleted).toBeGreaterThan(0);
    expect(log.offsetForTimestamp(0)!.timestampMs).toBeGreaterThan(T0 + 5000);
    expect(log.enforceRetention(T0 + 10_000_000)).toBe(segs - deleted - 1);
    expect(segmentFiles(dir)).toHaveLength(1);
    expect(log.logStartOffset).toBe(Number(segmentFiles(dir)[0].slice(0, 20)));
    await log.close();
  });

  it('deleteAll removes the directory', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    log.append(buildBatch(), 0);
    await log.deleteAll();
    expect(fs.existsSync(dir)).toBe(false);
  });
});
