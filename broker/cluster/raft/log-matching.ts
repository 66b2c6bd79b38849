// The log-matching half of replication (Raft §5.3) over RaftStorage: a follower's consistency check
// and append for AppendEntries, and a leader's backtracking after a rejection. Kept apart from
// node.ts, which owns the message flow and the volatile state; these functions hold no state.
import type { AppendEntries, AppendEntriesResponse, NodeId, RaftStorage } from './types.ts';

export type AppendOutcome =
  | { readonly ok: true; readonly matchIndex: number }
  | { readonly ok: false; readonly conflictTerm: number; readonly conflictIndex: number };

/**
 * Follower: checks m's prevLogIndex/prevLogTerm against the log and, if they match, makes the log
 * hold m's entries (durably, through storage). `commit` is the follower's commit index: entries up
 * to it are never truncated.
 */
export function appendEntries<C>(id: NodeId, storage: RaftStorage<C>, m: AppendEntries<C>, commit: number): AppendOutcome {
  m.entries.forEach((e, i) => {
    if (e.index !== m.prevLogIndex + 1 + i) throw new Error(`raft: malformed AppendEntries from ${m.from}`);
  });
  const lastIndex = storage.lastIndex();
  if (m.prevLogIndex > lastIndex) return { ok: false, conflictTerm: 0, conflictIndex: lastIndex + 1 };
  // Below our snapshot everything is committed, hence equal to the leader's entries at the same
  // indexes (leader completeness): the log matches up to the snapshot index, check from there on.
  const snapIndex = storage.firstIndex() - 1;
  const skip = Math.max(0, snapIndex - m.prevLogIndex);
  if (skip === 0) {
    const localPrevTerm = termAt(id, storage, m.prevLogIndex);
    if (localPrevTerm !== m.prevLogTerm) {
      let first = m.prevLogIndex; // first index of the conflicting term, for fast backtracking
      while (first - 1 > commit && termAt(id, storage, first - 1) === localPrevTerm) first--;
      return { ok: false, conflictTerm: localPrevTerm, conflictIndex: first };
    }
  }
  // Skip entries we already hold; truncate at the first conflict (never on a mere duplicate).
  let i = skip;
  for (; i < m.entries.length; i++) {
    const e = m.entries[i];
    const existing = storage.termAt(e.index);
    if (existing === undefined) break;
    if (existing !== e.term) {
      if (e.index <= commit) throw new Error(`raft safety violation: node ${id} asked to overwrite committed index ${e.index}`);
      storage.truncateFrom(e.index);
      break;
    }
  }
  if (i < m.entries.length) storage.append(m.entries.slice(i));
  return { ok: true, matchIndex: Math.max(m.prevLogIndex + m.entries.length, snapIndex) };
}

/**
 * Leader: the next index to try for a follower that rejected m.rejectedIndex, given its conflict
 * hint and `match`, the index it is already known to hold.
 */
export function nextAfterRejection<C>(id: NodeId, storage: RaftStorage<C>, m: AppendEntriesResponse, match: number): number {
  const lastIndex = storage.lastIndex();
  let next = m.conflictIndex;
  if (m.conflictTerm > 0) {
    // If we hold entries of the follower's conflicting term, resume right after our last one
    // (searching down to our snapshot: the terms below it are gone).
    const floor = storage.firstIndex() - 1;
    let i = Math.min(m.rejectedIndex, lastIndex);
    while (i > floor && termAt(id, storage, i) > m.conflictTerm) i--;
    if (i >= floor && termAt(id, storage, i) === m.conflictTerm) next = i + 1;
  }
  // A next index at or below our snapshot makes the leader send the snapshot instead.
  return Math.max(match + 1, Math.min(next, m.rejectedIndex, lastIndex + 1));
}

/** Term at an index the caller knows to be in the log (or the snapshot's); a gap is a bug. */
export function termAt<C>(id: NodeId, storage: RaftStorage<C>, index: number): number {
  const t = storage.termAt(index);
  if (t === undefined) throw new Error(`raft: node ${id} has no entry at ${index}`);
  return t;
}
