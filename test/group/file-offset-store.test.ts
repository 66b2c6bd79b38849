import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileOffsetStore, OFFSETS_FILE } from '../../broker/group/file-offset-store.ts';
import type { OffsetEntry } from '../../broker/group/offset-store.ts';

const entry = (topic: string, partition: number, offset: number, metadata: string | null = null): OffsetEntry => ({
  topic,
  partition,
  offset,
  leaderEpoch: 1,
  metadata,
  commitTimestampMs: 1_700_000_000_000,
});

let dir: string;
const opened: FileOffsetStore[] = [];
async function openStore(opts: ConstructorParameters<typeof FileOffsetStore>[1] = {}): Promise<FileOffsetStore> {
  const s = new FileOffsetStore(dir, opts);
  await s.load();
  opened.push(s);
  return s;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'untangle-offsets-'));
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

describe('FileOffsetStore', () => {
  it('keeps offsets across a reopen', async () => {
    const s = await openStore();
    await s.commit('g', [entry('t', 0, 5, 'meta'), entry('t', 1, 6)]);
    await s.commit('g', [entry('t', 0, 7, 'newer')]);
    await s.commit('h', [entry('u', 3, 1 + 2 ** 40)]);
    await s.close();
    const r = await openStore();
    expect(r.get('g', 't', 0)).toEqual(entry('t', 0, 7, 'newer'));
    expect(r.get('g', 't', 1)).toEqual(entry('t', 1, 6));
    expect(r.get('h', 'u', 3)?.offset).toBe(1 + 2 ** 40);
    expect([...r.groups()]).toEqual(['g', 'h']);
    expect(r.truncatedBytesOnLoad).toBe(0);
  });

  it('ignores and cuts a torn tail, and later appends survive', async () => {
    const s = await openStore();
    await s.commit('g', [entry('t', 0, 1)]);
    const good = (await stat(join(dir, OFFSETS_FILE))).size;
    await s.commit('g', [entry('t', 0, 2)]);
    await s.close();
    const full = (await stat(join(dir, OFFSETS_FILE))).size;
    await truncate(join(dir, OFFSETS_FILE), full - 3); // crash in the middle of the second record

    const r = await openStore();
    expect(r.get('g', 't', 0)?.offset).toBe(1);
    expect(r.truncatedBytesOnLoad).toBe(full - 3 - good);
    expect((await stat(join(dir, OFFSETS_FILE))).size).toBe(good);
    await r.commit('g', [entry('t', 0, 3)]);
    await r.close();
    expect((await openStore()).get('g', 't', 0)?.offset).toBe(3);
  });

  it('stops replay at a record whose CRC does not match', async () => {
    const s = await openStore();
    await s.commit('g', [entry('t', 0, 1)]);
    await s.commit('g', [entry('t', 0, 2)]);
    await s.close();
    const path = join(dir, OFFSETS_FILE);
    const buf = await readFile(path);
    buf[buf.length - 2] ^= 0xff; // flip a bit in the last record's payload
    await writeFile(path, buf);
    await appendFile(path, Buffer.from([0, 0, 0])); // and some garbage after it
    const r = await openStore();
    expect(r.get('g', 't', 0)?.offset).toBe(1);
    expect(r.truncatedBytesOnLoad).toBeGreaterThan(3);
  });

  it('moves a file that is not an offsets log aside (never deleted) and starts empty', async () => {
    await writeFile(join(dir, OFFSETS_FILE), 'hello world, not offsets');
    const lines: string[] = [];
    const s = await openStore({ log: (l) => lines.push(l) });
    expect([...s.groups()]).toEqual([]);
    const moved = (await readdir(dir)).filter((f) => f.startsWith(`${OFFSETS_FILE}.corrupt-`));
    expect(moved).toHaveLength(1);
    expect(await readFile(join(dir, moved[0]), 'utf8')).toBe('hello world, not offsets');
    expect(lines.join('\n')).toMatch(/not an offsets log.*moved it to/);
    await s.commit('g', [entry('t', 0, 1)]);
    await s.close();
    expect((await openStore()).get('g', 't', 0)?.offset).toBe(1);
  });

  it('writes tombstones for deleted groups and topics', async () => {
    const s = await openStore();
    await s.commit('g', [entry('t', 0, 1), entry('u', 0, 2)]);
    await s.commit('h', [entry('t', 0, 3)]);
    await s.deleteTopic('t');
    await s.commit('k', [entry('v', 0, 4)]);
    await s.deleteGroup('k');
    expect([...s.groups()]).toEqual(['g']);
    await s.close();
    const r = await openStore();
    expect([...r.groups()]).toEqual(['g']);
    expect([...r.entries('g')]).toEqual([entry('u', 0, 2)]);
  });

  it('compacts when the log grows, keeping the latest values and deletions', async () => {
    const s = await openStore({ maxFileBytes: 2_000 });
    for (let i = 0; i < 500; i++) {
      await s.commit('g', [entry('t', i % 4, i, `m${i}`)]);
      if (i === 100) {
        await s.commit('gone', [entry('t', 0, 1)]);
        await s.deleteGroup('gone');
        await s.commit('h', [entry('dead-topic', 0, 9), entry('t', 9, 9)]);
        await s.deleteTopic('dead-topic');
      }
    }
    expect(s.compactions).toBeGreaterThan(3);
    expect(s.sizeBytes).toBeLessThanOrEqual(2_000);
    await s.close();
    expect((await stat(join(dir, OFFSETS_FILE))).size).toBeLessThanOrEqual(2_000);
    const r = await openStore();
    for (let p = 0; p < 4; p++) expect(r.get('g', 't', p)?.offset).toBe(496 + p);
    expect(r.get('g', 't', 3)?.metadata).toBe('m499');
    expect([...r.groups()].sort()).toEqual(['g', 'h']);
    expect([...r.entries('h')]).toEqual([entry('t', 9, 9)]);
  });

  it('group-commits concurrent writes in issue order, with fsync', async () => {
    const s = await openStore({ fsync: true, maxFileBytes: 4_096 });
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.commit('g', [entry('t', i % 3, i)])));
    expect([0, 1, 2].map((p) => s.get('g', 't', p)?.offset)).toEqual([198, 199, 197]);
    await s.close();
    const r = await openStore();
    expect([0, 1, 2].map((p) => r.get('g', 't', p)?.offset)).toEqual([198, 199, 197]);
  });

  it('rejects operations after close', async () => {
    const s = await openStore();
    await s.close();
    await expect(s.commit('g', [entry('t', 0, 1)])).rejects.toThrow(/closed/);
  });

  it('keeps every acknowledged commit when the writing process is SIGKILLed', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'offset-writer.ts'), dir], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let lastAcked = 0;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const l of lines) lastAcked = Number(l.split(' ')[1]);
        if (lastAcked >= 300) child.kill('SIGKILL');
      });
    });
    const r = await openStore();
    const offset = r.get('g', 't', 0)?.offset ?? 0;
    expect(offset).toBeGreaterThanOrEqual(lastAcked);
    expect(r.get('g', 't', 0)?.metadata).toBe(`m${offset}`);
    expect(r.get('g', 't', 1)?.offset).toBe(offset * 2); // both entries of a commit land together
  });
});
