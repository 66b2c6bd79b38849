// FileLease: one holder at a time through one file, takeover after expiry, garbage tolerated, and
// three real processes competing for one lease while the holder is killed in turn.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FileLease, tickLease } from '../../../systems/process/lease.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'fixtures/lease-child.ts');
const root = mkdtempSync(path.join(tmpdir(), 'untangle-lease-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const leaseFile = (): string => path.join(root, `case-${++n}`, 'poll.lease');

describe('FileLease with a fake clock', () => {
  it('gives the lease to one owner, renews it, and lets another take it only after it expired', () => {
    const file = leaseFile();
    const a = new FileLease({ file, owner: 'F.1', ttlMs: 1000 });
    const b = new FileLease({ file, owner: 'F.2', ttlMs: 1000 });
    expect(a.tick(0)).toBe(true);
    expect(b.tick(10)).toBe(false);
    expect(a.tick(400)).toBe(true); // renewed: now expires at 1400
    expect(b.tick(1300)).toBe(false);
    expect(a.held).toBe(true);
    expect(b.held).toBe(false);
    // a stops ticking (stalled or dead): b takes over once 1400 has passed
    expect(b.tick(1399)).toBe(false);
    expect(b.tick(1401)).toBe(true);
    expect(a.tick(1450)).toBe(false);
    expect(a.held).toBe(false);
    expect(b.tick(1700)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ owner: 'F.2', expiresAtMs: 2700 });
  });

  it('hands the lease over at once on release', () => {
    const file = leaseFile();
    const a = new FileLease({ file, owner: 'a', ttlMs: 60_000 });
    const b = new FileLease({ file, owner: 'b', ttlMs: 60_000 });
    expect(a.tick(0)).toBe(true);
    expect(b.tick(1)).toBe(false);
    a.release();
    expect(a.held).toBe(false);
    expect(b.tick(2)).toBe(true);
    a.release(); // not holding: nothing happens to b's lease
    expect(b.tick(3)).toBe(true);
    expect(a.tick(4)).toBe(false);
  });

  it('lets a late holder keep its lease through the takeover path', () => {
    const file = leaseFile();
    const a = new FileLease({ file, owner: 'a', ttlMs: 1000 });
    expect(a.tick(0)).toBe(true);
    expect(a.tick(900)).toBe(true); // 100 ms left: not renewed in place, taken over by itself
    expect(a.tick(1800)).toBe(true);
    expect(a.tick(5000)).toBe(true); // long expired and nobody else wanted it
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ owner: 'a', expiresAtMs: 6000 });
  });

  it('lets a restarted process with the same owner resume its unexpired lease', () => {
    const file = leaseFile();
    expect(new FileLease({ file, owner: 'E.1', ttlMs: 10_000 }).tick(0)).toBe(true);
    expect(new FileLease({ file, owner: 'E.2', ttlMs: 10_000 }).tick(100)).toBe(false);
    expect(new FileLease({ file, owner: 'E.1', ttlMs: 10_000 }).tick(200)).toBe(true);
  });

  it.each([
    ['a torn file', '{"owner":"x","expiresAt'],
    ['garbage', 'not a lease at all'],
    ['an empty file', ''],
    ['JSON of the wrong shape', '{"owner": 7}'],
    ['an oversized file', `{"owner":"x","expiresAtMs":99999999999999,"pad":"${'p'.repeat(5000)}"}`],
  ])('treats %s as expired', (_what, text) => {
    const file = leaseFile();
    const a = new FileLease({ file, owner: 'a', ttlMs: 1000 });
    expect(a.tick(0)).toBe(true); // creates the folder
    writeFileSync(file, text);
    const b = new FileLease({ file, owner: 'b', ttlMs: 1000 });
    expect(b.tick(10)).toBe(true);
    expect(a.tick(20)).toBe(false);
    expect(readdirSync(path.dirname(file))).toEqual(['poll.lease']); // nothing left beside it
  });

  it('refuses bad options', () => {
    expect(() => new FileLease({ file: leaseFile(), owner: '', ttlMs: 1000 })).toThrow(/owner/);
    expect(() => new FileLease({ file: leaseFile(), owner: 'a', ttlMs: 0 })).toThrow(/ttlMs/);
    expect(() => new FileLease({ file: leaseFile(), owner: 'a', ttlMs: 1.5 })).toThrow(/ttlMs/);
  });

  it('reports held as false once the ttl passed without a tick', async () => {
    const a = new FileLease({ file: leaseFile(), owner: 'a', ttlMs: 50 });
    expect(a.tick()).toBe(true);
    expect(a.held).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    expect(a.held).toBe(false);
  });

  it('tickLease keeps a lease on a timer, reports changes and releases on stop', async () => {
    const file = leaseFile();
    const changes: boolean[] = [];
    const ticker = tickLease(new FileLease({ file, owner: 'a', ttlMs: 300 }), { onChange: (h) => changes.push(h) });
    expect(ticker.lease.held).toBe(true);
    await new Promise((r) => setTimeout(r, 400)); // beyond one ttl: renewed meanwhile
    expect(ticker.lease.held).toBe(true);
    ticker.stop();
    expect(changes).toEqual([true, false]);
    expect(new FileLease({ file, owner: 'b', ttlMs: 300 }).tick()).toBe(true);
  });
});

describe('FileLease across processes', () => {
  it('has one holder at a time among three processes, and the next takes over after the holder is killed', async () => {
    const file = leaseFile();
    const ttlMs = 400;
    const samples: { owner: string; held: boolean; atMs: number }[] = [];
    const children = new Map<string, ChildProcess>();
    const exited: Promise<void>[] = [];
    for (const owner of ['P.1', 'P.2', 'P.3']) {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, owner, String(ttlMs), '25', '20000'], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.set(owner, child);
      exited.push(new Promise((resolve) => child.once('exit', () => resolve())));
      let rest = '';
      child.stdout!.on('data', (b: Buffer) => {
        const lines = (rest + b.toString('utf8')).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          const m = /^tick (\S+) (true|false) (\d+)$/.exec(line);
          if (m) samples.push({ owner: m[1], held: m[2] === 'true', atMs: Number(m[3]) });
        }
      });
    }
    const holderNow = async (excluding: Set<string>): Promise<string> => {
      const end = Date.now() + 20_000;
      for (;;) {
        const last = samples.filter((s) => s.held && !excluding.has(s.owner)).at(-1);
        if (last && Date.now() - last.atMs < 100) return last.owner;
        if (Date.now() > end) throw new Error(`no holder: ${JSON.stringify(samples.slice(-10))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const killed = new Set<string>();
    const killedAtMs: number[] = [];
    try {
      for (let round = 0; round < 2; round++) {
        const holder = await holderNow(killed);
        await new Promise((r) => setTimeout(r, 300)); // the holder keeps it a while
        children.get(holder)!.kill('SIGKILL');
        killed.add(holder);
        killedAtMs.push(Date.now());
      }
      await holderNow(killed); // the last one standing takes it
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      for (const c of children.values()) c.kill('SIGKILL');
      await Promise.all(exited);
    }
    // The owners of held samples in time order: one run per holder, never interleaved.
    const runs: string[] = [];
    for (const s of samples.filter((x) => x.held).sort((x, y) => x.atMs - y.atMs)) if (runs.at(-1) !== s.owner) runs.push(s.owner);
    expect(runs).toHaveLength(3);
    expect(new Set(runs).size).toBe(3);
    // A takeover waits for the killed holder's lease to expire: at least most of a ttl after the kill.
    for (let i = 1; i < runs.length; i++) {
      const firstHeld = samples.find((s) => s.owner === runs[i] && s.held)!.atMs;
      expect(firstHeld - killedAtMs[i - 1]).toBeGreaterThanOrEqual(ttlMs - 150);
    }
  }, 60_000);
});
