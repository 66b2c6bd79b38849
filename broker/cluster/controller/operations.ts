// What the active controller decides: the broker RPCs that change metadata, broker leases and
// fencing, and leader election. Every decision is computed with metadata/ (placement.ts,
// election.ts) against the current state and proposed through the core; decisions run one at a
// time (SerialQueue) so each sees the outcome of the one before.
//
// Broker heartbeats are tracked in memory by the active controller, as in KRaft: a heartbeat of an
// unfenced broker only extends its lease here and writes nothing to the log. The log sees a broker's
// first heartbeat after registration or fencing (BrokerHeartbeat, then UnfenceBroker) and a lease
// expiry (FenceBroker). A newly active controller starts every unfenced broker's lease afresh, so no
// broker is fenced for heartbeats that went to the previous controller.
import { electLeaders, fenceExpiredBrokers, liveBrokerIds, planCreatePartitions, planCreateTopic, preferredLeaderChanges, type ApplyResult, type ChangePartition, type MetadataCommand, type MetadataState, type PlacementOptions, type PlanResult } from '../metadata/index.ts';
import { ControllerError, type AlterPartitionRequest, type ArgsOf, type ControllerOp, type CreateTopicRequest, type HeartbeatRequest, type OkResult, type RegisterRequest, type ResultOf } from './rpc.ts';
import { SerialQueue } from './proposals.ts';
import { bindingKey, filterMatches } from '../../security/acl.ts';

/** What operations need from the core (an interface so tests of the decisions could fake it). */
export interface DecisionCore {
  readonly state: MetadataState;
  isActive(): boolean;
  propose(build: MetadataCommand | ((index: number) => MetadataCommand), timeoutMs: number): Promise<ApplyResult>;
  noQuorumError(what: string): ControllerError;
}

export interface OperationSettings {
  readonly brokerSessionTimeoutMs: number;
  readonly brokerHeartbeatIntervalMs: number;
  readonly replicaLagTimeMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly defaultReplicationFactor: number | null;
  /** How often leadership is moved back to preferred replicas (Kafka's leader.imbalance.check.interval); 0 = never. */
  readonly leaderRebalanceIntervalMs: number;
  /** A broker's share of misplaced leaderships that triggers the move (leader.imbalance.per.broker.percentage). */
  readonly leaderImbalancePercent: number;
  readonly now: () => number;
  readonly log: (line: string) => void;
}

/** The operations that go through a decision (the rest are answered by sessions.ts). */
export type DecisionOp = Exclude<ControllerOp, 'fetchMetadata' | 'describeQuorum'>;

/** Bound on decisions waiting their turn. */
export const MAX_QUEUED_DECISIONS = 1024;
/** Bound on ChangePartition records proposed before waiting for them to commit (the core allows 1024 uncommitted). */
const PROPOSAL_BATCH = 256;
const MAINTENANCE_EVERY_MS = 100;

export class Operations {
  /** Lease end (monotonic ms) per broker epoch; only meaningful while this controller is active. */
  private readonly leases = new Map<number, { epoch: number; expiresAtMs: number }>();
  private readonly unfencing = new Set<number>();
  private readonly queue = new SerialQueue(MAX_QUEUED_DECISIONS);
  private maintaining = false;
  private lastMaintenance = 0;
  private lastRebalance = 0;
  private lastOffline = '';

  constructor(
    private readonly core: DecisionCore,
    private readonly settings: OperationSettings,
  ) {}

  handle<Op extends DecisionOp>(op: Op, args: ArgsOf<Op>, timeoutMs: number): Promise<ResultOf[Op]> {
    return this.dispatch(op, args, this.settings.now() + timeoutMs) as Promise<ResultOf[Op]>;
  }

  private dispatch(op: DecisionOp, args: unknown, deadline: number): Promise<unknown> {
    switch (op) {
      case 'register':
        return this.decide(op, deadline, () => this.register(args as RegisterRequest, deadline));
      case 'heartbeat':
        return this.heartbeat(args as HeartbeatRequest, deadline);
      case 'createTopic':
        return this.decide(op, deadline, () => this.createTopic(args as CreateTopicRequest, deadline));
      case 'createPartitions': {
        const { name, count } = args as ArgsOf<'createPartitions'>;
        return this.decide(op, deadline, () => this.commitPlan(planCreatePartitions(this.core.state, name, count, this.randomPlacement()), deadline));
      }
      case 'deleteTopic': {
        const { name } = args as ArgsOf<'deleteTopic'>;
        return this.decide(op, deadline, () => this.commit({ type: 'DeleteTopic', name }, deadline));
      }
      case 'alterTopicConfig': {
        const { name, configs } = args as ArgsOf<'alterTopicConfig'>;
        return this.decide(op, deadline, () => this.commit({ type: 'AlterTopicConfig', name, configs }, deadline));
      }
      case 'alterPartition':
        return this.decide(op, deadline, () => this.alterPartition(args as AlterPartitionRequest, deadline));
      case 'alterScramCredentials': {
        const { changes } = args as ArgsOf<'alterScramCredentials'>;
        return this.decide(op, deadline, async () => (await this.commit({ type: 'AlterScramCredentials', changes }, deadline), { ok: true }));
      }
      case 'createAcls': {
        const { acls, maxAcls } = args as ArgsOf<'createAcls'>;
        return this.decide(op, deadline, async () => (await this.commit({ type: 'CreateAcls', acls, maxAcls }, deadline), { ok: true }));
      }
      case 'deleteAcls':
        return this.decide(op, deadline, () => this.deleteAcls(args as ArgsOf<'deleteAcls'>, deadline));
    }
  }

  /** This controller became active: every unfenced broker gets a full session from now. */
  becameActive(): void {
    this.leases.clear();
    this.lastRebalance = this.settings.now();
    const expiresAtMs = this.settings.now() + this.settings.brokerSessionTimeoutMs;
    for (const b of this.core.state.brokers.values()) if (!b.fenced) this.leases.set(b.brokerId, { epoch: b.epoch, expiresAtMs });
  }

  lostActive(): void {
    this.leases.clear();
  }

  /** Called on every tick of the active controller: fences expired brokers, elects missing leaders. */
  maintain(): void {
    const now = this.settings.now();
    if (this.maintaining || now - this.lastMaintenance < MAINTENANCE_EVERY_MS || !this.core.isActive()) return;
    this.lastMaintenance = now;
    const state = this.core.state;
    const fences = this.expiredBrokers(state, now);
    const elections = electLeaders(state);
    this.logOffline(elections.offline.map((o) => `${o.topic}-${o.partition}: ${o.reason}`));
    const interval = this.settings.leaderRebalanceIntervalMs;
    const rebalanceDue = interval > 0 && now - this.lastRebalance >= interval;
    if (rebalanceDue) this.lastRebalance = now;
    const rebalance = rebalanceDue && fences.length === 0 && elections.commands.length === 0 ? preferredLeaderChanges(state, this.settings.leaderImbalancePercent) : [];
    if (fences.length === 0 && elections.commands.length === 0 && rebalance.length === 0) return;
    this.maintaining = true;
    const deadline = now + this.settings.requestTimeoutMs;
    this.decide('fencing and leader election', deadline, async () => {
      for (const f of this.expiredBrokers(this.core.state, this.settings.now())) {
        this.settings.log(`fencing broker ${f.brokerId} (epoch ${f.epoch}): no heartbeat for ${this.settings.brokerSessionTimeoutMs} ms`);
        await this.core.propose(f, this.remaining(deadline));
      }
      await this.elect(deadline);
      if (rebalance.length > 0) await this.proposeChanges('preferred leader election', preferredLeaderChanges(this.core.state, this.settings.leaderImbalancePercent), deadline);
    })
      .catch((err: Error) => this.settings.log(`fencing / leader election did not complete: ${err.message}`))
      .finally(() => (this.maintaining = false));
  }

  private decide<T>(what: string, deadline: number, fn: () => Promise<T>): Promise<T> {
    const timeoutMs = deadline - this.settings.now();
    return this.queue.run(timeoutMs, fn, () => this.core.noQuorumError(`${what} not decided within ${timeoutMs} ms`));
  }

  private remaining(deadline: number): number {
    return Math.max(1, deadline - this.settings.now());
  }

  /** Proposes one command and waits for it; a refusal by apply() becomes a ControllerError. */
  private async commit(command: MetadataCommand | ((index: number) => MetadataCommand), deadline: number): Promise<{ ok: true; state: MetadataState }> {
    const r = await this.core.propose(command, this.remaining(deadline));
    if (!r.ok) throw new ControllerError(r.error.code, r.error.message);
    return { ok: true, state: r.state };
  }

  private async register(req: RegisterRequest, deadline: number): Promise<ResultOf['register']> {
    const cur = this.core.state.brokers.get(req.brokerId);
    const same = cur && cur.incarnationId === req.incarnationId && cur.host === req.host && cur.port === req.port && JSON.stringify(cur.listeners) === JSON.stringify(req.listeners);
    let epoch = cur?.epoch ?? 0;
    if (!same) {
      if (cur) {
        // A new incarnation may have lost what the old one had not flushed: take the broker out of
        // leadership and ISRs exactly as fencing does before the new registration is visible.
        if (!cur.fenced) {
          const reason = `broker ${cur.brokerId} registers again (incarnation ${req.incarnationId} replaces ${cur.incarnationId})`;
          await this.core.propose({ type: 'FenceBroker', brokerId: cur.brokerId, epoch: cur.epoch, reason }, this.remaining(deadline));
        }
        await this.elect(deadline);
      }
      this.leases.delete(req.brokerId);
      // The epoch is the registration's log index: greater than any earlier committed registration's.
      const r = await this.commit((index) => ({ type: 'RegisterBroker', ...req, epoch: index }), deadline);
      epoch = r.state.brokers.get(req.brokerId)!.epoch;
      this.settings.log(`broker ${req.brokerId} registered at ${req.host}:${req.port} with epoch ${epoch}`);
    }
    return {
      epoch,
      brokerHeartbeatIntervalMs: this.settings.brokerHeartbeatIntervalMs,
      brokerSessionTimeoutMs: this.settings.brokerSessionTimeoutMs,
      replicaLagTimeMaxMs: this.settings.replicaLagTimeMaxMs,
    };
  }

  private async heartbeat(req: HeartbeatRequest, deadline: number): Promise<ResultOf['heartbeat']> {
    const b = this.core.state.brokers.get(req.brokerId);
    if (!b) throw new ControllerError('UNKNOWN_BROKER', `broker ${req.brokerId} is not registered; register first`);
    if (b.epoch !== req.epoch) throw new ControllerError('STALE_BROKER_EPOCH', `broker ${req.brokerId} heartbeat with epoch ${req.epoch}, its current registration has epoch ${b.epoch}; register again`);
    this.leases.set(b.brokerId, { epoch: b.epoch, expiresAtMs: this.settings.now() + this.settings.brokerSessionTimeoutMs });
    if (b.fenced && !this.unfencing.has(b.brokerId)) {
      this.unfencing.add(b.brokerId);
      try {
        await this.decide('unfencing', deadline, async () => {
          const cur = this.core.state.brokers.get(b.brokerId);
          if (!cur || cur.epoch !== b.epoch || !cur.fenced) return;
          await this.commit({ type: 'BrokerHeartbeat', brokerId: b.brokerId, epoch: b.epoch, nowMs: Date.now() }, deadline);
          await this.commit({ type: 'UnfenceBroker', brokerId: b.brokerId, epoch: b.epoch }, deadline);
          this.settings.log(`broker ${b.brokerId} (epoch ${b.epoch}) unfenced`);
          await this.elect(deadline); // offline partitions whose ISR holds it can have it as leader again
        });
      } finally {
        this.unfencing.delete(b.brokerId);
      }
    }
    const now = this.core.state;
    const after = now.brokers.get(b.brokerId);
    return { fenced: after?.epoch !== b.epoch || after.fenced, metadataOffset: now.offset };
  }

  private async createTopic(req: CreateTopicRequest, deadline: number): Promise<ResultOf['createTopic']> {
    const state = this.core.state;
    const live = liveBrokerIds(state).length;
    const replicationFactor = req.replicationFactor === -1 ? (this.settings.defaultReplicationFactor ?? Math.max(1, Math.min(3, live))) : req.replicationFactor;
    return this.commitPlan(planCreateTopic(state, { ...req, replicationFactor }, this.randomPlacement()), deadline);
  }

  /** Random rotation start and follower shift over the live brokers, as Kafka does, so topics do not all lead on one broker. */
  private randomPlacement(): PlacementOptions {
    const live = liveBrokerIds(this.core.state).length;
    return { startIndex: randomInt(live), replicaShift: randomInt(live) };
  }

  /** Commits a placement plan's record, or refuses with the plan's error. */
  private async commitPlan(plan: PlanResult<MetadataCommand>, deadline: number): Promise<OkResult> {
    if (!plan.ok) throw new ControllerError(plan.error.code, plan.error.message);
    await this.commit(plan.command, deadline);
    return { ok: true };
  }

  private async alterPartition(req: AlterPartitionRequest, deadline: number): Promise<ResultOf['alterPartition']> {
    const state = this.core.state;
    const where = `topic "${req.topic}" partition ${req.partition}`;
    const topic = state.topics.get(req.topic);
    if (!topic) throw new ControllerError('UNKNOWN_TOPIC', `topic "${req.topic}" does not exist`);
    const cur = topic.partitions[req.partition];
    if (!cur) throw new ControllerError('UNKNOWN_PARTITION', `${where} does not exist (the topic has ${topic.partitions.length} partitions)`);
    // Only the current leader changes its ISR; leadership itself moves only through elections.
    if (req.leader !== cur.leader) throw new ControllerError('INVALID_LEADER', `${where}: broker ${req.leader} is not its leader (the leader is ${cur.leader})`);
    if (req.leaderEpoch !== cur.leaderEpoch) throw new ControllerError('STALE_LEADER_EPOCH', `${where}: leader epoch ${req.leaderEpoch} is not the current ${cur.leaderEpoch}`);
    const ineligible = req.isr.find((r) => !cur.isr.includes(r) && state.brokers.get(r)?.fenced !== false);
    if (ineligible !== undefined) throw new ControllerError('INVALID_ISR', `${where}: broker ${ineligible} cannot join the ISR: it is fenced or not registered`);
    const command: ChangePartition = { type: 'ChangePartition', ...req };
    const r = await this.commit(command, deadline);
    return { partition: r.state.topics.get(req.topic)!.partitions[req.partition] };
  }

  /** Resolves DeleteAcls filters against the current ACLs (decisions run one at a time, so nothing changes in between) and removes the matches. */
  private async deleteAcls(req: ArgsOf<'deleteAcls'>, deadline: number): Promise<ResultOf['deleteAcls']> {
    const acls = this.core.state.acls;
    const removed = req.filters.map((f) => acls.filter((b) => filterMatches(f, b)));
    const gone = new Map(removed.flat().map((b) => [bindingKey(b), b]));
    if (gone.size > 0) await this.commit({ type: 'RemoveAcls', acls: [...gone.values()] }, deadline);
    return { removed };
  }

  /** FenceBroker for unfenced brokers whose in-memory lease has expired (election.ts decides, on a view with those leases). */
  private expiredBrokers(state: MetadataState, now: number): ReturnType<typeof fenceExpiredBrokers> {
    const brokers = new Map(state.brokers);
    for (const b of state.brokers.values()) {
      if (b.fenced) continue;
      let lease = this.leases.get(b.brokerId);
      if (!lease || lease.epoch !== b.epoch) {
        lease = { epoch: b.epoch, expiresAtMs: now + this.settings.brokerSessionTimeoutMs };
        this.leases.set(b.brokerId, lease);
      }
      brokers.set(b.brokerId, { ...b, leaseExpiresAtMs: lease.expiresAtMs });
    }
    return fenceExpiredBrokers({ ...state, brokers }, now);
  }

  /** Proposes electLeaders()'s changes until none are left (a few rounds: a change may race another). */
  private async elect(deadline: number): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const { commands } = electLeaders(this.core.state);
      if (commands.length === 0) return;
      await this.proposeChanges('leader election', commands, deadline);
    }
  }

  /** Proposes partition changes in batches and logs the ones that were applied. */
  private async proposeChanges(what: string, commands: ChangePartition[], deadline: number): Promise<void> {
    const done: string[] = [];
    for (let i = 0; i < commands.length; i += PROPOSAL_BATCH) {
      const batch = commands.slice(i, i + PROPOSAL_BATCH);
      const results = await Promise.all(batch.map((c) => this.core.propose(c, this.remaining(deadline))));
      results.forEach((r, j) => {
        const c = batch[j];
        if (r.ok) done.push(`${c.topic}-${c.partition} leader ${c.leader} epoch ${c.leaderEpoch} isr [${c.isr.join(',')}]`);
      });
    }
    if (done.length > 0) this.settings.log(`${what}: ${done.length} partition(s) changed: ${done.slice(0, 10).join('; ')}${done.length > 10 ? '; ...' : ''}`);
  }

  private logOffline(lines: string[]): void {
    const text = lines.join('\n');
    if (text === this.lastOffline) return;
    this.lastOffline = text;
    if (lines.length > 0) this.settings.log(`${lines.length} partition(s) offline:\n  ${lines.slice(0, 20).join('\n  ')}${lines.length > 20 ? '\n  ...' : ''}`);
  }
}

function randomInt(n: number): number {
  return n > 0 ? Math.floor(Math.random() * n) : 0;
}
