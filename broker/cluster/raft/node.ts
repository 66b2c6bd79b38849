// RaftNode: the Raft consensus algorithm (Ongaro & Ousterhout, "In Search of an Understandable
// Consensus Algorithm") as a pure, deterministic state machine. It is driven by tick(nowMs),
// receive(message) and propose(command); each call returns a Ready with the messages to send and
// the entries newly committed. Nothing is buffered inside the node between calls.
//
// Durability: every change to currentTerm, votedFor or the log goes to RaftStorage before the call
// returns the messages that depend on it, so a crash (discard the node, build a new one over the
// same storage) never forgets a vote or an acknowledged entry. commitIndex and lastApplied are
// volatile: a restarted node re-delivers committed entries from index 1 as it learns the commit
// index again (no snapshots yet — out of scope, see types.ts).
import type {
  AppendEntries,
  AppendEntriesResponse,
  NodeId,
  ProposeResult,
  RaftConfig,
  RaftMessage,
  RaftStorage,
  Ready,
  RequestVote,
  RequestVoteResponse,
  Role,
} from './types.ts';
import { resolveRaftConfig, type ResolvedRaftConfig } from './config.ts';

type Outgoing<C> = RaftMessage<C> extends infer M ? (M extends RaftMessage<C> ? Omit<M, 'from' | 'term'> : never) : never;

export class RaftNode<C> {
  readonly id: NodeId;
  private readonly cfg: ResolvedRaftConfig;
  private readonly peers: readonly NodeId[];
  private readonly storage: RaftStorage<C>;
  private readonly random: () => number;

  private now: number;
  private term: number;
  private votedFor: NodeId | null;
  private currentRole: Role = 'follower';
  private leader: NodeId | null = null;
  private commit = 0;
  private applied = 0;
  private electionDeadline = 0;
  private votes = new Set<NodeId>();
  // Leader-only state, reset by becomeLeader().
  private readonly nextIndex = new Map<NodeId, number>();
  private readonly matchIndex = new Map<NodeId, number>();
  private readonly inflight = new Set<NodeId>();
  private readonly acked = new Set<NodeId>();
  private nextHeartbeatAt = 0;
  private quorumCheckAt = 0;
  // Messages produced by the current call; drained by ready() before the call returns.
  private out: RaftMessage<C>[] = [];

  constructor(config: RaftConfig<C>) {
    this.cfg = resolveRaftConfig(config);
    this.id = config.id;
    this.peers = this.cfg.peers;
    this.storage = config.storage;
    this.random = config.random;
    const hard = this.storage.hardState();
    this.term = hard.currentTerm;
    this.votedFor = hard.votedFor;
    this.now = config.nowMs;
    this.resetElectionTimer();
  }

  get role(): Role {
    return this.currentRole;
  }
  get currentTerm(): number {
    return this.term;
  }
  /** The leader of the current term as far as this node knows (itself when leader). */
  get leaderId(): NodeId | null {
    return this.leader;
  }
  get commitIndex(): number {
    return this.commit;
  }
  /** Highest index handed out in Ready.committed. */
  get lastApplied(): number {
    return this.applied;
  }
  get lastLogIndex(): number {
    return this.storage.lastIndex();
  }

  /** Advances time: election timeouts, heartbeats, the leader's quorum check. */
  tick(nowMs: number): Ready<C> {
    if (nowMs < this.now) throw new RangeError(`raft: time went backwards (${this.now} -> ${nowMs})`);
    this.now = nowMs;
    if (this.currentRole === 'leader') {
      if (this.now >= this.quorumCheckAt) {
        if (this.cfg.checkQuorum && this.acked.size + 1 < this.cfg.quorum) {
          this.becomeFollower(this.term, null); // cut off from a majority: stop accepting proposals
          return this.ready();
        }
        this.acked.clear();
        this.quorumCheckAt = this.now + this.cfg.electionMaxMs;
      }
      if (this.now >= this.nextHeartbeatAt) {
        for (const p of this.peers) this.sendAppend(p);
        this.nextHeartbeatAt = this.now + this.cfg.heartbeatMs;
      }
    } else if (this.now >= this.electionDeadline) {
      this.startElection();
    }
    return this.ready();
  }

  /** Handles one message from a peer (at the time of the last tick). */
  receive(msg: RaftMessage<C>): Ready<C> {
    if (msg.to !== this.id || msg.from === this.id || !this.cfg.voters.has(msg.from)) return this.ready();
    if (msg.term > this.term) this.becomeFollower(msg.term, msg.type === 'AppendEntries' ? msg.from : null);
    switch (msg.type) {
      case 'RequestVote':
        this.onRequestVote(msg);
        break;
      case 'RequestVoteResponse':
        this.onVoteResponse(msg);
        break;
      case 'AppendEntries':
        this.onAppendEntries(msg);
        break;
      case 'AppendEntriesResponse':
        this.onAppendResponse(msg);
        break;
    }
    return this.ready();
  }

  /** Appends a command on the leader. Refused on a non-leader (with the known leader) or under backpressure. */
  propose(command: C): ProposeResult<C> {
    if (this.currentRole !== 'leader') return { ok: false, reason: 'not-leader', leaderId: this.leader };
    const last = this.storage.lastIndex();
    if (last - this.commit >= this.cfg.maxUncommitted) {
      return { ok: false, reason: 'too-many-uncommitted', limit: this.cfg.maxUncommitted };
    }
    const index = last + 1;
    this.storage.append([{ index, term: this.term, kind: 'command', command }]);
    for (const p of this.peers) if (!this.inflight.has(p)) this.sendAppend(p);
    this.advanceCommit();
    return { ok: true, index, term: this.term, ready: this.ready() };
  }

  // ---- elections ----

  private resetElectionTimer(): void {
    this.electionDeadline = this.now + this.cfg.electionMinMs + Math.floor(this.random() * (this.cfg.electionMaxMs - this.cfg.electionMinMs));
  }

  private persist(): void {
    this.storage.setHardState({ currentTerm: this.term, votedFor: this.votedFor });
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    if (term > this.term) {
      this.term = term;
      this.votedFor = null;
      this.persist();
    }
    this.currentRole = 'follower';
    this.leader = leader;
    this.votes.clear();
    this.inflight.clear();
    this.resetElectionTimer();
  }

  private startElection(): void {
    this.term += 1;
    this.votedFor = this.id;
    this.persist(); // before any RequestVote leaves
    this.currentRole = 'candidate';
    this.leader = null;
    this.votes = new Set([this.id]);
    this.resetElectionTimer();
    if (this.votes.size >= this.cfg.quorum) {
      this.becomeLeader();
      return;
    }
    const lastLogIndex = this.storage.lastIndex();
    const lastLogTerm = this.termAt(lastLogIndex);
    for (const to of this.peers) this.send({ type: 'RequestVote', to, lastLogIndex, lastLogTerm });
  }

  private onRequestVote(m: RequestVote): void {
    const lastIndex = this.storage.lastIndex();
    const lastTerm = this.termAt(lastIndex);
    // §5.4.1: vote only for a candidate whose log is at least as up-to-date as ours.
    const upToDate = m.lastLogTerm > lastTerm || (m.lastLogTerm === lastTerm && m.lastLogIndex >= lastIndex);
    const granted = m.term === this.term && (this.votedFor === null || this.votedFor === m.from) && upToDate;
    if (granted) {
      if (this.votedFor !== m.from) {
        this.votedFor = m.from;
        this.persist(); // before the grant leaves
      }
      this.resetElectionTimer();
    }
    this.send({ type: 'RequestVoteResponse', to: m.from, granted });
  }

  private onVoteResponse(m: RequestVoteResponse): void {
    if (this.currentRole !== 'candidate' || m.term !== this.term || !m.granted) return;
    this.votes.add(m.from);
    if (this.votes.size >= this.cfg.quorum) this.becomeLeader();
  }

  private becomeLeader(): void {
    this.currentRole = 'leader';
    this.leader = this.id;
    const next = this.storage.lastIndex() + 1;
    for (const p of this.peers) {
      this.nextIndex.set(p, next);
      this.matchIndex.set(p, 0);
    }
    this.inflight.clear();
    this.acked.clear();
    this.quorumCheckAt = this.now + this.cfg.electionMaxMs;
    // A no-op in the new term lets earlier-term entries commit (§5.4.2) without waiting for a client.
    this.storage.append([{ index: next, term: this.term, kind: 'noop' }]);
    for (const p of this.peers) this.sendAppend(p);
    this.nextHeartbeatAt = this.now + this.cfg.heartbeatMs;
    this.advanceCommit();
  }

  // ---- replication ----

  private sendAppend(to: NodeId): void {
    const next = this.nextIndex.get(to)!;
    const prevLogIndex = next - 1;
    const end = Math.min(this.storage.lastIndex() + 1, next + this.cfg.maxEntriesPerAppend);
    this.inflight.add(to);
    this.send({
      type: 'AppendEntries',
      to,
      prevLogIndex,
      prevLogTerm: this.termAt(prevLogIndex),
      entries: this.storage.entries(next, end),
      leaderCommit: this.commit,
    });
  }

  private onAppendEntries(m: AppendEntries<C>): void {
    const reject = (conflictTerm: number, conflictIndex: number): void =>
      this.send({ type: 'AppendEntriesResponse', to: m.from, success: false, matchIndex: 0, rejectedIndex: m.prevLogIndex, conflictTerm, conflictIndex });
    if (m.term < this.term) {
      reject(0, 0); // stale leader: our higher term in the response makes it step down
      return;
    }
    if (this.currentRole === 'leader') return; // same-term leader: impossible under election safety
    if (this.currentRole === 'candidate') this.becomeFollower(m.term, m.from);
    this.leader = m.from;
    this.resetElectionTimer();

    const lastIndex = this.storage.lastIndex();
    if (m.prevLogIndex > lastIndex) {
      reject(0, lastIndex + 1);
      return;
    }
    const localPrevTerm = this.termAt(m.prevLogIndex);
    if (localPrevTerm !== m.prevLogTerm) {
      let first = m.prevLogIndex; // first index of the conflicting term, for fast backtracking
      while (first - 1 > this.commit && this.termAt(first - 1) === localPrevTerm) first--;
      reject(localPrevTerm, first);
      return;
    }
    // Skip entries we already hold; truncate at the first conflict (never on a mere duplicate).
    let i = 0;
    for (; i < m.entries.length; i++) {
      const e = m.entries[i];
      if (e.index !== m.prevLogIndex + 1 + i) throw new Error(`raft: malformed AppendEntries from ${m.from}`);
      const existing = this.termAt(e.index, true);
      if (existing === undefined) break;
      if (existing !== e.term) {
        if (e.index <= this.commit) {
          throw new Error(`raft safety violation: node ${this.id} asked to overwrite committed index ${e.index}`);
        }
        this.storage.truncateFrom(e.index);
        break;
      }
    }
    if (i < m.entries.length) this.storage.append(m.entries.slice(i));
    const matchIndex = m.prevLogIndex + m.entries.length;
    this.commit = Math.max(this.commit, Math.min(m.leaderCommit, matchIndex));
    this.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0 });
  }

  private onAppendResponse(m: AppendEntriesResponse): void {
    if (this.currentRole !== 'leader' || m.term !== this.term) return;
    const p = m.from;
    this.acked.add(p);
    this.inflight.delete(p);
    const match = this.matchIndex.get(p)!;
    const lastIndex = this.storage.lastIndex();
    if (m.success) {
      const newMatch = Math.max(match, m.matchIndex);
      this.matchIndex.set(p, newMatch);
      this.nextIndex.set(p, Math.max(this.nextIndex.get(p)!, newMatch + 1));
      this.advanceCommit();
      if (this.nextIndex.get(p)! <= lastIndex) this.sendAppend(p);
      return;
    }
    if (m.rejectedIndex <= match) return; // stale rejection: that prefix has matched since
    let next = m.conflictIndex;
    if (m.conflictTerm > 0) {
      // If we hold entries of the follower's conflicting term, resume right after our last one.
      let i = Math.min(m.rejectedIndex, lastIndex);
      while (i > 0 && this.termAt(i) > m.conflictTerm) i--;
      if (this.termAt(i) === m.conflictTerm) next = i + 1;
    }
    next = Math.max(match + 1, Math.min(next, m.rejectedIndex, lastIndex + 1));
    this.nextIndex.set(p, next);
    this.sendAppend(p);
  }

  /** Commit = highest index on a majority, but only if it is from the current term (§5.4.2). */
  private advanceCommit(): void {
    const matches = [this.storage.lastIndex(), ...this.peers.map((p) => this.matchIndex.get(p)!)].sort((a, b) => b - a);
    const n = matches[this.cfg.quorum - 1];
    if (n > this.commit && this.termAt(n) === this.term) this.commit = n;
  }

  // ---- plumbing ----

  private termAt(index: number): number;
  private termAt(index: number, allowMissing: true): number | undefined;
  private termAt(index: number, allowMissing = false): number | undefined {
    const t = this.storage.termAt(index);
    if (t === undefined && !allowMissing) throw new Error(`raft: node ${this.id} has no entry at ${index}`);
    return t;
  }

  private send(m: Outgoing<C>): void {
    this.out.push({ ...m, from: this.id, term: this.term } as RaftMessage<C>);
  }

  private ready(): Ready<C> {
    const messages = this.out;
    this.out = [];
    const upTo = Math.min(this.commit, this.applied + this.cfg.maxCommittedPerReady);
    const committed = upTo > this.applied ? this.storage.entries(this.applied + 1, upTo + 1) : [];
    this.applied = upTo > this.applied ? upTo : this.applied;
    return { messages, committed };
  }
}
