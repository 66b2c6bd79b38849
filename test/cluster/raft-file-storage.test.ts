// FileRaftStorage: durability, recovery of torn/corrupt tails, hard state, and a Raft cluster over it.
// Snapshots, their crash consistency and the comparison with MemoryRaftStorage: raft-file-snapshot.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { HARD_STATE_FILE, RAFT_LOG_FILE } from '../../broker/cluster/raft/file-storage.ts';
import { RaftNode } from '../../broker/cluster/raft/node.ts';
import { mulberry32 } from '../helpers/prng.ts';
import type { LogEntry, NodeId, RaftMessage, Ready } from '../../broker/cluster/raft/types.ts';
import { all, cleanup, cmd, logSize, noop, openStorage, reopen, tempDir, type Entry } from './raft-file-fixtures.ts';

afterEach(cleanup);

/** A log of three entries; returns the byte offsets of each frame and the file's size. */
function threeEntries(dir: string): { entries: Entry[]; offsets: number[]; size: number } {
  const s = openStorage(dir);
  s.setHardState({ currentTerm: 2, votedFor: 1 });
  const entries = [noop(1, 1), cmd(2, 1), cmd(3, 2, 7, 'third — ünïcødé ✓')];
  const offsets: number[] = [];
  for (const e of entries) {
    offsets.push(logSize(dir));
    s.append([e]);
  }
  s.close();
  return { entries, offsets, size: logSize(dir) };
}

describe('FileRaftStorage: basics', () => {
  it('round-trips entries and hard state through a reopen', () => {
    const dir = tempDir();
    let s = openStorage(dir);
    expect(s.lastIndex()).toBe(0);
    expect(s.termAt(0)).toBe(0);
    expect(s.termAt(1)).toBeUndefined();
    expect(s.hardState()).toEqual({ currentTerm: 0, votedFor: null });
    s.setHardState({ currentTerm: 3, votedFor: 2 });
    const entries = [noop(1, 1), cmd(2, 1), cmd(3, 2), noop(4, 3), cmd(5, 3, -1, 'quote " backslash \\ newline \n emoji 🚀')];
    s.append(entries.slice(0, 2));
    s.append(entries.slice(2));
    s = reopen(s);
    expect(s.recovery).toBeNull();
    expect(s.hardState()).toEqual({ currentTerm: 3, votedFor: 2 });
    expect(s.lastIndex()).toBe(5);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => s.termAt(i))).toEqual([0, 1, 1, 2, 3, 3, undefined]);
    expect(all(s)).toEqual(entries);
    expect(s.entries(2, 4)).toEqual(entries.slice(1, 3));
    expect(s.entries(0, 100)).toEqual(entries);
    expect(s.entries(4, 4)).toEqual([]);
    expect(s.entries(7, 9)).toEqual([]);
  });

  it('truncateFrom cuts the file at the entry and later appends continue from there', () => {
    const dir = tempDir();
    let s = openStorage(dir);
    s.setHardState({ currentTerm: 2, votedFor: null });
    s.append([cmd(1, 1), cmd(2, 1), cmd(3, 1), cmd(4, 1)]);
    s.truncateFrom(3);
    expect(s.lastIndex()).toBe(2);
    expect(s.termAt(3)).toBeUndefined();
    s.truncateFrom(10); // past the end: nothing to do
    expect(s.lastIndex()).toBe(2);
    expect(() => s.truncateFrom(0)).toThrow(/truncateFrom\(0\)/);
    s.append([cmd(3, 2, 30, 'new three'), cmd(4, 2, 40, 'new four')]);
    s = reopen(s);
    expect(all(s)).toEqual([cmd(1, 1), cmd(2, 1), cmd(3, 2, 30, 'new three'), cmd(4, 2, 40, 'new four')]);
    s.truncateFrom(1);
    expect(s.lastIndex()).toBe(0);
    expect(logSize(dir)).toBe(0);
    s = reopen(s);
    expect(s.lastIndex()).toBe(0);
    s.append([cmd(1, 2)]);
    expect(all(reopen(s))).toEqual([cmd(1, 2)]);
  });

  it('refuses bad appends without writing anything', () => {
    const dir = tempDir();
    const s = openStorage(dir, { maxEntryBytes: 200 });
    s.setHardState({ currentTerm: 2, votedFor: null });
    s.append([cmd(1, 2)]);
    const size = logSize(dir);
    expect(() => s.append([cmd(2, 2), cmd(3, 2, 3, 'x'.repeat(300))])).toThrow(/entry 3 encodes to \d+ bytes, over maxEntryBytes 200/);
    expect(() => s.append([cmd(2, 2), cmd(4, 2)])).toThrow(/expected index 3, got 4/);
    expect(() => s.append([cmd(1, 2)])).toThrow(/expected index 2, got 1/);
    expect(() => s.append([cmd(2, 1)])).toThrow(/term 1/);
    expect(s.lastIndex()).toBe(1);
    expect(logSize(dir)).toBe(size);
    s.append([]);
    expect(logSize(dir)).toBe(size);
    expect(() => openStorage(tempDir(), { maxEntryBytes: 0 })).toThrow(/maxEntryBytes/);
  });

  it('uses the codec passed in the constructor', () => {
    const dir = tempDir();
    const codec = { encode: (c: bigint) => c.toString(), decode: (v: unknown) => BigInt(v as string) };
    let s = openStorage<bigint>(dir, { codec });
    s.setHardState({ currentTerm: 1, votedFor: 1 });
    s.append([{ index: 1, term: 1, kind: 'command', command: 2n ** 70n }]);
    s = reopen(s, { codec });
    expect(s.entries(1, 2)).toEqual([{ index: 1, term: 1, kind: 'command', command: 2n ** 70n }]);
  });

  it('is unusable after close', () => {
    const s = openStorage(tempDir());
    s.close();
    expect(() => s.lastIndex()).toThrow(/unusable \(closed\)/);
  });
});

describe('FileRaftStorage: recovery', () => {
  it('recovers a torn last frame, cut at every byte, to the previous entry', () => {
    const src = tempDir();
    const { entries, offsets, size } = threeEntries(src);
    const bytes = fs.readFileSync(path.join(src, RAFT_LOG_FILE));
    const dir = tempDir();
    fs.copyFileSync(path.join(src, HARD_STATE_FILE), path.join(dir, HARD_STATE_FILE));
    for (let cut = offsets[2]; cut < size; cut++) {
      fs.writeFileSync(path.join(dir, RAFT_LOG_FILE), bytes.subarray(0, cut));
      const lines: string[] = [];
      const s = openStorage(dir, { log: (m) => lines.push(m) });
      expect(s.lastIndex(), `cut at ${cut}`).toBe(2);
      expect(all(s)).toEqual(entries.slice(0, 2));
      expect(logSize(dir)).toBe(offsets[2]);
      if (cut === offsets[2]) {
        expect(s.recovery).toBeNull();
        expect(lines).toEqual([]);
      } else {
        expect(s.recovery).toMatchObject({ truncatedAt: offsets[2], droppedBytes: cut - offsets[2], lastIndex: 2 });
        expect(s.recovery!.reason).toMatch(/torn/);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`truncated the log at byte ${offsets[2]}`);
      }
      if (cut % 7 === 0) {
        s.append([entries[2]]); // the log is writable again after recovery
        expect(all(reopen(s))).toEqual(entries);
      }
      s.close();
    }
  });

  it('drops a last frame with a bad CRC (in the CRC field or the payload)', () => {
    for (const at of ['crc', 'payload'] as const) {
      const dir = tempDir();
      const { entries, offsets, size } = threeEntries(dir);
      const file = path.join(dir, RAFT_LOG_FILE);
      const bytes = fs.readFileSync(file);
      bytes[at === 'crc' ? offsets[2] + 5 : size - 2] ^= 0x10;
      fs.writeFileSync(file, bytes);
      const s = openStorage(dir);
      expect(s.lastIndex()).toBe(2);
      expect(all(s)).toEqual(entries.slice(0, 2));
      expect(s.recovery?.reason).toMatch(/CRC-32C mismatch/);
      expect(logSize(dir)).toBe(offsets[2]);
    }
  });

  it('cuts at the first bad frame even when valid frames follow (Kafka-style)', () => {
    const dir = tempDir();
    const { entries, offsets, size } = threeEntries(dir);
    const file = path.join(dir, RAFT_LOG_FILE);
    const bytes = fs.readFileSync(file);
    bytes[offsets[1] + 12] ^= 0x01; // inside entry 2's payload
    fs.writeFileSync(file, bytes);
    const s = openStorage(dir);
    expect(all(s)).toEqual(entries.slice(0, 1));
    expect(s.recovery).toMatchObject({ truncatedAt: offsets[1], droppedBytes: size - offsets[1], lastIndex: 1 });
  });

  it('drops a zero-filled tail (file extended, data never written)', () => {
    const dir = tempDir();
    const { entries, size } = threeEntries(dir);
    fs.appendFileSync(path.join(dir, RAFT_LOG_FILE), Buffer.alloc(100));
    const s = openStorage(dir);
    expect(all(s)).toEqual(entries);
    expect(s.recovery).toMatchObject({ truncatedAt: size, droppedBytes: 100, reason: 'implausible frame length 0' });
  });

  it('refuses a frame with a valid CRC but a non-contiguous index, naming the file and offset', () => {
    const dir = tempDir();
    const { size } = threeEntries(dir);
    const payload = Buffer.from(JSON.stringify({ index: 5, term: 2, kind: 'noop' }));
    const header = Buffer.alloc(8);
    header.writeUInt32BE(payload.length, 0);
    header.writeUInt32BE(crc32c(payload), 4);
    const file = path.join(dir, RAFT_LOG_FILE);
    fs.appendFileSync(file, Buffer.concat([header, payload]));
    expect(() => openStorage(dir)).toThrow(new RegExp(`${RAFT_LOG_FILE} at byte ${size}: entry index 5, expected 4`));
    expect(logSize(dir)).toBe(size + 8 + payload.length); // nothing was cut
  });
});

describe('FileRaftStorage: hard state', () => {
  it('survives a reopen, and the atomic replace leaves no temp file', () => {
    const dir = tempDir();
    let s = openStorage(dir);
    s.setHardState({ currentTerm: 1, votedFor: 3 });
    s.setHardState({ currentTerm: 4, votedFor: null });
    s.setHardState({ currentTerm: 4, votedFor: 2 });
    expect(fs.readdirSync(dir).sort()).toEqual([HARD_STATE_FILE, RAFT_LOG_FILE]);
    s = reopen(s);
    expect(s.hardState()).toEqual({ currentTerm: 4, votedFor: 2 });
    expect(() => s.setHardState({ currentTerm: 3, votedFor: null })).toThrow(/must not decrease/);
    expect(s.hardState()).toEqual({ currentTerm: 4, votedFor: 2 });
  });

  it('removes a temp file left by an interrupted replace and keeps the old state', () => {
    const dir = tempDir();
    const s = openStorage(dir);
    s.setHardState({ currentTerm: 5, votedFor: 1 });
    s.close();
    fs.writeFileSync(path.join(dir, `${HARD_STATE_FILE}.tmp`), '{"version":1,"curr');
    expect(openStorage(dir).hardState()).toEqual({ currentTerm: 5, votedFor: 1 });
    expect(fs.readdirSync(dir).sort()).toEqual([HARD_STATE_FILE, RAFT_LOG_FILE]);
  });

  it('refuses an unreadable hard state, or a missing one next to a non-empty log', () => {
    const dir = tempDir();
    threeEntries(dir);
    fs.writeFileSync(path.join(dir, HARD_STATE_FILE), '{"version":1,"currentTerm":"x"}');
    expect(() => openStorage(dir)).toThrow(/does not hold a valid hard state/);
    fs.writeFileSync(path.join(dir, HARD_STATE_FILE), 'garbage');
    expect(() => openStorage(dir)).toThrow(/not valid JSON/);
    fs.rmSync(path.join(dir, HARD_STATE_FILE));
    expect(() => openStorage(dir)).toThrow(/is missing but .* holds 3 entries/);
  });
});

describe('RaftNode over FileRaftStorage', () => {
  it('elects, commits, restarts every node from disk, elects again and commits more', () => {
    const ids: NodeId[] = [1, 2, 3];
    const dirOf = new Map(ids.map((id) => [id, tempDir()]));
    let storages = new Map(ids.map((id) => [id, openStorage<string>(dirOf.get(id)!)]));
    const applied = new Map<NodeId, string[]>();
    const start = (nowMs: number): Map<NodeId, RaftNode<string>> => {
      for (const id of ids) applied.set(id, []);
      return new Map(ids.map((id) => [id, new RaftNode<string>({ id, voters: ids, storage: storages.get(id)!, random: mulberry32(id), nowMs })]));
    };
    const deliver = (nodes: Map<NodeId, RaftNode<string>>, from: NodeId, ready: Ready<string>): void => {
      const queue: Array<[NodeId, RaftMessage<string>]> = [];
      const take = (id: NodeId, r: Ready<string>): void => {
        for (const e of r.committed) applied.get(id)!.push(e.kind === 'command' ? e.command : 'noop');
        for (const m of r.messages) queue.push([m.to, m]);
      };
      take(from, ready);
      for (let steps = 0; queue.length > 0; steps++) {
        if (steps > 10_000) throw new Error('did not quiesce');
        const [to, m] = queue.shift()!;
        take(to, nodes.get(to)!.receive(m));
      }
    };
    const propose = (nodes: Map<NodeId, RaftNode<string>>, leader: NodeId, c: string): void => {
      const r = nodes.get(leader)!.propose(c);
      if (!r.ok) throw new Error(`propose refused: ${r.reason}`);
      deliver(nodes, leader, r.ready);
    };

    let nodes = start(0);
    deliver(nodes, 1, nodes.get(1)!.tick(1_000));
    expect(nodes.get(1)!.role).toBe('leader');
    for (const c of ['a', 'b', 'c']) propose(nodes, 1, c);
    deliver(nodes, 1, nodes.get(1)!.tick(1_100)); // heartbeat carries the commit index
    for (const id of ids) {
      expect(nodes.get(id)!.commitIndex).toBe(4);
      expect(applied.get(id)).toEqual(['noop', 'a', 'b', 'c']);
    }

    // Crash every node: only what is on disk survives.
    for (const s of storages.values()) s.close();
    storages = new Map(ids.map((id) => [id, openStorage<string>(dirOf.get(id)!)]));
    nodes = start(2_000);
    deliver(nodes, 2, nodes.get(2)!.tick(2_400));
    expect(nodes.get(2)!.role).toBe('leader');
    expect(nodes.get(2)!.currentTerm).toBe(2);
    propose(nodes, 2, 'd');
    deliver(nodes, 2, nodes.get(2)!.tick(2_500));
    const expected: LogEntry<string>[] = [
      { index: 1, term: 1, kind: 'noop' },
      { index: 2, term: 1, kind: 'command', command: 'a' },
      { index: 3, term: 1, kind: 'command', command: 'b' },
      { index: 4, term: 1, kind: 'command', command: 'c' },
      { index: 5, term: 2, kind: 'noop' },
      { index: 6, term: 2, kind: 'command', command: 'd' },
    ];
    for (const id of ids) {
      expect(nodes.get(id)!.commitIndex).toBe(6);
      expect(applied.get(id)).toEqual(['noop', 'a', 'b', 'c', 'noop', 'd']); // re-delivered from index 1 after restart
      storages.get(id)!.close();
      const s = openStorage<string>(dirOf.get(id)!);
      expect(all(s)).toEqual(expected);
      expect(s.hardState().currentTerm).toBe(2);
    }
  });
});
