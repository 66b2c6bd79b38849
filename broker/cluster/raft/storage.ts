// In-memory RaftStorage: used by the simulation, where a "crash" discards the RaftNode object and
// a restart builds a new one over the same MemoryRaftStorage. Writes are durable on return.
import type { HardState, LogEntry, RaftSnapshot, RaftStorage } from './types.ts';

export class MemoryRaftStorage<C> implements RaftStorage<C> {
  private state: HardState = { currentTerm: 0, votedFor: null };
  private snap: RaftSnapshot | null = null;
  /** log[i] is the entry at index base + 1 + i, where base is the snapshot's index (0 without one). */
  private log: LogEntry<C>[] = [];

  hardState(): HardState {
    return this.state;
  }

  setHardState(state: HardState): void {
    if (state.currentTerm < this.state.currentTerm) {
      throw new Error(`raft storage: currentTerm must not decrease (${this.state.currentTerm} -> ${state.currentTerm})`);
    }
    this.state = { currentTerm: state.currentTerm, votedFor: state.votedFor };
  }

  snapshot(): RaftSnapshot | null {
    return this.snap;
  }

  saveSnapshot(s: RaftSnapshot): void {
    checkSnapshot(s, this.snap);
    const keep = this.termAt(s.index) === s.term; // else the log is another history: discard all of it
    this.log = keep ? this.log.slice(s.index - this.base()) : [];
    this.snap = { index: s.index, term: s.term, data: s.data };
  }

  firstIndex(): number {
    return this.base() + 1;
  }

  lastIndex(): number {
    return this.base() + this.log.length;
  }

  termAt(index: number): number | undefined {
    const base = this.base();
    if (index === base) return this.snap?.term ?? 0;
    if (index < base) return undefined;
    return this.log[index - base - 1]?.term;
  }

  entries(from: number, toExclusive: number): LogEntry<C>[] {
    const base = this.base();
    return this.log.slice(Math.max(0, from - base - 1), Math.max(0, toExclusive - base - 1));
  }

  append(entries: readonly LogEntry<C>[]): void {
    let expected = this.lastIndex() + 1;
    for (const e of entries) {
      if (e.index !== expected) throw new Error(`raft storage: append expected index ${expected}, got ${e.index}`);
      this.log.push(e);
      expected++;
    }
  }

  truncateFrom(from: number): void {
    const base = this.base();
    if (from < 1 || from <= base) throw new Error(`raft storage: truncateFrom(${from}) with entries up to ${base} compacted`);
    if (from <= this.lastIndex()) this.log.length = from - base - 1;
  }

  private base(): number {
    return this.snap?.index ?? 0;
  }
}

/** Shape and order checks shared by the storages: a snapshot must be newer than the current one. */
export function checkSnapshot(s: RaftSnapshot, current: RaftSnapshot | null): void {
  if (!Number.isSafeInteger(s.index) || s.index < 1 || !Number.isSafeInteger(s.term) || s.term < 1 || typeof s.data !== 'string') {
    throw new Error(`raft storage: invalid snapshot (index ${s.index}, term ${s.term})`);
  }
  if (current !== null && (s.index <= current.index || s.term < current.term)) {
    throw new Error(`raft storage: snapshot at ${s.index} (term ${s.term}) is not newer than the current one at ${current.index} (term ${current.term})`);
  }
}
