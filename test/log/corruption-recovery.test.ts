// Recovery at open (issue 15): a missing or short middle segment is reported as an offset gap instead of passing
// silently, a torn middle segment no longer takes the intact later segments with it, and after an unclean stop
// everything past the recovery point is CRC-checked, with the bytes cut off moved to quarantine/, not deleted.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { corruptionCounts } from '../../broker/log/corruption.ts';
import { batchBaseOffset } from './batch-builder.ts';
import { cleanupTempDirs, closedLog, filledLog, openLog, readAll, segmentFiles } from './util.ts';

afterEach(cleanupTempDirs);

const CFG = { segmentBytes: 8 * 1024, indexIntervalBytes: 1024 };

/** A cleanly closed log of `batches` batches of 10 records (~1.2 KB each, several segments). */
const makeLog = (batches: number): Promise<{ dir: string; before: Buffer[] }> => closedLog(CFG, batches, 10);

const baseOf = (file: string): number => Number(file.slice(0, 20));

describe('recovery reports gaps and keeps what is intact', () => {
  it('a missing middle segment (clean shutdown) is reported as a gap, not skipped silently', async () => {
    const { dir, before } = await makeLog(30);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    fs.rmSync(path.join(dir, files[1]));
    const lines: string[] = [];
    const log = await openLog(dir, CFG, lines);
    const from = baseOf(files[1]);
    const to = baseOf(files[2]);
    const text = lines.join('\n');
    expect(text).toMatch(new RegExp(`error: .*segment ${from} \\(offsets ${from}\\.\\.${to - 1}\\) listed in the clean-shutdown checkpoint is missing`));
    expect(text).toMatch(new RegExp(`error: .*offsets ${from}\\.\\.${to - 1} \\(${to - from}\\) are missing between two segments`));
    expect(corruptionCounts(dir).gapOffsets).toBe(to - from);
    // the rest is served, byte for byte
    expect(Buffer.concat(readAll(log)).equals(Buffer.concat(before.filter((b) => batchBaseOffset(b) < from || batchBaseOffset(b) >= to)))).toBe(true);
    await log.close();
  });

  it('a sealed segment cut at a batch boundary is recovered and the lost offsets reported', async () => {
    const { dir, before } = await makeLog(30);
    const files = segmentFiles(dir);
    const victim = path.join(dir, files[1]);
    const data = fs.readFileSync(victim);
    const firstLen = data.readInt32BE(8) + 12;
    fs.truncateSync(victim, firstLen); // exactly one whole batch left: no torn batch to see, only the size and the gap
    const lines: string[] = [];
    const log = await openLog(dir, CFG, lines);
    const lostFrom = baseOf(files[1]) + 10;
    const lostTo = baseOf(files[2]);
    expect(lines.join('\n')).toMatch(new RegExp(`offsets ${lostFrom}\\.\\.${lostTo - 1} \\(${lostTo - lostFrom}\\) are missing`));
    expect(segmentFiles(dir)).toEqual(files);
    expect(readAll(log)).toHaveLength(before.length - (lostTo - lostFrom) / 10);
    await log.close();
  });

  it('after an unclean stop a corrupt batch past the recovery point is cut, its bytes quarantined, later segments kept', async () => {
    const { dir, before } = await filledLog(CFG, 30, 10);
    const files = segmentFiles(dir);
    // "kill -9": no close(); log-meta.json lists the sealed segments, the active one is past the recovery point
    const active = path.join(dir, files[files.length - 1]);
    const data = fs.readFileSync(active);
    const second = data.readInt32BE(8) + 12;
    data[second + 300] ^= 0x08;
    fs.writeFileSync(active, data);
    const lines: string[] = [];
    const again = await openLog(dir, CFG, lines);
    expect(lines.join('\n')).toMatch(/recovery truncated segment \d+ at byte \d+, dropping \d+ bytes \(CRC-32C mismatch at offset \d+.*\), moved to .*quarantine/);
    const q = path.join(dir, 'quarantine');
    const [moved] = fs.readdirSync(q);
    expect(fs.readFileSync(path.join(q, moved)).equals(data.subarray(second))).toBe(true);
    expect(corruptionCounts(dir).quarantinedBytes).toBe(data.length - second);
    const got = readAll(again);
    expect(Buffer.concat(got).equals(Buffer.concat(before.slice(0, got.length)))).toBe(true);
    expect(again.logEndOffset).toBe(baseOf(files[files.length - 1]) + 10);
    await again.close();
  });

  it('a torn middle segment keeps every intact later segment (unclean stop)', async () => {
    const { dir, before } = await filledLog(CFG, 30, 10); // never closed: an unclean stop
    const files = segmentFiles(dir);
    const victim = path.join(dir, files[1]);
    const size = fs.statSync(victim).size;
    fs.truncateSync(victim, size - 100); // a torn last batch, as a power cut before the roll's flush leaves it
    const lines: string[] = [];
    const again = await openLog(dir, CFG, lines);
    expect(segmentFiles(dir)).toEqual(files);
    expect(lines.join('\n')).toMatch(/are missing between two segments/);
    expect(lines.join('\n')).not.toMatch(/deleting segment/);
    const got = readAll(again);
    expect(got).toHaveLength(before.length - 1);
    expect(batchBaseOffset(got[got.length - 1])).toBe(batchBaseOffset(before[before.length - 1]));
    await again.close();
  });
});
