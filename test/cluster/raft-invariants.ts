// Invariant checker for the Raft simulation: a global record of every committed entry, checked
// against what each node applies and what each node's storage holds. Violations throw.
//
// Each node's state machine is a hash chain over the entries it applied (noops included), so a
// snapshot is small: "index:hash". The record keeps the chain's value after every committed index,
// which is what a snapshot taken, stored, sent or restored at that index must carry.
import type { RaftNode } from '../../broker/cluster/raft/node.ts';
import type { MemoryRaftStorage } from '../../broker/cluster/raft/storage.ts';
import type { LogEntry, NodeId, RaftSnapshot } from '../../broker/cluster/raft/types.ts';

export type Cmd = string;
interface Committed { readonly term: number; readonly kind: 'noop' | 'command'; readonly command: Cmd | null }

const EMPTY_STATE = '0:0000000000000000';

export class RaftInvariants {
  /** Every entry any node ever applied, by index - 1: the ground truth of what is committed. */
  private readonly record: Committed[] = [];
  private readonly committedCommands = new Set<Cmd>();
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly appliedCount = new Map<NodeId, number>();
  /** stateAt[i]: the state machine after applying committed entries 1..i. */
  private readonly stateAt: string[] = [EMPTY_STATE];
  private readonly nodeState = new Map<NodeId, string>();
  /** `storages` holds every voter's storage (filled in by the caller before the first check). */
  constructor(private readonly storages: ReadonlyMap<NodeId, MemoryRaftStorage<Cmd>>) {}

  get committedCount(): number {
    return this.record.length;
  }
  get leadersElected(): number {
    return this.leaderOfTerm.size;
  }

  /** A (re)started node restores the snapshot in its storage (if any) and applies from there on. */
  nodeStarted(id: NodeId, snapshot: RaftSnapshot | null): void {
    this.appliedCount.set(id, 0);
    this.nodeState.set(id, EMPTY_STATE);
    if (snapshot) this.restore(id, snapshot, 'restored at start');
  }

  /** The node installed a snapshot from the leader: it must be the state everyone had at that index. */
  installed(id: NodeId, snapshot: RaftSnapshot): void {
    if (snapshot.index <= this.appliedCount.get(id)!) {
      throw new Error(`node ${id} installed a snapshot at ${snapshot.index}, not past what it applied (${this.appliedCount.get(id)})`);
    }
    this.restore(id, snapshot, 'installed');
  }

  /** The node's state machine, serialized: what it passes to compact(lastApplied, ...). */
  stateOf(id: NodeId): string {
    return this.nodeState.get(id)!;
  }
  appliedIndex(id: NodeId): number {
    return this.appliedCount.get(id)!;
  }

  private restore(id: NodeId, s: RaftSnapshot, how: string): void {
    this.checkSnapshot(s, `node ${id} ${how}`);
    this.appliedCount.set(id, s.index);
    this.nodeState.set(id, s.data);
  }

  /** A snapshot must carry the state at its index, and its term must be that of the committed entry there. */
  private checkSnapshot(s: RaftSnapshot, what: string): void {
    const rec = this.record[s.index - 1];
    if (rec === undefined) throw new Error(`${what}: snapshot at ${s.index}, past every applied entry (${this.record.length})`);
    if (s.data !== this.stateAt[s.index] || s.term !== rec.term) {
      throw new Error(`${what}: snapshot at ${s.index} is (term ${s.term}, ${s.data}); the state there was (term ${rec.term}, ${this.stateAt[s.index]})`);
    }
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
    const state = nextState(this.nodeState.get(id)!, e);
    this.nodeState.set(id, state);
    const rec = this.record[e.index - 1];
    if (rec === undefined) {
      if (command !== null) {
        if (this.committedCommands.has(command)) throw new Error(`command ${command} committed twice`);
        this.committedCommands.add(command);
      }
      this.record.push({ term: e.term, kind: e.kind, command });
      this.stateAt.push(state);
    } else if (!sameEntry(e, rec)) {
      throw new Error(`state machine safety: node ${id} applied ${describe(e.term, command)} at ${e.index}, others applied ${describe(rec.term, rec.command)}`);
    } else if (state !== this.stateAt[e.index]) {
      throw new Error(`state machine safety: node ${id} reached state ${state} at ${e.index}, others ${this.stateAt[e.index]}`);
    }
  }

  /** (2) No committed entry is lost or changed: each is held by a majority of storages (in the log,
   *  or covered by a snapshot of the right state), and every live node's committed prefix
   *  (including a restarted node's) equals the record. */
  checkDurability(live: ReadonlyMap<NodeId, RaftNode<Cmd> | null>): void {
    const held = [...this.storages].map(([id, s]) => {
      const snap = s.snapshot();
      if (snap) this.checkSnapshot(snap, `storage of node ${id}`);
      return { upTo: snap?.index ?? 0, log: s.entries(1, this.record.length + 1) };
    });
    this.record.forEach((rec, i) => {
      let holders = 0;
      for (const { upTo, log } of held) {
        const e = log[i - upTo];
        if (i < upTo || (e && sameEntry(e, rec))) holders++;
      }
      if (holders < Math.floor(this.storages.size / 2) + 1) throw new Error(`committed entry ${i + 1} ${describe(rec.term, rec.command)} held by only ${holders} storages`);
    });
    for (const [id, node] of live) {
      if (node) this.checkPrefix(id, Math.min(node.commitIndex, this.record.length), `node ${id} committed prefix`);
    }
  }

  /** The node's storage holds the committed entries up to `upTo`: in its snapshot, then its log. */
  checkPrefix(id: NodeId, upTo: number, what: string): void {
    const storage = this.storages.get(id)!;
    const snap = storage.snapshot();
    if (snap) this.checkSnapshot(snap, what);
    const from = Math.min(snap?.index ?? 0, upTo);
    const log = storage.entries(from + 1, upTo + 1);
    for (let i = from; i < upTo; i++) {
      const e = log[i - from];
      if (!e || !sameEntry(e, this.record[i])) {
        const got = e ? describe(e.term, cmdOf(e)) : 'missing';
        throw new Error(`${what}: index ${i + 1} is ${got}, committed was ${describe(this.record[i].term, this.record[i].command)}`);
      }
    }
  }
}

/** The state after applying `e`: "index:hash", the hash chained over every applied entry (two 32-bit FNV-1a lanes). */
function nextState(prev: string, e: LogEntry<Cmd>): string {
  const text = `${prev}|${e.term}|${e.kind === 'command' ? `c:${e.command}` : 'n'}`;
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x0100019d);
  }
  const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
  return `${e.index}:${hex(a)}${hex(b)}`;
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
