// Invariant checker for the Raft simulation: a global record of every committed entry, checked
// against what each node applies and what each node's storage holds. Violations throw.
import type { RaftNode } from '../../broker/cluster/raft/node.ts';
import type { MemoryRaftStorage } from '../../broker/cluster/raft/storage.ts';
import type { LogEntry, NodeId } from '../../broker/cluster/raft/types.ts';

export type Cmd = string;
interface Committed { readonly term: number; readonly kind: 'noop' | 'command'; readonly command: Cmd | null }

export class RaftInvariants {
  /** Every entry any node ever applied, by index - 1: the ground truth of what is committed. */
  private readonly record: Committed[] = [];
  private readonly committedCommands = new Set<Cmd>();
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly appliedCount = new Map<NodeId, number>();
  /** `storages` holds every voter's storage (filled in by the caller before the first check). */
  constructor(private readonly storages: ReadonlyMap<NodeId, MemoryRaftStorage<Cmd>>) {}

  get committedCount(): number {
    return this.record.length;
  }
  get leadersElected(): number {
    return this.leaderOfTerm.size;
  }

  /** A (re)started node applies again from index 1. */
  nodeStarted(id: NodeId): void {
    this.appliedCount.set(id, 0);
  }

  /** Index of the first committed entry carrying one of `commands`, if every node has applied it. */
  appliedEverywhere(commands: ReadonlySet<Cmd>): number | null {
    const i = this.record.findIndex((r) => r.command !== null && commands.has(r.command));
    if (i < 0) return null;
    for (const n of this.appliedCount.values()) if (n <= i) return null;
    return i + 1;
  }

  /** (1) Election safety: at most one leader per term; plus leader completeness on election. */
  observe(id: NodeId, node: RaftNode<Cmd>): void {
    if (node.role !== 'leader') return;
    const known = this.leaderOfTerm.get(node.currentTerm);
    if (known === undefined) {
      this.leaderOfTerm.set(node.currentTerm, id);
      // Leader completeness (§5.4): a new leader holds every entry committed so far.
      this.checkPrefix(id, this.record.length, `new leader ${id} (term ${node.currentTerm})`);
    } else if (known !== id) {
      throw new Error(`election safety: nodes ${known} and ${id} are both leader of term ${node.currentTerm}`);
    }
  }

  /** (2)+(3) Each node applies entries in order, and the same entry at each index as every other node. */
  applied(id: NodeId, e: LogEntry<Cmd>): void {
    const expected = this.appliedCount.get(id)! + 1;
    if (e.index !== expected) throw new Error(`node ${id} applied index ${e.index}, expected ${expected}`);
    this.appliedCount.set(id, expected);
    const command = e.kind === 'command' ? e.command : null;
    const rec = this.record[e.index - 1];
    if (rec === undefined) {
      if (command !== null) {
        if (this.committedCommands.has(command)) throw new Error(`command ${command} committed twice`);
        this.committedCommands.add(command);
      }
      this.record.push({ term: e.term, kind: e.kind, command });
    } else if (!sameEntry(e, rec)) {
      throw new Error(`state machine safety: node ${id} applied ${describe(e.term, command)} at ${e.index}, others applied ${describe(rec.term, rec.command)}`);
    }
  }

  /** (2) No committed entry is lost or changed: each is held by a majority of storages, and every
   *  live node's committed prefix (including a restarted node's) equals the record. */
  checkDurability(live: ReadonlyMap<NodeId, RaftNode<Cmd> | null>): void {
    const logs = [...this.storages.values()].map((s) => s.entries(1, this.record.length + 1));
    this.record.forEach((rec, i) => {
      let holders = 0;
      for (const log of logs) if (log[i] && sameEntry(log[i], rec)) holders++;
      if (holders < Math.floor(this.storages.size / 2) + 1) throw new Error(`committed entry ${i + 1} ${describe(rec.term, rec.command)} held by only ${holders} storages`);
    });
    for (const [id, node] of live) {
      if (node) this.checkPrefix(id, Math.min(node.commitIndex, this.record.length), `node ${id} committed prefix`);
    }
  }

  checkPrefix(id: NodeId, upTo: number, what: string): void {
    const log = this.storages.get(id)!.entries(1, upTo + 1);
    for (let i = 0; i < upTo; i++) {
      if (!log[i] || !sameEntry(log[i], this.record[i])) {
        const got = log[i] ? describe(log[i].term, cmdOf(log[i])) : 'missing';
        throw new Error(`${what}: index ${i + 1} is ${got}, committed was ${describe(this.record[i].term, this.record[i].command)}`);
      }
    }
  }
}

function cmdOf(e: LogEntry<Cmd>): Cmd | null {
  return e.kind === 'command' ? e.command : null;
}
function sameEntry(e: LogEntry<Cmd>, rec: Committed): boolean {
  return e.term === rec.term && e.kind === rec.kind && cmdOf(e) === rec.command;
}
function describe(term: number, command: Cmd | null): string {
  return `(term ${term}, ${command ?? 'noop'})`;
}
