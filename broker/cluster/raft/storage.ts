// In-memory RaftStorage: used by the simulation, where a "crash" discards the RaftNode object and
// a restart builds a new one over the same MemoryRaftStorage. Writes are durable on return.
import type { HardState, LogEntry, RaftStorage } from './types.ts';

export class MemoryRaftStorage<C> implements RaftStorage<C> {
  private state: HardState = { currentTerm: 0, votedFor: null };
  private readonly log: LogEntry<C>[] = [];

  hardState(): HardState {
    return this.state;
  }

  setHardState(state: HardState): void {
    if (state.currentTerm < this.state.currentTerm) {
      throw new Error(`raft storage: currentTerm must not decrease (${this.state.currentTerm} -> ${state.currentTerm})`);
    }
    this.state = { currentTerm: state.currentTerm, votedFor: state.votedFor };
  }

  lastIndex(): number {
    return this.log.length;
  }

  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    return this.log[index - 1]?.term;
  }

  entries(from: number, toExclusive: number): LogEntry<C>[] {
    return this.log.slice(Math.max(0, from - 1), Math.max(0, toExclusive - 1));
  }

  append(entries: readonly LogEntry<C>[]): void {
    let expected = this.log.length + 1;
    for (const e of entries) {
      if (e.index !== expected) throw new Error(`raft storage: append expected index ${expected}, got ${e.index}`);
      this.log.push(e);
      expected++;
    }
  }

  truncateFrom(from: number): void {
    if (from < 1) throw new Error(`raft storage: truncateFrom(${from})`);
    if (from <= this.log.length) this.log.length = from - 1;
  }
}
