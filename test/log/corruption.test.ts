// Corruption found while serving (issue 15): a flipped base-offset byte and a flipped value byte in a trusted segment
// are never served, the partition goes offline (KAFKA_STORAGE_ERROR) and the next open cuts the damage to quarantine;
// a plausible but wrong offset index entry is repaired from the log; the scrubber finds rot nobody reads. Real files
// on disk, real PartitionLogs.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../broker/protocol/errors.ts';
import { corruptionCounts, RECOVER_FROM_FILE } from '../../broker/log/corruption.ts';
import { Scrubber } from '../../broker/log/scrubber.ts';
import type { PartitionLog } from '../../broker/log/partition-log.ts';
import { batchBaseOffset, buildBatch } from './batch-builder.ts';
import { cleanupTempDirs, closedLog, openLog, readAll, segmentFiles, tempDir } from './util.ts';

afterEach(cleanupTempDirs);

/** 20 records a batch (the finding: a flipped base offset made clients skip 20 records), ~2.3 KB each. */
const CFG = { segmentBytes: 16 * 1024, indexIntervalBytes: 4096 };

const makeClosedLog = (batches = 40): Promise<{ dir: string; before: Buffer[] }> => closedLog(CFG, batches, 20);

/** Byte positions of the batches in a segment file. */
function batchPositions(file: string): number[] {
  const data = fs.readFileSync(file);
  const out: number[] = [];
  for (let p = 0; p + 12 <= data.length; p += data.readInt32BE(p + 8) + 12) out.push(p);
  return out;
}

function patch(file: string, position: number, edit: (data: Buffer) => void): Buffer {
  const data = fs.readFileSync(file);
  edit(data.subarray(position));
  fs.writeFileSync(file, data);
  return data;
}

function expectStorageError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(KafkaError);
  expect((caught as KafkaError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  expect((caught as KafkaError).message).toMatch(pattern);
}

/** Reads everything, one batch a time; returns what was read before the first error and the error. */
function readUntilError(log: PartitionLog): { got: Buffer[]; error: unknown } {
  try {
    return { got: readAll(log), error: null };
  } catch (error) {
    return { got: [], error };
  }
}

describe('corruption found while serving', () => {
  it('a flipped base-offset byte in a trusted segment is not served: offline, then cut to quarantine at the next open', async () => {
    const { dir, before } = await makeClosedLog();
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const victim = path.join(dir, files[1]);
    const at = batchPositions(victim)[3];
    const victimBatches = batchPositions(victim).length;
    const victimSize = fs.statSync(victim).size;
    // +20 in the base offset (outside the CRC): the batch now claims the next batch's offsets
    patch(victim, at, (b) => b.writeBigInt64BE(b.readBigInt64BE(0) + 20n, 0));

    const lines: string[] = [];
    const log = await openLog(dir, CFG, lines); // clean shutdown: the segment is trusted, not scanned
    const { error } = readUntilError(log);
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as KafkaError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((error as KafkaError).message).toMatch(/offsets not contiguous/);
    // offline: every operation answers KAFKA_STORAGE_ERROR, nothing more is served
    expect(log.offlineReason).toMatch(/not contiguous/);
    expectStorageError(() => log.read(0, 1 << 20, true), /offline after corruption/);
    expectStorageError(() => log.append(buildBatch(), 0), /offline after corruption/);
    expectStorageError(() => log.offsetForTimestamp(0), /offline after corruption/);
    expect(lines.join('\n')).toMatch(/error: corrupt log .* The partition is offline \(KAFKA_STORAGE_ERROR/);
    expect(corruptionCounts(dir).corruptBatches).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(dir, RECOVER_FROM_FILE), 'utf8')).segmentBase).toBe(Number(files[1].slice(0, 20)));
    await log.close();

    // Restart: the marked segment is CRC-checked and cut at the bad batch, the bytes go to quarantine, later segments stay.
    const lines2: string[] = [];
    const again = await openLog(dir, CFG, lines2);
    expect(fs.existsSync(path.join(dir, RECOVER_FROM_FILE))).toBe(false);
    expect(segmentFiles(dir)).toEqual(files);
    const got = readAll(again);
    const lost = victimBatches - 3;
    expect(got).toHaveLength(before.length - lost);
    expect(got.every((g) => before.some((b) => b.equals(g)))).toBe(true);
    const firstLost = batchBaseOffset(before[got.findIndex((g, i) => !g.equals(before[i]))]);
    expect(lines2.join('\n')).toMatch(new RegExp(`offsets ${firstLost}\\.\\.${firstLost + lost * 20 - 1} \\(${lost * 20}\\) are missing between two segments`));
    const quarantined = fs.readdirSync(path.join(dir, 'quarantine'));
    expect(quarantined).toHaveLength(1);
    expect(fs.statSync(victim).size).toBe(at);
    const cutBytes = fs.readFileSync(path.join(dir, 'quarantine', quarantined[0]));
    expect(cutBytes.length).toBe(victimSize - at);
    expect(cutBytes.readBigInt64BE(0)).toBe(BigInt(firstLost + 20)); // the damaged batch, kept as it was found
    expect(again.append(buildBatch(), 0).baseOffset).toBe(before.length * 20);
    await again.close();
  });

  it('a flipped value byte (inside the CRC) is not delivered', async () => {
    const { dir } = await makeClosedLog(10);
    const file = path.join(dir, segmentFiles(dir)[0]);
    const at = batchPositions(file)[2];
    patch(file, at, (b) => (b[200] ^= 0x01));
    const log = await openLog(dir, CFG);
    expect(log.read(0, 100, true).bytes).toBeGreaterThan(0); // batch 0 is fine
    expectStorageError(() => log.read(40, 1 << 20, true), /CRC-32C mismatch in the batch at offset 40/);
    expect(log.offlineReason).toMatch(/CRC-32C/);
    await log.close();
  });

  it('a plausible but wrong offset index entry is rebuilt from the log and the read served correctly', async () => {
    const { dir, before } = await makeClosedLog(20);
    const [first] = segmentFiles(dir);
    const indexFile = path.join(dir, first.replace('.log', '.index'));
    const index = fs.readFileSync(indexFile);
    expect(index.length).toBeGreaterThanOrEqual(16);
    // Entry 0 keeps its offset but points one batch further on (still increasing, still inside the file).
    const rel = index.readInt32BE(0);
    const pos = index.readInt32BE(4);
    const next = batchPositions(path.join(dir, first)).find((p) => p > pos)!;
    expect(next).toBeLessThan(index.readInt32BE(12));
    index.writeInt32BE(next, 4);
    fs.writeFileSync(indexFile, index);

    const lines: string[] = [];
    const log = await openLog(dir, CFG, lines);
    const r = log.read(rel, 1, true);
    expect(Buffer.concat(r.chunks).equals(before.find((b) => batchBaseOffset(b) === rel)!)).toBe(true);
    expect(lines.join('\n')).toMatch(/offset index of segment 0 is wrong \(entry 0 says offset \d+ is at byte \d+, but the batch there starts at \d+\); rebuilt/);
    expect(corruptionCounts(dir).indexRebuilds).toBe(1);
    expect(log.offlineReason).toBeNull();
    expect(Buffer.concat(readAll(log)).equals(Buffer.concat(before))).toBe(true);
    expect(fs.readFileSync(indexFile).readInt32BE(4)).toBe(pos); // the file is repaired too
    await log.close();
  });

  it('a wrong time index entry is rebuilt and ListOffsets by time answers correctly', async () => {
    const dir = tempDir();
    const cfg = { segmentBytes: 64 * 1024, indexIntervalBytes: 12_000 };
    const log = await openLog(dir, cfg);
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 20; i++) log.append(buildBatch({ count: 20, valueBytes: 100, baseTimestamp: t0 + i * 1000, timestampStep: 1 }), 0);
    await log.close();
    const timeFile = path.join(dir, segmentFiles(dir, '.timeindex')[0]);
    const index = fs.readFileSync(timeFile);
    expect(index.length).toBeGreaterThanOrEqual(24);
    const ts = Number(index.readBigInt64BE(0));
    const rel = index.readInt32BE(8);
    expect(index.readInt32BE(20) - rel).toBeGreaterThan(40);
    index.writeInt32BE(rel + 40, 8); // still increasing and plausible, but two batches too far
    fs.writeFileSync(timeFile, index);
    const lines: string[] = [];
    const again = await openLog(dir, cfg, lines);
    // the first record after the entry's batch is the next batch's first record
    expect(again.offsetForTimestamp(ts + 1)).toEqual({ offset: rel + 20, timestampMs: ts + 1000 - 19 });
    expect(lines.join('\n')).toMatch(/time index of segment 0 is wrong .*; rebuilt it from the log/);
    expect(corruptionCounts(dir).timeIndexRebuilds).toBe(1);
    await again.close();
  });
});

describe('scrubber', () => {
  it('finds rot in a sealed segment nobody reads, takes only that partition offline, and keeps to its rate', async () => {
    const rotten = await makeClosedLog(30);
    const healthy = await makeClosedLog(30);
    const file = path.join(rotten.dir, segmentFiles(rotten.dir)[1]);
    patch(file, batchPositions(file)[1], (b) => (b[500] ^= 0x40));
    const lines: string[] = [];
    const a = await openLog(rotten.dir, CFG, lines);
    const b = await openLog(healthy.dir, CFG);
    const sealedBytes = b.sealedSegments().reduce((n, s) => n + s.size, 0);
    const bytesPerSec = 256 * 1024;
    const scrubber = new Scrubber(() => [{ name: 'rotten-0', log: a }, { name: 'healthy-0', log: b }], { intervalMs: 0, bytesPerSec }, (l) => lines.push(l));
    const started = Date.now();
    const pass = await scrubber.runPass();
    const elapsedMs = Date.now() - started;
    expect(pass.corrupt).toBe(1);
    expect(a.offlineReason).toMatch(/scrubber: CRC-32C mismatch/);
    expect(lines.join('\n')).toMatch(/error: corrupt log .*scrubber: CRC-32C mismatch.* The partition is offline/);
    expect(b.offlineReason).toBeNull();
    expect(Buffer.concat(readAll(b)).equals(Buffer.concat(healthy.before))).toBe(true);
    // everything of the healthy log was read, at no more than the rate (sleeps only lengthen it: a lower bound)
    expect(pass.bytes).toBeGreaterThanOrEqual(sealedBytes);
    expect(elapsedMs).toBeGreaterThanOrEqual(((sealedBytes - 64 * 1024) / bytesPerSec) * 1000 * 0.9);
    await scrubber.close();
    await a.close();
    await b.close();
  });
});
