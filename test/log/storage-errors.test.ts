// Storage errors in retention leave the log consistent and serving; files retention could not delete are retried and
// never trip the next open. The failure is injected by replacing a file with a directory of the same name, which
// makes unlink/open fail (EISDIR) even for root.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../broker/protocol/errors.ts';
import { OfflineLog } from '../../broker/log/offline-log.ts';
import { DEFAULT_LOG_CONFIG } from '../../broker/log/partition-log.ts';
import { quarantineBytes, quarantineFile } from '../../broker/log/quarantine.ts';
import { buildBatch, DEFAULT_BASE_TIMESTAMP } from './batch-builder.ts';
import { cleanupTempDirs, openLog, readAll, segmentFiles, tempDir } from './util.ts';

afterEach(cleanupTempDirs);

const T0 = DEFAULT_BASE_TIMESTAMP;

/** Replaces a file with a directory of the same name: unlinking or opening it then fails, even as root. */
function makeUndeletable(file: string): void {
  fs.rmSync(file);
  fs.mkdirSync(file);
}

function storageErrorOf(fn: () => unknown): KafkaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    return err as KafkaError;
  }
  throw new Error('expected a storage error');
}

describe('retention meeting a storage error', () => {
  it('keeps the log serving reads and appends, retries the undeletable file, and deletes it once it can', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2048 });
    for (let i = 0; i < 40; i++) log.append(buildBatch({ count: 1, valueBytes: 200 }), 0);
    const segs = segmentFiles(dir);
    const oldest = path.join(dir, segs[0]);
    makeUndeletable(oldest);
    log.updateConfig({ ...log.config, retentionBytes: 3000 });

    const err = storageErrorOf(() => log.enforceRetention(T0 + 1000));
    expect(err.message).toMatch(/1 segment\(s\) below the log start could not be deleted/);
    // The log moved on regardless: the segments are out of it, the start is past them, reads and appends work.
    const start = log.logStartOffset;
    expect(start).toBeGreaterThan(0);
    expect(log.undeletedSegments).toBe(1);
    expect(segmentFiles(dir).length).toBeLessThan(segs.length);
    expect(readAll(log).length).toBe(log.logEndOffset - start);
    const appended = log.append(buildBatch({ count: 1, valueBytes: 200 }), 0);
    expect(appended.baseOffset).toBe(40);
    // Every later run reports it again (the timer logs and counts it) ...
    storageErrorOf(() => log.enforceRetention(T0 + 1000));
    // ... until the file can go.
    fs.rmdirSync(oldest);
    expect(log.enforceRetention(T0 + 1000)).toBeGreaterThanOrEqual(0);
    expect(log.undeletedSegments).toBe(0);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(segs[0].slice(0, 20)))).toEqual([]);
    await log.close();
  });

  it('a failed log-meta write leaves the log serving, and the next run succeeds', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2048, retentionBytes: 3000 });
    for (let i = 0; i < 40; i++) log.append(buildBatch({ count: 1, valueBytes: 200 }), 0);
    const before = segmentFiles(dir).length;
    fs.mkdirSync(path.join(dir, 'log-meta.json.tmp')); // the atomic write's temp file cannot be created
    storageErrorOf(() => log.enforceRetention(T0 + 1000));
    expect(segmentFiles(dir).length).toBe(before); // nothing deleted before the new start was durable
    expect(readAll(log).length).toBeGreaterThan(0);
    fs.rmdirSync(path.join(dir, 'log-meta.json.tmp'));
    expect(log.enforceRetention(T0 + 1000)).toBeGreaterThan(0);
    expect(segmentFiles(dir).length).toBeLessThan(before);
    await log.close();
  });

  it('a segment left below the log start is deleted on open without being scanned, or ignored if it cannot be', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2048 });
    for (let i = 0; i < 40; i++) log.append(buildBatch({ count: 1, valueBytes: 200 }), 0);
    const segs = segmentFiles(dir);
    makeUndeletable(path.join(dir, segs[0]));
    log.updateConfig({ ...log.config, retentionBytes: 3000 });
    storageErrorOf(() => log.enforceRetention(T0 + 1000));
    const start = log.logStartOffset;
    const end = log.logEndOffset;
    await log.close();

    // Still undeletable: the partition opens (the old code scanned it and failed with EISDIR) and skips it.
    const lines: string[] = [];
    const again = await openLog(dir, { segmentBytes: 2048 }, lines);
    expect([again.logStartOffset, again.logEndOffset]).toEqual([start, end]);
    expect(lines.join('\n')).toMatch(/segment 0 lies below logStartOffset \d+ but cannot be deleted/);
    expect(lines.join('\n')).not.toMatch(/recovering/); // the clean-shutdown checkpoint still holds for the rest
    expect(readAll(again).length).toBe(end - start);
    await again.close();

    // Deletable again: the next open deletes it.
    fs.rmdirSync(path.join(dir, segs[0]));
    fs.writeFileSync(path.join(dir, segs[0]), Buffer.alloc(100)); // junk: it is not even read
    const third = await openLog(dir, { segmentBytes: 2048 }, lines);
    expect(fs.existsSync(path.join(dir, segs[0]))).toBe(false);
    expect([third.logStartOffset, third.logEndOffset]).toEqual([start, end]);
    await third.close();
  });
});

describe('OfflineLog', () => {
  it('answers every data operation with KAFKA_STORAGE_ERROR naming the partition and the cause', () => {
    const off = new OfflineLog('/nowhere/t-1', DEFAULT_LOG_CONFIG, 't-1', 'EEXIST: file already exists');
    expect([off.logStartOffset, off.logEndOffset, off.sizeBytes, off.enforceRetention(0)]).toEqual([0, 0, 0, 0]);
    for (const op of [
      () => off.append(buildBatch(), 0),
      () => off.read(0, 100, true),
      () => off.offsetForTimestamp(0),
      () => off.deleteRecordsBefore(1),
      () => off.endOffsetForEpoch(0),
      () => off.appendAsFollower(buildBatch()),
    ]) {
      expect(storageErrorOf(op).message).toMatch(/partition t-1 is offline: .*EEXIST/);
    }
  });
});

describe('quarantine', () => {
  it('moves a file aside under a fresh name and never overwrites an earlier one', () => {
    const dir = path.dirname(tempDir());
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, 'first');
    const a = quarantineFile(file);
    fs.writeFileSync(file, 'second');
    const b = quarantineFile(file);
    const c = quarantineBytes(file, Buffer.from('third'));
    expect(new Set([a, b, c]).size).toBe(3);
    for (const f of [a, b, c]) expect(path.basename(f)).toMatch(/^state\.json\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z(-\d+)?$/);
    expect([a, b, c].map((f) => fs.readFileSync(f, 'utf8'))).toEqual(['first', 'second', 'third']);
    expect(fs.existsSync(file)).toBe(false);
  });
});
