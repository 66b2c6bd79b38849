// Focused tests of RaftNode, driven by hand-built messages.
import { describe, expect, it } from 'vitest';
import { RaftNode } from '../../broker/cluster/raft/node.ts';
import { mulberry32 } from '../helpers/prng.ts';
import { MemoryRaftStorage } from '../../broker/cluster/raft/storage.ts';
import type { AppendEntries, AppendEntriesResponse, InstallSnapshot, NodeId, RaftConfig, RaftMessage, Ready, RequestVote } from '../../broker/cluster/raft/types.ts';

type Node = RaftNode<string>;

/** A storage whose log has one command entry per given term, and the given hard state. */
function storage(currentTerm: number, logTerms: number[], votedFor: NodeId | null = null): MemoryRaftStorage<string> {
  const s = new MemoryRaftStorage<string>();
  s.setHardState({ currentTerm, votedFor });
  s.append(logTerms.map((term, i) => ({ index: i + 1, term, kind: 'command' as const, command: `e${i + 1}` })));
  return s;
}

function node(id: NodeId, voters: NodeId[], s: MemoryRaftStorage<string>, extra: Partial<RaftConfig<string>> = {}): Node {
  return new RaftNode<string>({ id, voters, storage: s, random: mulberry32(id), nowMs: 0, ...extra });
}

function terms(s: MemoryRaftStorage<string>): number[] {
  return s.entries(1, s.lastIndex() + 1).map((e) => e.term);
}

function append(from: NodeId, to: NodeId, term: number, prevLogIndex: number, prevLogTerm: number, entryTerms: number[], leaderCommit = 0): AppendEntries<string> {
  const entries = entryTerms.map((t, i) => ({ index: prevLogIndex + 1 + i, term: t, kind: 'command' as const, command: `x${prevLogIndex + 1 + i}` }));
  return { type: 'AppendEntries', from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit };
}

function ack(from: NodeId, to: NodeId, term: number, matchIndex: number): AppendEntriesResponse {
  return { type: 'AppendEntriesResponse', from, to, term, success: true, matchIndex, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0 };
}

/** Makes `n` leader: times it out, then feeds it granted votes from `voters`. */
function elect(n: Node, voters: NodeId[], at = 1_000): RaftMessage<string>[] {
  n.tick(at);
  expect(n.role).toBe('candidate');
  const out: RaftMessage<string>[] = [];
  for (const v of voters) out.push(...n.receive({ type: 'RequestVoteResponse', from: v, to: n.id, term: n.currentTerm, granted: true }).messages);
  expect(n.role).toBe('leader');
  return out;
}

/** Delivers messages among `nodes` in FIFO order until none are left. */
function pump(nodes: Map<NodeId, Node>, initial: RaftMessage<string>[], seen: RaftMessage<string>[] = []): void {
  const queue = [...initial];
  for (let steps = 0; queue.length > 0; steps++) {
    if (steps > 10_000) throw new Error('pump did not quiesce');
    const m = queue.shift()!;
    seen.push(m);
    const target = nodes.get(m.to);
    if (target) queue.push(...target.receive(m).messages);
  }
}

describe('RaftNode: AppendEntries on a follower', () => {
  it('rejects a mismatching prevLogTerm with a conflict hint, then truncates the conflicting suffix', () => {
    const s = storage(3, [1, 1, 2, 2]);
    const f = node(2, [1, 2, 3], s);
    const rej = f.receive(append(1, 2, 3, 4, 3, [])).messages[0] as AppendEntriesResponse;
    expect(rej).toMatchObject({ type: 'AppendEntriesResponse', success: false, rejectedIndex: 4, conflictTerm: 2, conflictIndex: 3, term: 3 });
    expect(terms(s)).toEqual([1, 1, 2, 2]);
    const ok = f.receive(append(1, 2, 3, 2, 1, [3], 3));
    expect(ok.messages[0]).toMatchObject({ success: true, matchIndex: 3 });
    expect(terms(s)).toEqual([1, 1, 3]); // entry 4 (term 2) is gone with the conflict at 3
    expect(f.commitIndex).toBe(3);
    expect(ok.committed.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(f.leaderId).toBe(1);
  });

  it('advances its commit index only as far as the entries it has verified against the leader', () => {
    // Entries 3–4 (term 2) are left over from an old leader; the new leader (term 3) has committed
    // up to 4 but has only verified the prefix up to 2 with this follower so far.
    const f = node(2, [1, 2, 3], storage(3, [1, 1, 2, 2]));
    f.receive(append(1, 2, 3, 2, 1, [], 4));
    expect(f.commitIndex).toBe(2);
  });

  it('reports its log end when prevLogIndex is past it', () => {
    const f = node(2, [1, 2, 3], storage(1, [1, 1]));
    expect(f.receive(append(1, 2, 1, 7, 1, [])).messages[0]).toMatchObject({ success: false, conflictTerm: 0, conflictIndex: 3 });
  });

  it('does not truncate on a stale or duplicated AppendEntries whose entries already match', () => {
    const s = storage(1, [1, 1, 1]);
    const f = node(2, [1, 2, 3], s);
    expect(f.receive(append(1, 2, 1, 0, 0, [1])).messages[0]).toMatchObject({ success: true, matchIndex: 1 });
    expect(terms(s)).toEqual([1, 1, 1]);
  });

  it('answers a lower-term leader with its own term and ignores the entries', () => {
    const s = storage(5, [1]);
    const f = node(2, [1, 2, 3], s);
    expect(f.receive(append(1, 2, 4, 1, 1, [4])).messages[0]).toMatchObject({ success: false, term: 5 });
    expect(terms(s)).toEqual([1]);
  });
});

describe('RaftNode: elections', () => {
  it('a candidate with a stale log does not win; an up-to-date one does', () => {
    const [sa, sb, sc] = [storage(2, [1, 1, 1]), storage(2, [1, 2]), storage(2, [1, 2])];
    const nodes = new Map<NodeId, Node>([[1, node(1, [1, 2, 3], sa)], [2, node(2, [1, 2, 3], sb)], [3, node(3, [1, 2, 3], sc)]]);
    const a = nodes.get(1)!;
    const seen: RaftMessage<string>[] = [];
    pump(nodes, a.tick(299).messages, seen); // a's timeout is within [150, 300)
    expect(a.role).toBe('candidate');
    expect(seen.filter((m) => m.type === 'RequestVoteResponse').every((m) => m.type === 'RequestVoteResponse' && !m.granted)).toBe(true);
    expect([...nodes.values()].some((n) => n.role === 'leader')).toBe(false);

    const b = nodes.get(2)!;
    pump(nodes, b.tick(1_000).messages);
    expect(b.role).toBe('leader');
    expect(b.currentTerm).toBe(4);
    expect(terms(sa)).toEqual([1, 2, 4]); // a's stale suffix was replaced; the no-op arrived
    expect(b.commitIndex).toBe(3);
  });

  it('persists its vote before granting it, so a restarted node does not vote twice in a term', () => {
    const s = storage(4, [1]);
    const rv = (from: NodeId): RequestVote => ({ type: 'RequestVote', from, to: 1, term: 5, lastLogIndex: 1, lastLogTerm: 1 });
    expect(node(1, [1, 2, 3], s).receive(rv(2)).messages[0]).toMatchObject({ granted: true, term: 5 });
    expect(s.hardState()).toEqual({ currentTerm: 5, votedFor: 2 });
    const restarted = node(1, [1, 2, 3], s); // crash: a new node over the same storage
    expect(restarted.receive(rv(3)).messages[0]).toMatchObject({ granted: false });
    expect(restarted.receive(rv(2)).messages[0]).toMatchObject({ granted: true }); // idempotent re-grant
  });

  it('a leader steps down on seeing a higher term, and persists that term', () => {
    const s = storage(1, []);
    const l = node(1, [1, 2, 3], s);
    elect(l, [2]);
    l.receive({ ...ack(2, 1, 9, 0), success: false });
    expect(l.role).toBe('follower');
    expect(l.currentTerm).toBe(9);
    expect(s.hardState()).toEqual({ currentTerm: 9, votedFor: null });
  });

  it('a leader cut off from a majority steps down after an election timeout (check quorum)', () => {
    const l = node(1, [1, 2, 3], storage(1, []));
    elect(l, [2], 1_000);
    l.tick(1_200);
    expect(l.role).toBe('leader');
    l.tick(1_301);
    expect(l.role).toBe('follower');
  });
});

describe('RaftNode: commitment', () => {
  it('does not commit a previous-term entry by counting replicas alone (Figure 8)', () => {
    // S1 leads term 4 with [1, 2]; S2 and S3 hold [1, 2] too: index 2 is on 3 of 5 nodes.
    const l = node(1, [1, 2, 3, 4, 5], storage(3, [1, 2]));
    elect(l, [2, 3]);
    expect(l.lastLogIndex).toBe(3); // [1, 2] plus the term-4 no-op
    expect(l.receive(ack(2, 1, 4, 2)).committed).toEqual([]);
    expect(l.receive(ack(3, 1, 4, 2)).committed).toEqual([]);
    expect(l.commitIndex).toBe(0);
    // Why: S5 with [1, 3] can still win term 5 with the votes of S2 and S3 and overwrite index 2.
    const s2 = node(2, [1, 2, 3, 4, 5], storage(4, [1, 2]));
    const rv: RequestVote = { type: 'RequestVote', from: 5, to: 2, term: 5, lastLogIndex: 2, lastLogTerm: 3 };
    expect(s2.receive(rv).messages[0]).toMatchObject({ granted: true });
    // Once the current-term no-op is on a majority, everything up to it commits.
    expect(l.receive(ack(2, 1, 4, 3)).committed).toEqual([]);
    const r = l.receive(ack(3, 1, 4, 3));
    expect(l.commitIndex).toBe(3);
    expect(r.committed.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 2], [3, 4]]);
  });

  it('backtracks a divergent follower by whole terms, in bounded AppendEntries', () => {
    const ls = storage(3, [...Array(10).fill(1), ...Array(30).fill(3)]);
    const fs = storage(3, [...Array(10).fill(1), ...Array(30).fill(2)]);
    const l = node(1, [1, 2, 3], ls, { maxEntriesPerAppend: 8 });
    const nodes = new Map<NodeId, Node>([[1, l], [2, node(2, [1, 2, 3], fs)]]);
    const seen: RaftMessage<string>[] = [];
    pump(nodes, elect(l, [3]).filter((m) => m.to === 2), seen);
    const rejections = seen.filter((m) => m.type === 'AppendEntriesResponse' && !m.success);
    expect(rejections).toHaveLength(1); // one round trip skips all 30 term-2 entries
    expect(seen.every((m) => m.type !== 'AppendEntries' || m.entries.length <= 8)).toBe(true);
    expect(terms(fs)).toEqual(terms(ls));
    expect(l.commitIndex).toBe(41);
  });
});

describe('RaftNode: proposals', () => {
  it('a non-leader refuses with the leader it knows', () => {
    const f = node(2, [1, 2, 3], storage(1, []));
    expect(f.propose('x')).toEqual({ ok: false, reason: 'not-leader', leaderId: null });
    f.receive(append(3, 2, 2, 0, 0, []));
    expect(f.propose('x')).toEqual({ ok: false, reason: 'not-leader', leaderId: 3 });
  });

  it('a leader refuses once too many entries are uncommitted', () => {
    const l = node(1, [1, 2, 3], storage(1, []), { maxUncommittedEntries: 3 });
    elect(l, [2]); // the no-op is uncommitted entry 1
    expect(l.propose('a')).toMatchObject({ ok: true, index: 2, term: 2 });
    expect(l.propose('b')).toMatchObject({ ok: true, index: 3 });
    expect(l.propose('c')).toEqual({ ok: false, reason: 'too-many-uncommitted', limit: 3 });
    l.receive(ack(2, 1, 2, 3));
    expect(l.commitIndex).toBe(3);
    expect(l.propose('c')).toMatchObject({ ok: true, index: 4 });
  });

  it('a single-voter cluster commits on its own', () => {
    const l = node(1, [1], storage(0, []));
    expect(l.tick(1_000).committed.map((e) => e.kind)).toEqual(['noop']);
    expect(l.role).toBe('leader');
    const r = l.propose('solo');
    expect(r.ok && r.ready.committed.map((e) => e.index)).toEqual([2]);
  });

  it('rejects an even number of voters', () => {
    expect(() => node(1, [1, 2], storage(0, []))).toThrow(/odd/);
  });
});

describe('RaftNode: snapshots', () => {
  const install = (from: NodeId, to: NodeId, term: number, index: number, snapTerm: number, data: string): InstallSnapshot =>
    ({ type: 'InstallSnapshot', from, to, term, lastIncludedIndex: index, lastIncludedTerm: snapTerm, data });

  it('a leader sends its snapshot to a follower that needs compacted entries, then continues with entries', () => {
    const ls = storage(2, [1, 1, 1, 2, 2]);
    const l = node(1, [1, 2, 3], ls);
    const fs = storage(0, []);
    const f = node(2, [1, 2, 3], fs);
    const toF = elect(l, [3]).filter((m) => m.to === 2); // term 3: the no-op is entry 6
    expect(l.receive(ack(3, 1, 3, 6)).committed.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);
    l.compact(4, 'state@4');
    expect([ls.firstIndex(), ls.termAt(4), ls.termAt(3)]).toEqual([5, 2, undefined]);

    const readies: Ready<string>[] = [];
    const seen: RaftMessage<string>[] = [];
    const queue = [...toF];
    while (queue.length > 0) {
      const m = queue.shift()!;
      seen.push(m);
      const r = (m.to === 1 ? l : f).receive(m);
      if (m.to === 2) readies.push(r);
      queue.push(...r.messages.filter((x) => x.to === 1 || x.to === 2));
    }
    // Rejected at 5 (the follower's log is empty), backtracked to 1, which is compacted: the snapshot goes instead.
    const snaps = seen.filter((m) => m.type === 'InstallSnapshot');
    expect(snaps).toEqual([install(1, 2, 3, 4, 2, 'state@4')]);
    expect(readies.map((r) => r.snapshot).filter((s) => s !== null)).toEqual([{ index: 4, term: 2, data: 'state@4' }]);
    expect(readies.flatMap((r) => r.committed).map((e) => e.index)).toEqual([5, 6]); // after the snapshot, never before it
    expect(fs.snapshot()).toEqual({ index: 4, term: 2, data: 'state@4' });
    expect([fs.firstIndex(), fs.lastIndex(), f.commitIndex, f.lastApplied]).toEqual([5, 6, 6, 6]);
    expect(fs.entries(5, 7)).toEqual(ls.entries(5, 7));
  });

  it('re-sends an unacknowledged snapshot once per heartbeat interval, not on every trigger', () => {
    const ls = storage(2, [1, 1, 1]);
    const l = node(1, [1, 2, 3], ls);
    elect(l, [3], 1_000);
    l.receive(ack(3, 1, 3, 4));
    l.compact(4, 's4');
    const reject = (t: number): AppendEntriesResponse => ({ ...ack(2, 1, 3, 0), success: false, rejectedIndex: 3, conflictTerm: 0, conflictIndex: t });
    const snapsTo2 = (ms: RaftMessage<string>[]): number => ms.filter((m) => m.type === 'InstallSnapshot' && m.to === 2).length;
    expect(snapsTo2(l.receive(reject(1)).messages)).toBe(1);
    expect(snapsTo2(l.receive(reject(1)).messages)).toBe(0); // a duplicate rejection within the interval
    const r = l.propose('x');
    expect(r.ok && snapsTo2(r.ready.messages)).toBe(0);
    expect(snapsTo2(l.tick(1_050).messages)).toBe(1); // the heartbeat re-sends it
    // Acknowledged: the follower continues with AppendEntries after the snapshot.
    const next = l.receive({ type: 'InstallSnapshotResponse', from: 2, to: 1, term: 3, matchIndex: 4 }).messages;
    expect(next).toMatchObject([{ type: 'AppendEntries', to: 2, prevLogIndex: 4, prevLogTerm: 3, entries: [{ index: 5 }] }]);
  });

  it('a follower whose log holds the snapshot\'s last entry keeps the entries after it', () => {
    const fs = storage(2, [1, 1, 2, 2, 2]);
    const f = node(2, [1, 2, 3], fs);
    const r = f.receive(install(1, 2, 2, 3, 2, 's3'));
    expect(r.snapshot).toEqual({ index: 3, term: 2, data: 's3' });
    expect(r.committed).toEqual([]);
    expect(r.messages).toEqual([{ type: 'InstallSnapshotResponse', from: 2, to: 1, term: 2, matchIndex: 3 }]);
    expect([f.commitIndex, f.lastApplied, f.leaderId]).toEqual([3, 3, 1]);
    expect(fs.entries(1, 10).map((e) => e.kind === 'command' && e.command)).toEqual(['e4', 'e5']);
    // The kept suffix commits normally once the leader has verified it.
    expect(f.receive(append(1, 2, 2, 5, 2, [], 5)).committed.map((e) => e.index)).toEqual([4, 5]);
  });

  it('a follower whose log differs at the snapshot\'s last entry discards its whole log', () => {
    const fs = storage(2, [1, 1, 1, 1, 1]);
    const f = node(2, [1, 2, 3], fs);
    expect(f.receive(install(1, 2, 2, 3, 2, 's3')).snapshot).toEqual({ index: 3, term: 2, data: 's3' });
    expect([fs.firstIndex(), fs.lastIndex(), fs.termAt(3)]).toEqual([4, 3, 2]);
    // A snapshot past the end of a short log also replaces all of it.
    const gs = storage(2, [1]);
    node(3, [1, 2, 3], gs).receive(install(1, 3, 2, 7, 2, 's7'));
    expect([gs.firstIndex(), gs.lastIndex(), gs.termAt(7), gs.termAt(1)]).toEqual([8, 7, 2, undefined]);
  });

  it('answers a stale or duplicate snapshot with its commit index and ignores it; a stale term gets its term back', () => {
    const fs = storage(2, [1, 1, 1, 1, 1]);
    const f = node(2, [1, 2, 3], fs);
    f.receive(append(1, 2, 2, 5, 1, [], 5));
    expect(f.commitIndex).toBe(5);
    const r = f.receive(install(1, 2, 2, 3, 1, 'old'));
    expect(r.snapshot).toBeNull();
    expect(r.messages).toEqual([{ type: 'InstallSnapshotResponse', from: 2, to: 1, term: 2, matchIndex: 5 }]);
    expect(fs.snapshot()).toBeNull();
    expect(terms(fs)).toEqual([1, 1, 1, 1, 1]);
    expect(f.receive(install(1, 2, 2, 5, 1, 'dup')).snapshot).toBeNull(); // at the commit index: nothing new
    expect(f.receive(install(3, 2, 1, 9, 1, 'deposed')).messages[0]).toMatchObject({ type: 'InstallSnapshotResponse', term: 2, matchIndex: 0 });
    expect(fs.snapshot()).toBeNull();
  });

  it('treats AppendEntries reaching below its snapshot as matching up to the snapshot', () => {
    const fs = storage(2, [1, 1, 1, 1]);
    fs.saveSnapshot({ index: 3, term: 1, data: 's3' });
    const f = node(2, [1, 2, 3], fs);
    expect([f.commitIndex, f.lastApplied]).toEqual([3, 3]);
    // A retransmission from index 2: entries 2–3 are compacted, 4 is held, 5 is new.
    const r = f.receive(append(1, 2, 2, 1, 1, [1, 1, 1, 2], 5));
    expect(r.messages[0]).toMatchObject({ success: true, matchIndex: 5 });
    expect(fs.entries(1, 10).map((e) => [e.index, e.term])).toEqual([[4, 1], [5, 2]]);
    expect(r.committed.map((e) => e.index)).toEqual([4, 5]);
    // Entirely below the snapshot (its prevLogTerm cannot be checked, it is compacted): matches up to the snapshot.
    expect(f.receive(append(1, 2, 2, 0, 0, [1], 5)).messages[0]).toMatchObject({ success: true, matchIndex: 3 });
  });

  it('restarts from the snapshot in storage: commit and applied start at its index', () => {
    const s = storage(0, []);
    const l = node(1, [1], s);
    l.tick(1_000); // single voter: leader at once, no-op 1 committed
    for (const c of ['a', 'b']) l.propose(c);
    expect(l.lastApplied).toBe(3);
    expect(() => l.compact(4, 'x')).toThrow(/beyond lastApplied 3/);
    l.compact(2, 'after-a');
    l.compact(1, 'older'); // at or below the snapshot: nothing to do
    expect(s.snapshot()).toEqual({ index: 2, term: 1, data: 'after-a' });
    expect(l.initialSnapshot()).toBeNull(); // it started without one

    const r = node(1, [1], s);
    expect(r.initialSnapshot()).toEqual({ index: 2, term: 1, data: 'after-a' });
    expect([r.commitIndex, r.lastApplied, r.snapshotIndex, r.lastLogIndex]).toEqual([2, 2, 2, 3]);
    const ready = r.tick(2_000); // leader of term 2: its no-op (entry 4) commits, and 'b' with it
    expect(ready.snapshot).toBeNull();
    expect(ready.committed.map((e) => (e.kind === 'command' ? e.command : e.kind))).toEqual(['b', 'noop']);
  });
});
