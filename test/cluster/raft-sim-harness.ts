// Deterministic network simulation for the Raft core. One seed fixes everything: cluster size,
// fault rates, partitions, crashes/restarts, message delays/reordering/duplication/drops, when
// nodes compact their logs into snapshots, and the nodes' election timeouts. Invariants are
// checked as the run goes; any violation throws an Error whose message starts with the seed so the
// run can be replayed.
import { RaftNode } from '../../broker/cluster/raft/node.ts';
import { mulberry32 } from '../helpers/prng.ts';
import { MemoryRaftStorage } from '../../broker/cluster/raft/storage.ts';
import type { NodeId, RaftMessage, Ready } from '../../broker/cluster/raft/types.ts';
import { RaftInvariants, type Cmd } from './raft-invariants.ts';

export interface SimOptions {
  readonly seed: number;
  /** Simulated ms of faults and client load before the network heals. */
  readonly chaosMs: number;
  /** Simulated ms after healing within which a fresh command must commit on every node. */
  readonly livenessBudgetMs: number;
}

export interface SimStats {
  nodes: number;
  maxTerm: number;
  leadersElected: number;
  crashes: number;
  partitions: number;
  proposalsAccepted: number;
  committedEntries: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  /** Snapshots taken by compact(), installed from a leader, and restored by a restarted node. */
  compactions: number;
  snapshotsInstalled: number;
  snapshotRestores: number;
  /** Simulated ms from healing until the fresh command was applied on all nodes. */
  recoveryMs: number;
}

interface InFlight { readonly msg: RaftMessage<Cmd> }

const MAX_IN_FLIGHT = 5_000; // the simulated network's buffer: overflow is dropped
const TICK_EVERY_MS = 2;

export function runRaftSim(opts: SimOptions): SimStats {
  const sim = new Simulation(opts);
  try {
    return sim.run();
  } catch (err) {
    const e = err as Error;
    e.message = `seed ${opts.seed} (replay with RAFT_SIM_SEED=${opts.seed}) at t=${sim.now}ms: ${e.message}`;
    throw e;
  }
}

class Simulation {
  now = 0;
  private readonly rng: () => number;
  private readonly ids: NodeId[];
  private readonly storages = new Map<NodeId, MemoryRaftStorage<Cmd>>();
  private readonly nodes = new Map<NodeId, RaftNode<Cmd> | null>();
  private readonly incarnation = new Map<NodeId, number>();
  private readonly restartAt = new Map<NodeId, number>();
  private readonly group = new Map<NodeId, number>();
  private readonly buckets = new Map<number, InFlight[]>();
  private inFlight = 0;
  private readonly check = new RaftInvariants(this.storages);
  // Fault knobs, re-rolled during chaos.
  private dropP = 0;
  private dupP = 0;
  private slowP = 0;
  private baseDelay = 1;
  private jitter = 5;
  private commandSeq = 0;
  // Per-seed bounds: small batches make replication (and backtracking) take many round trips.
  private readonly maxEntriesPerAppend: number;
  private readonly maxUncommitted: number;
  private readonly crashAfterSendP: number;
  /** A node compacts (at random) once it has applied more than this many entries past its snapshot; 0: never. */
  private readonly compactAfter: number;
  private readonly stats: SimStats;

  constructor(private readonly opts: SimOptions) {
    this.rng = mulberry32(opts.seed);
    const n = this.rng() < 0.5 ? 3 : 5;
    this.ids = Array.from({ length: n }, (_, i) => i + 1);
    this.stats = { nodes: n, maxTerm: 0, leadersElected: 0, crashes: 0, partitions: 0, proposalsAccepted: 0, committedEntries: 0, delivered: 0, dropped: 0, duplicated: 0, compactions: 0, snapshotsInstalled: 0, snapshotRestores: 0, recoveryMs: -1 };
    this.maxEntriesPerAppend = [1, 2, 4, 16][this.randInt(0, 3)];
    this.maxUncommitted = [8, 64][this.randInt(0, 1)];
    this.crashAfterSendP = this.rng() * 0.01;
    // Most seeds compact, after few entries, so that lagging and restarted nodes need snapshots often.
    this.compactAfter = this.rng() < 0.1 ? 0 : this.randInt(5, 20);
    for (const id of this.ids) {
      this.storages.set(id, new MemoryRaftStorage<Cmd>());
      this.incarnation.set(id, 0);
      this.group.set(id, 0);
      this.start(id);
    }
    this.rollNetwork();
  }

  run(): SimStats {
    const { chaosMs, livenessBudgetMs } = this.opts;
    let nextFault = this.randInt(20, 200);
    let nextProposal = this.randInt(1, 20);
    for (; this.now < chaosMs; this.now++) {
      if (this.now >= nextFault) {
        this.injectFault();
        nextFault = this.now + this.randInt(20, 250);
      }
      for (const [id, at] of this.restartAt) if (this.now >= at) this.start(id);
      this.step();
      if (this.now >= nextProposal) {
        this.clientPropose(`c${++this.commandSeq}`);
        nextProposal = this.now + this.randInt(1, 25);
      }
      if (this.now % 100 === 0) this.check.checkDurability(this.nodes);
    }
    // Heal: every node up, one partition, no drops or duplicates (delays and reordering remain).
    for (const id of this.ids) if (this.nodes.get(id) === null) this.start(id);
    for (const id of this.ids) this.group.set(id, 0);
    this.dropP = 0;
    this.dupP = 0;
    this.slowP = 0;
    this.baseDelay = 1;
    this.jitter = 5;
    const healedAt = this.now;
    const fresh = new Set<Cmd>();
    let nextFresh = this.now;
    for (; this.now < healedAt + livenessBudgetMs; this.now++) {
      this.step();
      if (this.now >= nextFresh) {
        // Retried with a new command each time: an accepted one may be lost if its leader is deposed.
        const cmd = `fresh${fresh.size + 1}`;
        if (this.clientPropose(cmd)) fresh.add(cmd);
        nextFresh = this.now + 50;
      }
      const done = this.check.appliedEverywhere(fresh);
      if (done !== null) {
        this.stats.recoveryMs = this.now - healedAt;
        this.check.checkDurability(this.nodes);
        for (const id of this.ids) this.check.checkPrefix(id, done, `final log of node ${id}`);
        this.stats.committedEntries = this.check.committedCount;
        this.stats.leadersElected = this.check.leadersElected;
        return this.stats;
      }
    }
    throw new Error(`liveness: no fresh command committed on all ${this.ids.length} nodes within ${livenessBudgetMs}ms after healing`);
  }

  // ---- driving the nodes ----

  private start(id: NodeId): void {
    const inc = this.incarnation.get(id)! + 1;
    this.incarnation.set(id, inc);
    this.restartAt.delete(id);
    const node = new RaftNode<Cmd>({
      id,
      voters: this.ids,
      storage: this.storages.get(id)!,
      random: mulberry32((this.opts.seed * 7919 + id * 104_729 + inc * 15_485_863) >>> 0),
      nowMs: this.now,
      maxEntriesPerAppend: this.maxEntriesPerAppend,
      maxUncommittedEntries: this.maxUncommitted,
      maxCommittedPerReady: 32,
    });
    this.nodes.set(id, node);
    // A restarted node restores its snapshot, if it has one, and re-applies the entries after it.
    const snap = node.initialSnapshot();
    if (snap) this.stats.snapshotRestores++;
    this.check.nodeStarted(id, snap);
  }

  private step(): void {
    const due = this.buckets.get(this.now);
    if (due) {
      this.buckets.delete(this.now);
      this.inFlight -= due.length;
      for (const { msg } of due) {
        const node = this.nodes.get(msg.to);
        if (!node || this.group.get(msg.from) !== this.group.get(msg.to)) {
          this.stats.dropped++;
          continue;
        }
        this.stats.delivered++;
        this.handle(msg.to, node.receive(msg));
      }
    }
    if (this.now % TICK_EVERY_MS === 0) {
      for (const id of this.ids) {
        const node = this.nodes.get(id);
        if (node) this.handle(id, node.tick(this.now));
      }
    }
  }

  /** Proposes through a random live node, following one not-leader redirect. */
  private clientPropose(cmd: Cmd): boolean {
    const live = this.ids.filter((id) => this.nodes.get(id));
    if (live.length === 0) return false;
    let id = live[this.randInt(0, live.length - 1)];
    for (let hop = 0; hop < 2; hop++) {
      const node = this.nodes.get(id)!;
      const res = node.propose(cmd);
      if (res.ok) {
        this.stats.proposalsAccepted++;
        this.handle(id, res.ready);
        return true;
      }
      if (res.reason !== 'not-leader' || res.leaderId === null || !this.nodes.get(res.leaderId)) return false;
      id = res.leaderId;
    }
    return false;
  }

  private handle(id: NodeId, ready: Ready<Cmd>): void {
    const node = this.nodes.get(id)!;
    if (node.currentTerm > this.stats.maxTerm) this.stats.maxTerm = node.currentTerm;
    this.check.observe(id, node);
    if (ready.snapshot) {
      this.stats.snapshotsInstalled++;
      this.check.installed(id, ready.snapshot); // replaces the state machine before `committed`
    }
    for (const e of ready.committed) this.check.applied(id, e);
    if (this.check.appliedIndex(id) !== node.lastApplied) {
      throw new Error(`node ${id} reports lastApplied ${node.lastApplied}, but handed out entries up to ${this.check.appliedIndex(id)}`);
    }
    if (this.compactAfter > 0 && node.lastApplied - node.snapshotIndex > this.compactAfter && this.rng() < 0.5) {
      node.compact(node.lastApplied, this.check.stateOf(id));
      this.stats.compactions++;
    }
    for (const m of ready.messages) this.send(m);
    // Crash right after a send, the moment a missed write-before-send would be exposed.
    // Votes are where a lost write does most damage, so crash there more often.
    const votes = ready.messages.some((m) => m.type === 'RequestVote' || (m.type === 'RequestVoteResponse' && m.granted));
    const p = votes ? this.crashAfterSendP * 20 : this.crashAfterSendP;
    if (ready.messages.length > 0 && this.now < this.opts.chaosMs && this.rng() < p) {
      this.crash(id, this.randInt(1, 30));
    }
  }

  private crash(id: NodeId, downMs: number): void {
    this.nodes.set(id, null); // volatile state gone, storage kept
    this.restartAt.set(id, this.now + downMs);
    this.stats.crashes++;
  }

  private send(msg: RaftMessage<Cmd>): void {
    if (this.rng() < this.dropP) {
      this.stats.dropped++;
      return;
    }
    const copies = this.rng() < this.dupP ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      if (this.inFlight >= MAX_IN_FLIGHT) {
        this.stats.dropped++;
        return;
      }
      let delay = this.baseDelay + this.randInt(0, this.jitter);
      if (this.rng() < this.slowP) delay += this.randInt(20, 200);
      const at = this.now + Math.max(1, delay);
      // A copy, as a real wire would make: no node can alias another node's entries.
      const copy = msg.type === 'AppendEntries' ? { ...msg, entries: msg.entries.map((e) => ({ ...e })) } : { ...msg };
      const bucket = this.buckets.get(at);
      if (bucket) bucket.push({ msg: copy });
      else this.buckets.set(at, [{ msg: copy }]);
      this.inFlight++;
    }
  }

  // ---- faults ----

  private rollNetwork(): void {
    this.dropP = this.rng() < 0.3 ? 0 : this.rng() * 0.25;
    this.dupP = this.rng() * 0.1;
    this.slowP = this.rng() * 0.15;
    this.baseDelay = this.randInt(1, 5);
    this.jitter = this.randInt(0, 15);
  }

  private injectFault(): void {
    const r = this.rng();
    const leader = this.currentLeader();
    if (r < 0.15) {
      for (const id of this.ids) this.group.set(id, this.randInt(0, 1)); // random split
      this.stats.partitions++;
    } else if (r < 0.3 && leader !== null) {
      for (const id of this.ids) this.group.set(id, id === leader ? 1 : 0); // isolate the leader
      this.stats.partitions++;
    } else if (r < 0.5) {
      for (const id of this.ids) this.group.set(id, 0); // heal the partition
    } else if (r < 0.7) {
      const victim = r < 0.6 && leader !== null ? leader : this.ids[this.randInt(0, this.ids.length - 1)];
      if (this.nodes.get(victim)) this.crash(victim, this.rng() < 0.5 ? this.randInt(1, 50) : this.randInt(50, 600));
    } else if (r < 0.85) {
      this.rollNetwork();
    }
    // else: a quiet period
  }

  private currentLeader(): NodeId | null {
    let best: NodeId | null = null;
    let bestTerm = -1;
    for (const id of this.ids) {
      const n = this.nodes.get(id);
      if (n && n.role === 'leader' && n.currentTerm > bestTerm) {
        best = id;
        bestTerm = n.currentTerm;
      }
    }
    return best;
  }

  private randInt(lo: number, hi: number): number {
    return lo + Math.floor(this.rng() * (hi - lo + 1));
  }
}
