import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { batchBaseOffset, buildBatch, DEFAULT_BASE_TIMESTAMP } from './batch-builder.ts';
import { cleanupTempDirs, openLog, readAll, segmentFiles, tempDir } from './util.ts';

afterEach(cleanupTempDirs);

const CFG = { segmentBytes: 4096, indexIntervalBytes: 256 };

/** A log of `n` varied batches; returns the stored bytes of each batch and the directory. */
async function makeLog(n: number, close: boolean): Promise<{ dir: string; batches: Buffer[] }> {
  const dir = tempDir();
  const log = await openLog(dir, CFG);
  for (let i = 0; i < n; i++) {
    log.append(buildBatch({ count: 1 + (i % 5), valueBytes: 20 + ((i * 37) % 300), baseTimestamp: DEFAULT_BASE_TIMESTAMP + i }), 2);
  }
  const batches = readAll(log);
  if (close) await log.close();
  return { dir, batches };
}

function copyDir(from: string): string {
  const to = tempDir();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

/** Batches fully inside the active segment's first `cut` bytes plus everything in earlier segments. */
function survivors(batches: Buffer[], activeBase: number, cut: number): Buffer[] {
  let pos = 0;
  return batches.filter((b) => {
    if (batchBaseOffset(b) < activeBase) return true;
    pos += b.length;
    return pos <= cut;
  });
}

describe('recovery', () => {
  for (const clean of [true, false]) {
    it(`serves every whole batch after the active segment is cut at random positions (${clean ? 'clean checkpoint' : 'no checkpoint'})`, async () => {
      const { dir, batches } = await makeLog(60, clean);
      const files = segmentFiles(dir);
      expect(files.length).toBeGreaterThan(2);
      const active = files[files.length - 1];
      const activeBase = Number(active.slice(0, 20));
      const size = fs.statSync(path.join(dir, active)).size;
      let seed = clean ? 7 : 11;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const cuts = [0, 1, 60, 61, 62, size - 1, size, ...Array.from({ length: 40 }, () => Math.floor(rand() * size))];
      for (const cut of cuts) {
        const copy = copyDir(dir);
        fs.truncateSync(path.join(copy, active), cut);
        const lines: string[] = [];
        const log = await openLog(copy, CFG, lines);
        const expected = survivors(batches, activeBase, cut);
        const got = readAll(log);
        expect(got.length, `cut ${cut}`).toBe(expected.length);
        expect(Buffer.concat(got).equals(Buffer.concat(expected))).toBe(true);
        const last = expected[expected.length - 1];
        expect(log.logEndOffset).toBe(batchBaseOffset(last) + last.readInt32BE(23) + 1);
        const aligned = expected.filter((b) => batchBaseOffset(b) >= activeBase).reduce((n, b) => n + b.length, 0) === cut;
        if (!aligned) expect(lines.some((l) => /truncated segment .* dropping \d+ bytes/.test(l))).toBe(true);
        // the log keeps working after recovery
        expect(log.append(buildBatch(), 0).baseOffset).toBe(log.logEndOffset - 1);
        await log.deleteAll(); // closes the files without the fsyncs of a clean close
      }
    });
  }

  it('cuts a torn tail left by a killed process (partial batch, garbage, bad CRC, zeros)', async () => {
    const tails: [string, (valid: Buffer) => Buffer][] = [
      ['partial batch', (v) => v.subarray(0, 100)],
      ['partial header', (v) => v.subarray(0, 30)],
      ['garbage', () => Buffer.from('this is not a record batch at all, just noise '.repeat(3))],
      ['bad CRC', (v) => Buffer.concat([v.subarray(0, 70), Buffer.from([v[70] ^ 0xff]), v.subarray(71)])],
      ['zeros', () => Buffer.alloc(4096)],
    ];
    for (const [name, tail] of tails) {
      const dir = tempDir();
      const log = await openLog(dir, CFG);
      for (let i = 0; i < 25; i++) log.append(buildBatch({ count: 2, valueBytes: 100 }), 0);
      const before = readAll(log);
      // "SIGKILL": no close(); then the half-written next batch appears at the end of the active segment
      const active = segmentFiles(dir).pop()!;
      const valid = buildBatch({ count: 2, valueBytes: 100, baseOffset: 50 });
      fs.appendFileSync(path.join(dir, active), tail(valid));
      const lines: string[] = [];
      const again = await openLog(dir, CFG, lines);
      expect(again.logEndOffset, name).toBe(50);
      expect(Buffer.concat(readAll(again)).equals(Buffer.concat(before)), name).toBe(true);
      expect(lines.some((l) => l.includes('truncated')), name).toBe(true);
      expect(again.append(buildBatch(), 0).baseOffset).toBe(50);
      await again.close();
    }
  });

  it('recovers when a clean-shutdown segment was extended or a sealed segment was cut (later segments kept, gap reported)', async () => {
    const { dir, batches } = await makeLog(60, true);
    const files = segmentFiles(dir);
    // extended active segment
    const ext = copyDir(dir);
    fs.appendFileSync(path.join(ext, files[files.length - 1]), Buffer.from('junk'));
    const lines: string[] = [];
    const a = await openLog(ext, CFG, lines);
    expect(readAll(a)).toHaveLength(batches.length);
    expect(lines.some((l) => /checkpoint says/.test(l))).toBe(true);
    await a.close();
    // sealed segment cut in the middle: that segment is cut at its last whole batch (the partial batch goes to
    // quarantine/), the later segments stay, and the offsets lost in between are reported
    const cut = copyDir(dir);
    const victim = path.join(cut, files[1]);
    fs.truncateSync(victim, Math.floor(fs.statSync(victim).size / 2));
    const lines2: string[] = [];
    const b = await openLog(cut, CFG, lines2);
    expect(segmentFiles(cut)).toEqual(files);
    const got = readAll(b);
    const kept = new Set(got.map(batchBaseOffset));
    expect(got.length).toBeLessThan(batches.length);
    expect(got.every((g) => batches.some((x) => x.equals(g)))).toBe(true);
    expect(kept.has(batchBaseOffset(batches[batches.length - 1]))).toBe(true);
    expect(lines2.some((l) => /offsets \d+\.\.\d+ \(\d+\) are missing between two segments/.test(l))).toBe(true);
    expect(fs.readdirSync(path.join(cut, 'quarantine')).length).toBe(1);
    expect(b.append(buildBatch(), 0).baseOffset).toBe(b.logEndOffset - 1);
    await b.close();
  });

  it('detects a corrupt byte in the middle of the active segment after an unclean stop', async () => {
    const { dir, batches } = await makeLog(60, false);
    const active = path.join(dir, segmentFiles(dir).pop()!);
    const activeBase = Number(path.basename(active).slice(0, 20));
    const data = fs.readFileSync(active);
    const flip = Math.floor(data.length / 2);
    data[flip] ^= 0x55;
    fs.writeFileSync(active, data);
    const log = await openLog(dir, CFG);
    const got = readAll(log);
    const expected = survivors(batches, activeBase, flip);
    expect(got.length).toBe(expected.length);
    await log.close();
  });

  it('rebuilds missing index files of a cleanly closed log', async () => {
    const { dir, batches } = await makeLog(60, true);
    for (const f of segmentFiles(dir, '.index')) fs.rmSync(path.join(dir, f));
    fs.writeFileSync(path.join(dir, segmentFiles(dir, '.timeindex')[0]), Buffer.from('bad'));
    const lines: string[] = [];
    const log = await openLog(dir, CFG, lines);
    expect(lines.some((l) => l.includes('rebuilt missing or damaged index'))).toBe(true);
    expect(Buffer.concat(readAll(log, 0, 300)).equals(Buffer.concat(batches))).toBe(true);
    expect(log.offsetForTimestamp(DEFAULT_BASE_TIMESTAMP + 30)?.offset).toBe(batchBaseOffset(batches[30]));
    await log.close();
  });

  it('survives a real SIGKILL: every acknowledged batch is there and retries are deduplicated', async () => {
    const dir = tempDir();
    const fixture = fileURLToPath(new URL('./fixtures/kill-writer.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', fixture, dir, '300'], { encoding: 'utf8', cwd: process.cwd() });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const acked = child.stdout.trim().split('\n').map(Number);
    expect(acked).toHaveLength(300);
    expect(fs.existsSync(path.join(dir, 'clean-shutdown.json'))).toBe(false);
    const lines: string[] = [];
    const log = await openLog(dir, { segmentBytes: 16 * 1024, indexIntervalBytes: 1024 }, lines);
    expect(log.logEndOffset).toBe(900);
    expect(readAll(log).map(batchBaseOffset)).toEqual(acked);
    // the producer retries its last batches after the crash: not written twice, original offsets returned
    for (const i of [299, 297, 295]) {
      const r = log.append(buildBatch({ count: 3, valueBytes: 50, producerId: 42, producerEpoch: 0, baseSequence: i * 3 }), 0);
      expect(r).toEqual({ baseOffset: i * 3, lastOffset: i * 3 + 2, logAppendTimeMs: -1, duplicate: true });
    }
    expect(log.logEndOffset).toBe(900);
    const next = log.append(buildBatch({ count: 3, producerId: 42, producerEpoch: 0, baseSequence: 900 }), 0);
    expect(next.baseOffset).toBe(900);
    await log.close();
  });
});
