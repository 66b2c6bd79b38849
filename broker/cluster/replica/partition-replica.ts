// One partition's replication state on one broker: leader or follower, the leader epoch, the
// in-sync replicas, the high watermark, and (on the leader) what each follower has fetched.
//
// Rules, as in Kafka:
// - The leader's high watermark is the smallest log end offset among the in-sync replicas (itself
//   included). While an ISR expansion is waiting for the controller, the joining replica counts too
//   ("maximal ISR"), so the high watermark never passes data a member about to be added lacks.
// - A follower's log end offset is the offset it asks for in its fetches. It is caught up when it
//   asks for the leader's log end offset; it stays in the ISR while it was caught up within
//   replica.lag.time.max.ms.
// - acks=all appends wait until the high watermark passes them.
// - Leadership, the ISR and epochs come only from committed controller metadata; this class asks
//   the controller to change the ISR and learns the outcome from the metadata.
import { NO_LEADER, type PartitionState } from '../metadata/index.ts';
import type { Partition } from '../../topics.ts';

export type ReplicaRole = 'leader' | 'follower' | 'offline' | 'none';

export interface IsrChangeRequest {
  topic: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  partitionEpoch: number;
}

export interface ReplicaEnvironment {
  nodeId: number;
  now(): number;
  replicaLagTimeMaxMs: number;
  /** Sends an ISR change to the controller; resolves when it was committed or refused. */
  alterIsr(change: IsrChangeRequest): Promise<void>;
  log(line: string): void;
}

interface FollowerProgress {
  /** The follower's log end offset: the offset of its last fetch. */
  leo: number;
  lastFetchMs: number;
  /** The leader's log end offset when the follower last fetched. */
  lastFetchLeaderLeo: number;
  lastCaughtUpMs: number;
}

interface AckWaiter {
  offset: number;
  resolve: (outcome: AckOutcome) => void;
  timer: NodeJS.Timeout;
}

export type AckOutcome = 'replicated' | 'timeout' | 'not-leader';

/** What a metadata update did to this replica. */
export type ReplicaTransition = 'became-leader' | 'became-follower' | 'went-offline' | 'not-a-replica' | 'isr-changed' | 'unchanged';

export class PartitionReplica {
  role: ReplicaRole = 'none';
  leaderId = NO_LEADER;
  leaderEpoch = -1;
  partitionEpoch = -1;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];
  minInsyncReplicas = 1;
  private hw = 0;
  private becameLeaderMs = 0;
  private readonly followers = new Map<number, FollowerProgress>();
  private pendingIsr: readonly number[] | null = null;
  private ackWaiters: AckWaiter[] = [];

  constructor(
    readonly partition: Partition,
    private readonly env: ReplicaEnvironment,
  ) {
    this.hw = 0;
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  get highWatermark(): number {
    return Math.min(this.hw, this.partition.log.logEndOffset);
  }

  /** Applies this partition's committed state from the controller's metadata. */
  update(state: PartitionState, minIsr: number): ReplicaTransition {
    const self = this.env.nodeId;
    this.minInsyncReplicas = minIsr;
    const wasRole = this.role;
    const epochChanged = state.leaderEpoch !== this.leaderEpoch || state.leader !== this.leaderId;
    const isrChanged = state.partitionEpoch !== this.partitionEpoch;
    this.replicas = state.replicas;
    this.isr = state.isr;
    this.partitionEpoch = state.partitionEpoch;
    if (this.pendingIsr && isrChanged) this.pendingIsr = null;
    if (!state.replicas.includes(self)) {
      this.leaderId = state.leader;
      this.leaderEpoch = state.leaderEpoch;
      if (wasRole === 'leader') this.resign();
      this.role = 'none';
      return wasRole === 'none' ? 'unchanged' : 'not-a-replica';
    }
    if (!epochChanged && wasRole !== 'none') {
      if (this.role === 'leader' && isrChanged) this.maybeAdvanceHw();
      return isrChanged ? 'isr-changed' : 'unchanged';
    }
    this.leaderId = state.leader;
    this.leaderEpoch = state.leaderEpoch;
    if (state.leader === self) {
      this.becomeLeader();
      return 'became-leader';
    }
    if (wasRole === 'leader') this.resign();
    if (state.leader === NO_LEADER) {
      this.role = 'offline';
      return 'went-offline';
    }
    this.role = 'follower';
    return 'became-follower';
  }

  private becomeLeader(): void {
    const now = this.env.now();
    this.role = 'leader';
    this.becameLeaderMs = now;
    this.followers.clear();
    this.pendingIsr = null;
    this.partition.log.assignLeaderEpoch(this.leaderEpoch);
    // Followers get a full lag window from the moment we lead: they cannot have fetched from us yet.
    for (const id of this.replicas) {
      if (id !== this.env.nodeId) this.followers.set(id, { leo: 0, lastFetchMs: 0, lastFetchLeaderLeo: 0, lastCaughtUpMs: now });
    }
    this.maybeAdvanceHw();
    this.env.log(`${this.name}: leader at epoch ${this.leaderEpoch} (log end ${this.partition.log.logEndOffset}, high watermark ${this.hw}, ISR [${this.isr.join(',')}])`);
  }

  private resign(): void {
    for (const w of this.ackWaiters) {
      clearTimeout(w.timer);
      w.resolve('not-leader');
    }
    this.ackWaiters = [];
    this.followers.clear();
    this.pendingIsr = null;
  }

  get name(): string {
    return `${this.partition.topic}-${this.partition.index}`;
  }

  /** Leader: called after a local append (or a duplicate) so a one-member ISR commits at once. */
  onLeaderAppend(): void {
    this.maybeAdvanceHw();
  }

  /**
   * Leader: a follower fetched from `fetchOffset` (its log end offset). The caller has checked that
   * the fetch comes from that broker (replica-auth.ts); an offset past our own log end is ignored
   * (a follower cannot hold what we do not), so it can never move the high watermark past our data.
   */
  onFollowerFetch(replicaId: number, fetchOffset: number): void {
    if (this.role !== 'leader' || !this.replicas.includes(replicaId)) return;
    const now = this.env.now();
    const leo = this.partition.log.logEndOffset;
    if (fetchOffset > leo) return;
    const f = this.followers.get(replicaId) ?? { leo: 0, lastFetchMs: 0, lastFetchLeaderLeo: 0, lastCaughtUpMs: 0 };
    if (fetchOffset >= leo) f.lastCaughtUpMs = now;
    else if (fetchOffset >= f.lastFetchLeaderLeo) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    f.leo = fetchOffset;
    f.lastFetchLeaderLeo = leo;
    f.lastFetchMs = now;
    this.followers.set(replicaId, f);
    if (!this.isr.includes(replicaId) && this.pendingIsr === null && fetchOffset >= this.highWatermark && this.leaderEpochStartReached(fetchOffset)) {
      this.proposeIsr([...this.isr, replicaId], `replica ${replicaId} caught up to ${fetchOffset}`);
    }
    this.maybeAdvanceHw();
  }

  /** A joining follower must also hold everything of the current epoch so far (Kafka's rule). */
  private leaderEpochStartReached(fetchOffset: number): boolean {
    const start = this.partition.log.endOffsetForEpoch(this.leaderEpoch - 1).endOffset;
    return start < 0 || fetchOffset >= start;
  }

  /** Leader, on a timer: drop followers that have not caught up within the lag time. */
  checkIsr(): void {
    if (this.role !== 'leader' || this.pendingIsr !== null) return;
    const now = this.env.now();
    const lagging = this.isr.filter((id) => {
      if (id === this.env.nodeId) return false;
      const f = this.followers.get(id);
      const caughtUp = Math.max(f?.lastCaughtUpMs ?? 0, this.becameLeaderMs);
      return now - caughtUp > this.env.replicaLagTimeMaxMs;
    });
    if (lagging.length === 0) return;
    this.proposeIsr(
      this.isr.filter((id) => !lagging.includes(id)),
      `replica(s) ${lagging.join(',')} not caught up within ${this.env.replicaLagTimeMaxMs} ms`,
    );
  }

  private proposeIsr(isr: number[], reason: string): void {
    this.pendingIsr = isr;
    const change: IsrChangeRequest = {
      topic: this.partition.topic,
      partition: this.partition.index,
      leader: this.env.nodeId,
      leaderEpoch: this.leaderEpoch,
      isr,
      partitionEpoch: this.partitionEpoch,
    };
    this.env.log(`${this.name}: asking the controller for ISR [${isr.join(',')}] (was [${this.isr.join(',')}]): ${reason}`);
    this.env.alterIsr(change).then(
      () => undefined,
      (err: Error) => this.env.log(`${this.name}: ISR change to [${isr.join(',')}] failed: ${err.message}`),
    ).finally(() => {
      // Committed changes arrive through the metadata (update() clears pendingIsr then); a refused or
      // failed one is retried by the next check.
      if (this.pendingIsr === isr) this.pendingIsr = null;
    });
    this.maybeAdvanceHw();
  }

  private maybeAdvanceHw(): void {
    if (this.role !== 'leader') return;
    const members = new Set([...this.isr, ...(this.pendingIsr ?? [])]);
    let min = this.partition.log.logEndOffset;
    for (const id of members) {
      if (id === this.env.nodeId) continue;
      min = Math.min(min, this.followers.get(id)?.leo ?? 0);
    }
    if (min > this.hw) {
      this.hw = min;
      this.releaseAckWaiters();
      this.partition.onAppend(); // wakes consumers long-polling for newly committed data
    }
  }

  /** Follower: the leader's high watermark from a fetch response. */
  setFollowerHighWatermark(leaderHw: number): void {
    const next = Math.min(leaderHw, this.partition.log.logEndOffset);
    if (next !== this.hw) this.hw = next;
  }

  /** After a truncation the high watermark cannot stay past the log end. */
  clampHighWatermark(): void {
    this.hw = Math.min(this.hw, this.partition.log.logEndOffset);
  }

  /** acks=all: resolves once the high watermark reaches `offset`, the timeout passes, or leadership is lost. */
  waitForReplication(offset: number, timeoutMs: number): Promise<AckOutcome> {
    if (this.role !== 'leader') return Promise.resolve('not-leader');
    if (this.hw >= offset) return Promise.resolve('replicated');
    return new Promise((resolve) => {
      const waiter: AckWaiter = {
        offset,
        resolve,
        timer: setTimeout(() => {
          this.ackWaiters = this.ackWaiters.filter((w) => w !== waiter);
          resolve('timeout');
        }, Math.max(0, timeoutMs)),
      };
      this.ackWaiters.push(waiter);
    });
  }

  private releaseAckWaiters(): void {
    if (this.ackWaiters.length === 0) return;
    const still: AckWaiter[] = [];
    for (const w of this.ackWaiters) {
      if (w.offset <= this.hw) {
        clearTimeout(w.timer);
        w.resolve('replicated');
      } else {
        still.push(w);
      }
    }
    this.ackWaiters = still;
  }

  close(): void {
    this.resign();
    this.role = 'none';
  }
}
