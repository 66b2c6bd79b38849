// Raft consensus core: shared types (log entries, messages, persistent state, configuration).
//
// The core is pure and deterministic: RaftNode owns no timers, sockets or files. Time comes in
// through tick(nowMs), randomness through an injected PRNG, and durability through RaftStorage.
// Snapshots (§7): the application hands the node its state as of an applied index (compact), the
// node stores it and discards the log up to there; a leader sends it to a follower whose next entry
// is already compacted (InstallSnapshot). Out of scope for now: membership changes, pre-vote,
// leader leases and linearizable reads.

export type NodeId = number;

/** A log entry. A new leader appends a `noop` entry in its own term (Raft §8, and §5.4.2). */
export type LogEntry<C> =
  | { readonly index: number; readonly term: number; readonly kind: 'noop' }
  | { readonly index: number; readonly term: number; readonly kind: 'command'; readonly command: C };

/** The durable part of Raft's state besides the log. */
export interface HardState {
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
}

/**
 * The application's state machine as of log index `index` (whose entry had term `term`): it stands
 * for every entry up to and including `index`. `data` is opaque to Raft.
 */
export interface RaftSnapshot {
  readonly index: number;
  readonly term: number;
  readonly data: string;
}

/**
 * Durable storage for one node. Every mutating call must be durable when it returns: RaftNode
 * writes through this interface before it hands out any message that depends on the write
 * (a vote, an acknowledgement, a leader's own replica). Indexes start at 1; index 0 is the empty
 * prefix with term 0. With a snapshot at index s, the log holds entries s + 1 .. lastIndex() only:
 * entries up to s are compacted and the snapshot's (index, term) takes the place of index 0.
 */
export interface RaftStorage<C> {
  hardState(): HardState;
  setHardState(state: HardState): void;
  /** The latest saved snapshot, or null. */
  snapshot(): RaftSnapshot | null;
  /**
   * Saves a snapshot newer than the current one (durable on return) and discards the entries up
   * to s.index. Entries after s.index are kept only if the log holds s.index with term s.term;
   * otherwise they belong to another history and the whole log is discarded.
   */
  saveSnapshot(s: RaftSnapshot): void;
  /** Index of the first entry the log can hold: snapshot index + 1, or 1 without a snapshot. */
  firstIndex(): number;
  /** Index of the last entry; the snapshot's index (or 0) when the log is empty. */
  lastIndex(): number;
  /**
   * Term of the entry at `index`: 0 for index 0 without a snapshot, the snapshot's term at its
   * index, undefined when `index` is compacted (below the snapshot) or past the end.
   */
  termAt(index: number): number | undefined;
  /** Entries with from <= index < toExclusive, clipped to firstIndex() .. lastIndex(). */
  entries(from: number, toExclusive: number): LogEntry<C>[];
  /** Appends entries; the first one's index must be lastIndex() + 1 and indexes contiguous. */
  append(entries: readonly LogEntry<C>[]): void;
  /** Removes every entry with index >= from; from must be above the snapshot's index. */
  truncateFrom(from: number): void;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's currentTerm. */
  readonly term: number;
}

export interface RequestVote extends Envelope {
  readonly type: 'RequestVote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

export interface RequestVoteResponse extends Envelope {
  readonly type: 'RequestVoteResponse';
  readonly granted: boolean;
}

export interface AppendEntries<C> extends Envelope {
  readonly type: 'AppendEntries';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly LogEntry<C>[];
  readonly leaderCommit: number;
}

export interface AppendEntriesResponse extends Envelope {
  readonly type: 'AppendEntriesResponse';
  readonly success: boolean;
  /** On success: prevLogIndex + entries.length, the last index known to match the leader. */
  readonly matchIndex: number;
  /** On failure: the prevLogIndex that was rejected (lets the leader ignore stale rejections). */
  readonly rejectedIndex: number;
  /** On failure, for fast backtracking: the follower's term at rejectedIndex (0 if its log is shorter)… */
  readonly conflictTerm: number;
  /** …and the first index of that term in its log (or lastIndex + 1 if its log is shorter). */
  readonly conflictIndex: number;
}

/**
 * Leader -> follower whose next entry the leader has compacted: the leader's latest snapshot, whole.
 * There is no chunking (the paper's offset/done fields): the snapshot's size is bounded by the
 * metadata limits of the state machine it serializes, so one message carries it.
 */
export interface InstallSnapshot extends Envelope {
  readonly type: 'InstallSnapshot';
  readonly lastIncludedIndex: number;
  readonly lastIncludedTerm: number;
  readonly data: string;
}

export interface InstallSnapshotResponse extends Envelope {
  readonly type: 'InstallSnapshotResponse';
  /** The last index known to match the leader: the snapshot's index, or the follower's commit index if higher. */
  readonly matchIndex: number;
}

export type RaftMessage<C> = RequestVote | RequestVoteResponse | AppendEntries<C> | AppendEntriesResponse | InstallSnapshot | InstallSnapshotResponse;

export type Role = 'follower' | 'candidate' | 'leader';

export interface RaftConfig<C> {
  readonly id: NodeId;
  /** All voters including this node; an odd number of distinct ids. */
  readonly voters: readonly NodeId[];
  readonly storage: RaftStorage<C>;
  /** Uniform in [0, 1); seeded in tests (a mulberry32 PRNG), Math.random in a real broker. */
  readonly random: () => number;
  /** The time at construction; later times come through tick(). */
  readonly nowMs: number;
  readonly electionTimeoutMinMs?: number; // default 150
  readonly electionTimeoutMaxMs?: number; // default 300
  readonly heartbeatIntervalMs?: number; // default 50
  /** Bound on entries carried by one AppendEntries. Default 64. */
  readonly maxEntriesPerAppend?: number;
  /** Bound on entries appended but not yet committed on the leader; propose() refuses beyond. Default 1024. */
  readonly maxUncommittedEntries?: number;
  /** Bound on committed entries handed out by one call; the rest follow on later calls. Default 256. */
  readonly maxCommittedPerReady?: number;
  /** Leader steps down when it has not heard from a majority for one max election timeout. Default true. */
  readonly checkQuorum?: boolean;
}

/**
 * What one call produced: messages to send (in order) and entries newly committed (in index order).
 * When `snapshot` is set, the node installed a snapshot from the leader: the application replaces its
 * state machine with snapshot.data first, then applies `committed`, which continue after snapshot.index.
 */
export interface Ready<C> {
  readonly messages: RaftMessage<C>[];
  readonly committed: LogEntry<C>[];
  readonly snapshot: RaftSnapshot | null;
}

export type ProposeResult<C> =
  | { readonly ok: true; readonly index: number; readonly term: number; readonly ready: Ready<C> }
  | { readonly ok: false; readonly reason: 'not-leader'; readonly leaderId: NodeId | null }
  | { readonly ok: false; readonly reason: 'too-many-uncommitted'; readonly limit: number };
