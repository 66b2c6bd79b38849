// RaftNode: the Raft consensus algorithm (Ongaro & Ousterhout, "In Search of an Understandable
// Consensus Algorithm") as a pure, deterministic state machine. It is driven by tick(nowMs),
// receive(message) and propose(command); each call returns a Ready with the messages to send and
// the entries newly committed. Nothing is buffered inside the node between calls.
//
// Durability: every change to currentTerm, votedFor, the log or the snapshot goes to RaftStorage
// before the call returns the messages that depend on it, so a crash (discard the node, build a new
// one over the same storage) never forgets a vote or an acknowledged entry. commitIndex and
// lastApplied are volatile, except that a stored snapshot is committed and applied by definition: a
// restarted node starts at its index (initialSnapshot() hands the application the state to restore)
// and re-delivers the committed entries after it as it learns the commit index again.
//
// Snapshots (§7): compact(index, data) stores the application's state as of an applied index and
// drops the log up to there. A leader that must send a follower an entry it has compacted sends its
// snapshot instead (InstallSnapshot); the follower installs it, keeping a log suffix that matches,
// and hands it to the application in Ready.snapshot.
import type {
  AppendEntries,
  AppendEntriesResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  NodeId,
  ProposeResult,
  RaftConfig,
  RaftMessage,
  RaftSnapshot,
  RaftStorage,
  Ready,
  RequestVote,
  RequestVoteResponse,
  Role,
} from './types.ts';
import { resolveRaftConfig, type ResolvedRaftConfig } from './config.ts';
import { appendEntries, nextAfterRejection, termAt } from './log-matching.ts';

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
  /** When the snapshot last went to each peer; it is re-sent at most once per heartbeat interval. */
  private readonly snapshotSentAt = new Map<NodeId, number>();
  private nextHeartbeatAt = 0;
  private quorumCheckAt = 0;
  // Messages produced by the current call, and a snapshot it installed; drained by ready().
  private out: RaftMessage<C>[] = [];
  private installed: RaftSnapshot | null = null;
  private readonly startSnapshot: RaftSnapshot | null;

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
    this.startSnapshot = this.storage.snapshot();
    if (this.startSnapshot) this.commit = this.applied = this.startSnapshot.index;
    this.resetElectionTimer();
  }

  /**
   * The snapshot in storage when this node was built, or null. The application restores its state
   * machine from it before applying any Ready; committed entries handed out later follow its index.
   */
  initialSnapshot(): RaftSnapshot | null {
    return this.startSnapshot;
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
  /** Index of the latest snapshot (0 without one): the log holds only entries after it. */
  get snapshotIndex(): number {
    return this.storage.firstIndex() - 1;
  }

  /**
   * The application's state as of applied index `index` is `data`: stores that snapshot durably and
   * discards the log up to `index`. A no-op at or below the current snapshot's index.
   */
  compact(index: number, data: string): void {
    if (!Number.isSafeInteger(index) || index > this.applied) {
      throw new RangeError(`raft: compact(${index}) beyond lastApplied ${this.applied}`);
    }
    if (index <= this.snapshotIndex) return;
    this.storage.saveSnapshot({ index, term: this.termAt(index), data });
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
    if (msg.term > this.term) this.becomeFollower(msg.term, msg.type === 'AppendEntries' || msg.type === 'InstallSnapshot' ? msg.from : null);
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
      case 'InstallSnapshot':
        this.onInstallSnapshot(msg);
        break;
      case 'InstallSnapshotResponse':
        this.onSnapshotResponse(msg);
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
    this.snapshotSentAt.clear();
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
    if (next <= this.snapshotIndex) {
      this.sendSnapshot(to);
      return;
    }
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

    const r = appendEntries(this.id, this.storage, m, this.commit);
    if (!r.ok) return reject(r.conflictTerm, r.conflictIndex);
    this.commit = Math.max(this.commit, Math.min(m.leaderCommit, r.matchIndex));
    this.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex: r.matchIndex, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0 });
  }

  private onAppendResponse(m: AppendEntriesResponse): void {
    if (this.currentRole !== 'leader' || m.term !== this.term) return;
    const p = m.from;
    this.acked.add(p);
    this.inflight.delete(p);
    const match = this.matchIndex.get(p)!;
    if (m.success) return this.matched(p, m.matchIndex);
    if (m.rejectedIndex <= match) return; // stale rejection: that prefix has matched since
    this.nextIndex.set(p, nextAfterRejection(this.id, this.storage, m, match));
    this.sendAppend(p);
  }

  /** Peer p holds our log up to `matchIndex`: record it, commit what that allows, send what follows. */
  private matched(p: NodeId, matchIndex: number): void {
    const newMatch = Math.max(this.matchIndex.get(p)!, matchIndex);
    this.matchIndex.set(p, newMatch);
    this.nextIndex.set(p, Math.max(this.nextIndex.get(p)!, newMatch + 1));
    this.advanceCommit();
    if (this.nextIndex.get(p)! <= this.storage.lastIndex()) this.sendAppend(p);
  }

  // ---- snapshots ----

  private sendSnapshot(to: NodeId): void {
    this.inflight.add(to);
    // Re-sent at most once per heartbeat interval until acknowledged (it doubles as the follower's
    // heartbeat): a propose or a stale rejection in between would only duplicate it on the wire.
    const sentAt = this.snapshotSentAt.get(to);
    if (sentAt !== undefined && this.now < sentAt + this.cfg.heartbeatMs) return;
    this.snapshotSentAt.set(to, this.now);
    const s = this.storage.snapshot()!;
    this.send({ type: 'InstallSnapshot', to, lastIncludedIndex: s.index, lastIncludedTerm: s.term, data: s.data });
  }

  private onInstallSnapshot(m: InstallSnapshot): void {
    const respond = (matchIndex: number): void => this.send({ type: 'InstallSnapshotResponse', to: m.from, matchIndex });
    if (m.term < this.term) {
      respond(0); // stale leader: our higher term in the response makes it step down
      return;
    }
    if (this.currentRole === 'leader') return; // same-term leader: impossible under election safety
    if (this.currentRole === 'candidate') this.becomeFollower(m.term, m.from);
    this.leader = m.from;
    this.resetElectionTimer();
    if (m.lastIncludedIndex <= this.commit) {
      // Stale or duplicate: we hold all it covers. Our log up to commitIndex is committed, so it
      // matches the leader's; say so, and the leader continues from there.
      respond(this.commit);
      return;
    }
    // Durable before the response leaves. Storage keeps our suffix if it holds the snapshot's last
    // entry (same index and term), else drops the whole log: it diverged from the leader's.
    const s: RaftSnapshot = { index: m.lastIncludedIndex, term: m.lastIncludedTerm, data: m.data };
    this.storage.saveSnapshot(s);
    this.commit = this.applied = s.index;
    this.installed = s;
    respond(s.index);
  }

  private onSnapshotResponse(m: InstallSnapshotResponse): void {
    if (this.currentRole !== 'leader' || m.term !== this.term) return;
    this.acked.add(m.from);
    this.inflight.delete(m.from);
    this.snapshotSentAt.delete(m.from);
    this.matched(m.from, m.matchIndex);
  }

  /** Commit = highest index on a majority, but only if it is from the current term (§5.4.2). */
  private advanceCommit(): void {
    const matches = [this.storage.lastIndex(), ...this.peers.map((p) => this.matchIndex.get(p)!)].sort((a, b) => b - a);
    const n = matches[this.cfg.quorum - 1];
    if (n > this.commit && this.termAt(n) === this.term) this.commit = n;
  }

  // ---- plumbing ----

  private termAt(index: number): number {
    return termAt(this.id, this.storage, index);
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
    const snapshot = this.installed;
    this.installed = null;
    return { messages, committed, snapshot };
  }
}
