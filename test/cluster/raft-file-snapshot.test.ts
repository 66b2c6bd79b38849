// FileRaftStorage snapshots: compaction, the files a crash can leave at each step of it, and a randomized comparison
// with MemoryRaftStorage that includes compactions and crashes between their two steps.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HARD_STATE_FILE, RAFT_LOG_FILE, SNAPSHOT_FILE, type FileRaftStorage } from '../../broker/cluster/raft/file-storage.ts';
import { MemoryRaftStorage } from '../../broker/cluster/raft/storage.ts';
import { RaftNode } from '../../broker/cluster/raft/node.ts';
import { mulberry32 } from '../helpers/prng.ts';
import type { NodeId, RaftMessage, RaftSnapshot } from '../../broker/cluster/raft/types.ts';
import { all, cleanup, cmd, logSize, noop, openStorage, reopen, tempDir, type Cmd, type Entry } from './raft-file-fixtures.ts';

afterEach(cleanup);

const ENTRIES: Entry[] = [noop(1, 1), cmd(2, 1), cmd(3, 1), cmd(4, 2), noop(5, 3), cmd(6, 3, 6, 'sixth ✓')];
const S4: RaftSnapshot = { index: 4, term: 2, data: '{"state":"as of 4 — ünïcødé"}' };

/** A storage holding ENTRIES (terms up to 3), closed; returns its directory and the log file's bytes. */
function sixEntries(): { dir: string; log: Buffer } {
  const dir = tempDir();
  const s = openStorage(dir);
  s.setHardState({ currentTerm: 3, votedFor: 1 });
  s.append(ENTRIES);
  s.close();
  return { dir, log: fs.readFileSync(path.join(dir, RAFT_LOG_FILE)) };
}

/** Saves `snap` in the storage at `dir`, then puts the files back as a crash after step 1 would leave them. */
function crashAfterSnapshotStep(dir: string, oldLog: Buffer, snap: RaftSnapshot): void {
  const s = openStorage(dir);
  s.saveSnapshot(snap);
  s.close();
  fs.writeFileSync(path.join(dir, RAFT_LOG_FILE), oldLog); // the log rewrite never happened
}

function openLogged(dir: string): { s: FileRaftStorage<Cmd>; lines: string[] } {
  const lines: string[] = [];
  return { s: openStorage(dir, { log: (m) => lines.push(m) }), lines };
}

describe('FileRaftStorage: snapshots', () => {
  it('compacts the log up to a matching snapshot, keeps the rest, and survives a reopen', () => {
    const { dir } = sixEntries();
    let s = openStorage(dir);
    expect([s.snapshot(), s.firstIndex()]).toEqual([null, 1]);
    s.saveSnapshot(S4);
    const check = (): void => {
      expect(s.snapshot()).toEqual(S4);
      expect([s.firstIndex(), s.lastIndex()]).toEqual([5, 6]);
      expect([0, 3, 4, 5, 6, 7].map((i) => s.termAt(i))).toEqual([undefined, undefined, 2, 3, 3, undefined]);
      expect(all(s)).toEqual(ENTRIES.slice(4));
      expect(s.entries(0, 100)).toEqual(ENTRIES.slice(4));
    };
    check();
    expect(fs.readdirSync(dir).sort()).toEqual([HARD_STATE_FILE, RAFT_LOG_FILE, SNAPSHOT_FILE]); // no temp files left
    s = reopen(s);
    expect(s.recovery).toBeNull();
    check();
    // The log goes on after the snapshot; nothing at or below it can be truncated.
    s.append([cmd(7, 3)]);
    expect(() => s.truncateFrom(4)).toThrow(/truncateFrom\(4\) with entries up to 4 compacted/);
    s.truncateFrom(6);
    expect(all(reopen(s))).toEqual([ENTRIES[4]]);
  });

  it('discards the whole log for a snapshot whose entry it does not hold (another history, or past the end)', () => {
    const { dir } = sixEntries();
    let s = openStorage(dir);
    s.saveSnapshot({ index: 4, term: 3, data: 'other' });
    expect([s.firstIndex(), s.lastIndex(), s.termAt(4), logSize(dir)]).toEqual([5, 4, 3, 0]);
    s.saveSnapshot({ index: 9, term: 3, data: 'later' });
    expect([s.firstIndex(), s.lastIndex(), s.termAt(9)]).toEqual([10, 9, 3]);
    expect(() => s.append([cmd(10, 2)])).toThrow(/term 2/); // terms do not go below the snapshot's
    s.append([cmd(10, 3)]);
    s = reopen(s);
    expect([s.snapshot()?.data, s.firstIndex(), s.lastIndex()]).toEqual(['later', 10, 10]);
  });

  it('refuses a snapshot that is not newer than the current one', () => {
    const { dir } = sixEntries();
    const s = openStorage(dir);
    s.saveSnapshot(S4);
    expect(() => s.saveSnapshot(S4)).toThrow(/not newer/);
    expect(() => s.saveSnapshot({ index: 3, term: 2, data: '' })).toThrow(/not newer/);
    expect(() => s.saveSnapshot({ index: 6, term: 1, data: '' })).toThrow(/not newer/);
    expect(() => s.saveSnapshot({ index: 0, term: 1, data: '' })).toThrow(/invalid snapshot/);
    expect(s.snapshot()).toEqual(S4);
  });
});

describe('FileRaftStorage: a crash during compaction', () => {
  it('while replacing the snapshot file: the leftover temp file is removed, the old state stays', () => {
    const { dir } = sixEntries();
    fs.writeFileSync(path.join(dir, `${SNAPSHOT_FILE}.tmp`), '{"version":1,"index":4,"te');
    const { s, lines } = openLogged(dir);
    expect([s.snapshot(), s.firstIndex(), lines]).toEqual([null, 1, []]);
    expect(all(s)).toEqual(ENTRIES);
    expect(fs.readdirSync(dir).sort()).toEqual([HARD_STATE_FILE, RAFT_LOG_FILE]);
  });

  it('after the snapshot, before the log rewrite: open finishes the compaction (matching entry: the suffix stays)', () => {
    const { dir, log } = sixEntries();
    crashAfterSnapshotStep(dir, log, S4);
    expect(logSize(dir)).toBe(log.length);
    fs.writeFileSync(path.join(dir, `${RAFT_LOG_FILE}.tmp`), log.subarray(0, 17)); // a half-written rewrite, too
    const { s, lines } = openLogged(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('finished an interrupted compaction: dropped entries 1..4 (compacted)');
    expect([s.snapshot(), s.firstIndex(), s.lastIndex()]).toEqual([S4, 5, 6]);
    expect(all(s)).toEqual(ENTRIES.slice(4));
    expect(fs.readdirSync(dir).sort()).toEqual([HARD_STATE_FILE, RAFT_LOG_FILE, SNAPSHOT_FILE]);
    s.append([cmd(7, 3)]);
    const again = openLogged(reopen(s).dir); // finished for good: the next open has nothing to do
    again.s.close();
    expect(again.lines).toEqual([]);
    expect(all(openStorage(dir))).toEqual([...ENTRIES.slice(4), cmd(7, 3)]);
  });

  it('after the snapshot, before the log rewrite: a log of another history, or a shorter one, goes entirely', () => {
    for (const snap of [{ index: 4, term: 3, data: 'other' }, { index: 8, term: 3, data: 'past the end' }]) {
      const { dir, log } = sixEntries();
      crashAfterSnapshotStep(dir, log, snap);
      const { s, lines } = openLogged(dir);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`dropped entries 1..6 (compacted or of another history: the log did not hold entry ${snap.index} with term 3)`);
      expect([s.snapshot(), s.firstIndex(), s.lastIndex(), logSize(dir)]).toEqual([snap, snap.index + 1, snap.index, 0]);
    }
  });

  it('after the log rewrite was renamed: a clean open', () => {
    const { dir } = sixEntries();
    const s = openStorage(dir);
    s.saveSnapshot(S4);
    s.close();
    const { s: t, lines } = openLogged(dir);
    expect([lines, t.recovery, all(t)]).toEqual([[], null, ENTRIES.slice(4)]);
  });

  it('a torn tail of a compacted log is cut at every byte as before', () => {
    const { dir } = sixEntries();
    let s = openStorage(dir);
    s.saveSnapshot(S4);
    const lastFrameAt = logSize(dir); // entries 5 and 6 are left; 7 is the frame to tear
    s.append([cmd(7, 3)]);
    s.close();
    const bytes = fs.readFileSync(path.join(dir, RAFT_LOG_FILE));
    for (let cut = lastFrameAt; cut < bytes.length; cut++) {
      fs.writeFileSync(path.join(dir, RAFT_LOG_FILE), bytes.subarray(0, cut));
      s = openStorage(dir);
      expect([s.firstIndex(), s.lastIndex()], `cut at ${cut}`).toEqual([5, 6]);
      expect(s.recovery === null).toBe(cut === lastFrameAt);
      s.close();
    }
    // Cut inside the first frame: the log is empty, and starts after the snapshot all the same.
    fs.writeFileSync(path.join(dir, RAFT_LOG_FILE), bytes.subarray(0, 5));
    s = openStorage(dir);
    expect([s.firstIndex(), s.lastIndex(), s.recovery?.lastIndex]).toEqual([5, 4, 4]);
  });
});

describe('FileRaftStorage: states a crash cannot leave are refused', () => {
  it('a corrupt or unreadable snapshot file', () => {
    const { dir } = sixEntries();
    const s = openStorage(dir);
    s.saveSnapshot(S4);
    s.close();
    const file = path.join(dir, SNAPSHOT_FILE);
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, good.replace('as of 4', 'as of 5'));
    expect(() => openStorage(dir)).toThrow(/snapshot.json is corrupt: CRC-32C mismatch/);
    fs.writeFileSync(file, good.replace('"index":4', '"index":5'));
    expect(() => openStorage(dir)).toThrow(/CRC-32C mismatch/);
    fs.writeFileSync(file, good.slice(0, 30));
    expect(() => openStorage(dir)).toThrow(/snapshot.json is not valid JSON/);
    fs.writeFileSync(file, '{"version":2}');
    expect(() => openStorage(dir)).toThrow(/does not hold a valid snapshot/);
  });

  it('a log that starts past the entry after the snapshot, or a compacted log without a snapshot', () => {
    const { dir } = sixEntries();
    const s = openStorage(dir);
    s.saveSnapshot(S4);
    s.close();
    const file = path.join(dir, SNAPSHOT_FILE);
    fs.rmSync(file);
    expect(() => openStorage(dir)).toThrow(/starts at entry 5 but there is no snapshot: entries are missing/);
    // A valid but older snapshot file (made in another directory) next to the log compacted up to 4.
    const other = tempDir();
    const o = openStorage(other);
    o.setHardState({ currentTerm: 2, votedFor: null });
    o.saveSnapshot({ index: 3, term: 2, data: 'as of 3' });
    o.close();
    fs.copyFileSync(path.join(other, SNAPSHOT_FILE), file);
    expect(() => openStorage(dir)).toThrow(/starts at entry 5 but the snapshot ends at 3/);
  });

  it('a snapshot without a hard state', () => {
    const dir = tempDir();
    const s = openStorage(dir);
    s.setHardState({ currentTerm: 2, votedFor: null });
    s.saveSnapshot({ index: 3, term: 2, data: 'x' });
    s.close();
    fs.rmSync(path.join(dir, HARD_STATE_FILE));
    expect(() => openStorage(dir)).toThrow(/is missing but .* holds 0 entries and a snapshot/);
  });
});

describe('FileRaftStorage behaves like MemoryRaftStorage', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`under a random sequence of append/truncate/snapshot/reopen/crash (seed ${seed})`, () => {
      const rng = mulberry32(seed);
      const int = (min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
      const dir = tempDir();
      const logPath = path.join(dir, RAFT_LOG_FILE);
      const model = new MemoryRaftStorage<Cmd>();
      let s = openStorage(dir);
      let term = 1;
      const count = { reopens: 0, snapshots: 0, kept: 0, crashes: 0 };
      // As in Raft, the term is durable before any entry of it (open refuses a non-empty log without hard state).
      model.setHardState({ currentTerm: term, votedFor: null });
      s.setHardState({ currentTerm: term, votedFor: null });
      const compare = (): void => {
        expect([s.firstIndex(), s.lastIndex()]).toEqual([model.firstIndex(), model.lastIndex()]);
        expect(s.hardState()).toEqual(model.hardState());
        expect(s.snapshot()).toEqual(model.snapshot());
        const last = model.lastIndex();
        for (let k = 0; k < 3; k++) {
          const i = int(0, last + 2);
          expect(s.termAt(i)).toBe(model.termAt(i));
          const from = int(0, last + 2);
          const to = int(0, last + 3);
          expect(s.entries(from, to)).toEqual(model.entries(from, to));
        }
      };
      for (let step = 0; step < 150; step++) {
        const r = rng();
        if (r < 0.4) {
          const n = int(1, 4);
          const batch: Entry[] = [];
          let t = Math.max(1, model.termAt(model.lastIndex())!);
          for (let j = 0; j < n; j++) {
            const index = model.lastIndex() + 1 + j;
            if (rng() < 0.2) t = Math.min(term, t + 1);
            const text = String.fromCharCode(...Array.from({ length: int(0, 12) }, () => int(32, 0x2fff)));
            batch.push(rng() < 0.2 ? noop(index, t) : cmd(index, t, int(-1e6, 1e6), text));
          }
          model.append(batch);
          s.append(batch);
        } else if (r < 0.5) {
          const from = int(model.firstIndex(), model.lastIndex() + 2);
          model.truncateFrom(from);
          s.truncateFrom(from);
        } else if (r < 0.6) {
          term += int(0, 2);
          const hs = { currentTerm: term, votedFor: rng() < 0.3 ? null : int(1, 5) };
          model.setHardState(hs);
          s.setHardState(hs);
        } else if (r < 0.75) {
          // A compaction (the snapshot's term is the entry's: the suffix stays) or an install from a leader (often
          // another history, or past the end: the log goes), sometimes with a crash between the two steps.
          const index = int(model.firstIndex(), model.lastIndex() + 3);
          const own = model.termAt(index);
          const snapTerm = own !== undefined && rng() < 0.6 ? own : int(Math.max(1, model.snapshot()?.term ?? 1), term);
          const snap = { index, term: snapTerm, data: `state ${step} ✓ "quoted"` };
          const crash = rng() < 0.4;
          const hadEntries = model.lastIndex() >= model.firstIndex();
          const oldLog = crash ? fs.readFileSync(logPath) : null; // every write so far is durable
          if (own === snapTerm && index < model.lastIndex()) count.kept++;
          model.saveSnapshot(snap);
          s.saveSnapshot(snap);
          count.snapshots++;
          if (oldLog) {
            s.close();
            fs.writeFileSync(logPath, oldLog);
            if (rng() < 0.5) fs.writeFileSync(`${logPath}.tmp`, oldLog.subarray(0, int(0, oldLog.length)));
            const lines: string[] = [];
            s = openStorage(dir, { log: (m) => lines.push(m) });
            expect(lines.length).toBe(hadEntries ? 1 : 0);
            count.crashes++;
          }
        } else if (r < 0.85) {
          s = reopen(s);
          count.reopens++;
          expect(s.recovery).toBeNull();
        } else if (r < 0.9) {
          // A crash mid-append: a random-length prefix of a frame-like tail is on disk, the append never returned.
          s.close();
          const garbage = Buffer.from(Array.from({ length: int(1, 40) }, () => int(0, 255)));
          fs.appendFileSync(logPath, garbage);
          s = openStorage(dir);
          count.reopens++;
          expect(s.recovery?.droppedBytes).toBe(garbage.length);
        }
        compare();
      }
      s = reopen(s);
      expect(all(s)).toEqual(all(model));
      expect(count.reopens).toBeGreaterThan(5);
      expect(count.kept).toBeGreaterThan(2);
      expect(count.crashes).toBeGreaterThan(2);
    });
  }
});

describe('RaftNode over FileRaftStorage with snapshots', () => {
  it('a follower that was away catches up by InstallSnapshot, and every node restarts from its snapshot on disk', () => {
    const ids: NodeId[] = [1, 2, 3];
    const dirOf = new Map(ids.map((id) => [id, tempDir()]));
    let storages = new Map(ids.map((id) => [id, openStorage<string>(dirOf.get(id)!)]));
    const state = new Map<NodeId, string[]>(); // each node's state machine: the commands it applied
    let nodes = new Map<NodeId, RaftNode<string>>();
    const start = (nowMs: number): void => {
      nodes = new Map(ids.map((id) => [id, new RaftNode<string>({ id, voters: ids, storage: storages.get(id)!, random: mulberry32(id), nowMs })]));
      for (const [id, n] of nodes) state.set(id, n.initialSnapshot() ? (JSON.parse(n.initialSnapshot()!.data) as string[]) : []);
    };
    let down: NodeId | null = null;
    const run = (messages: RaftMessage<string>[]): void => {
      const queue = [...messages];
      for (let steps = 0; queue.length > 0; steps++) {
        if (steps > 10_000) throw new Error('did not quiesce');
        const m = queue.shift()!;
        if (m.to === down) continue;
        const r = nodes.get(m.to)!.receive(m);
        if (r.snapshot) state.set(m.to, JSON.parse(r.snapshot.data) as string[]);
        for (const e of r.committed) if (e.kind === 'command') state.get(m.to)!.push(e.command);
        queue.push(...r.messages);
      }
    };
    const propose = (leader: NodeId, c: string): void => {
      const r = nodes.get(leader)!.propose(c);
      if (!r.ok) throw new Error(`propose refused: ${r.reason}`);
      for (const e of r.ready.committed) if (e.kind === 'command') state.get(leader)!.push(e.command);
      run(r.ready.messages);
    };

    start(0);
    run(nodes.get(1)!.tick(1_000).messages);
    expect(nodes.get(1)!.role).toBe('leader');
    down = 3;
    for (const c of ['a', 'b', 'c', 'd']) propose(1, c);
    run(nodes.get(1)!.tick(1_100).messages); // the heartbeat carries the commit index to node 2
    for (const id of [1, 2]) {
      const n = nodes.get(id)!;
      expect(n.lastApplied).toBe(5);
      n.compact(n.lastApplied, JSON.stringify(state.get(id)));
      expect(storages.get(id)!.firstIndex()).toBe(6);
    }
    down = null;
    run(nodes.get(1)!.tick(1_200).messages); // node 3 needs entry 1: it gets the snapshot
    expect(storages.get(3)!.snapshot()).toEqual({ index: 5, term: 1, data: '["a","b","c","d"]' });
    propose(1, 'e');
    run(nodes.get(1)!.tick(1_300).messages);
    for (const id of ids) expect(state.get(id)).toEqual(['a', 'b', 'c', 'd', 'e']);

    // Every node restarts from disk: the snapshot, then the entries after it.
    for (const s of storages.values()) s.close();
    storages = new Map(ids.map((id) => [id, openStorage<string>(dirOf.get(id)!)]));
    start(2_000);
    for (const id of ids) {
      expect(nodes.get(id)!.initialSnapshot()?.index).toBe(5);
      expect(state.get(id)).toEqual(['a', 'b', 'c', 'd']);
    }
    run(nodes.get(2)!.tick(2_400).messages);
    expect(nodes.get(2)!.role).toBe('leader');
    propose(2, 'f');
    run(nodes.get(2)!.tick(2_500).messages);
    for (const id of ids) expect(state.get(id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});
