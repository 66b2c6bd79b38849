// Broker connections to a controller: request checking, per-connection bounds, redirects, waiting for
// an active controller, and fetchMetadata long polls.
//
// Only the active controller serves requests. Another controller that knows the leader (and is
// connected to it) answers NOT_CONTROLLER with its id at once; one that knows none (an election is
// running, or there is no majority) holds the request until a leader appears or the request's
// deadline, then answers NO_QUORUM. So a client gets a final answer within its timeout instead of cycling through voters.
import type { MetadataState } from '../metadata/index.ts';
import type { Operations } from './operations.ts';
import { ControllerError, describeZodError, requestSchema, type ControllerRequest, type FetchMetadataRequest, type ResultOf, type WireError } from './rpc.ts';
import type { BrokerChannel, BrokerSession } from './transport.ts';

/** Requests one connection may have in progress; more are answered BUSY. */
export const MAX_PENDING_PER_CONNECTION = 256;
/** fetchMetadata long polls one connection may have waiting. */
export const MAX_LONG_POLLS_PER_CONNECTION = 4;
/** Requests (all connections) waiting for an active controller, and long polls waiting in total. */
const MAX_WAITING = 4096;
const RECHECK_MS = 50;

export interface SessionCore {
  readonly state: MetadataState;
  isActive(): boolean;
  leaderId(): number | null;
  snapshotText(): string;
  noQuorumError(what: string): ControllerError;
}

export interface SessionSettings {
  readonly nodeId: number;
  readonly voterIds: readonly number[];
  readonly requestTimeoutMs: number;
  readonly now: () => number;
  readonly term: () => number;
  readonly reachablePeers: () => number[];
}

interface LongPoll {
  readonly since: number;
  readonly conn: Connection;
  settle(result: ResultOf['fetchMetadata'] | Error | null): void;
}

interface Connection {
  pending: number;
  polls: number;
  closed: boolean;
}

export class BrokerSessions {
  private readonly waiters = new Set<() => void>();
  private readonly polls = new Set<LongPoll>();
  private closed = false;

  constructor(
    private readonly core: SessionCore,
    private readonly ops: Operations,
    private readonly settings: SessionSettings,
  ) {}

  /** A connection authenticated as broker `brokerId` (null: an admin client, which may not act for a broker). */
  open(channel: BrokerChannel, brokerId: number | null): BrokerSession {
    const conn: Connection = { pending: 0, polls: 0, closed: false };
    const reply = (id: number, body: { result: unknown } | { error: WireError }): void => {
      try {
        channel.send({ id, ...body });
      } catch (err) {
        // The frame limit: say so instead of leaving the request unanswered.
        channel.send({ id, error: { code: 'INTERNAL_ERROR', message: `response not sent: ${(err as Error).message}` } });
      }
    };
    return {
      onMessage: (value) => {
        const parsed = requestSchema.safeParse(value);
        if (!parsed.success) {
          const id = (value as { id?: unknown } | null)?.id;
          const why = describeZodError(parsed.error);
          // Without an id there is no one to answer: that is a broken client, not a bad request.
          if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new Error(`frame is not a request {id, op, args}: ${why}`);
          reply(id, { error: { code: 'INVALID_REQUEST', message: `invalid ${String((value as { op?: unknown }).op)} request: ${why}` } });
          return;
        }
        const req = parsed.data;
        if (conn.pending >= MAX_PENDING_PER_CONNECTION) {
          reply(req.id, { error: { code: 'BUSY', message: `${MAX_PENDING_PER_CONNECTION} requests already in progress on this connection; wait for answers` } });
          return;
        }
        const actsFor = brokerNamed(req);
        if (actsFor !== null && actsFor !== brokerId) {
          reply(req.id, { error: { code: 'CLUSTER_AUTHORIZATION_FAILED', message: `${req.op} for broker ${actsFor} refused: this connection authenticated as ${brokerId === null ? 'an admin client' : `broker ${brokerId}`}` } });
          return;
        }
        // Credentials and ACLs come from brokers, which forward a client's request after checking the
        // client's own authorisation (ALTER on the cluster) as Kafka's forwarding does; admin tools may not.
        if (brokerId === null && SECURITY_OPS.has(req.op)) {
          reply(req.id, { error: { code: 'CLUSTER_AUTHORIZATION_FAILED', message: `${req.op} refused: only a broker connection may change credentials or ACLs (clients go through a broker's Kafka APIs)` } });
          return;
        }
        conn.pending++;
        this.serve(req, conn)
          .then(
            (result) => reply(req.id, { result }),
            (err: Error) => reply(req.id, { error: wireError(err) }),
          )
          .finally(() => conn.pending--);
      },
      onClose: () => {
        conn.closed = true;
        for (const p of this.polls) if (p.conn === conn) p.settle(null);
      },
    };
  }

  /** The core's state, role or leader changed: wake requests waiting for a leader, answer long polls. */
  changed(): void {
    for (const wake of [...this.waiters]) wake();
    const active = this.core.isActive();
    for (const p of [...this.polls]) {
      if (!active) p.settle(this.notController());
      else if (this.core.state.offset > p.since) p.settle(this.metadata());
    }
  }

  close(): void {
    this.closed = true;
    for (const wake of [...this.waiters]) wake();
    for (const p of [...this.polls]) p.settle(new ControllerError('NOT_CONTROLLER', `controller ${this.settings.nodeId} is shutting down`, null));
  }

  private async serve(req: ControllerRequest, conn: Connection): Promise<unknown> {
    const timeoutMs = Math.min(req.timeoutMs ?? this.settings.requestTimeoutMs, this.settings.requestTimeoutMs);
    const deadline = this.settings.now() + timeoutMs;
    await this.awaitActive(req.op, deadline, timeoutMs);
    switch (req.op) {
      case 'fetchMetadata':
        return this.longPoll(req.args, conn);
      case 'describeQuorum':
        return {
          leaderId: this.settings.nodeId,
          term: this.settings.term(),
          voters: this.settings.voterIds,
          reachable: [this.settings.nodeId, ...this.settings.reachablePeers()].sort((a, b) => a - b),
          metadataOffset: this.core.state.offset,
        } satisfies ResultOf['describeQuorum'];
      default:
        return this.ops.handle(req.op, req.args, Math.max(1, deadline - this.settings.now()));
    }
  }

  private async awaitActive(op: string, deadline: number, timeoutMs: number): Promise<void> {
    for (;;) {
      if (this.closed) throw new ControllerError('NOT_CONTROLLER', `controller ${this.settings.nodeId} is shutting down`, null);
      if (this.core.isActive()) return;
      const leader = this.core.leaderId();
      // A leader this controller has no connection to is probably gone: hold the request for the
      // election instead of sending the client to a dead address.
      if (leader !== null && leader !== this.settings.nodeId && this.settings.reachablePeers().includes(leader)) throw this.notController();
      const remaining = deadline - this.settings.now();
      if (remaining <= 0) throw this.core.noQuorumError(`${op} found no active controller within ${timeoutMs} ms`);
      if (this.waiters.size >= MAX_WAITING) throw new ControllerError('BUSY', `${this.waiters.size} requests already wait for a controller election; retry later`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        // Also re-checked now and then: connections to peers come and go without a core change.
        const timer = setTimeout(wake, Math.min(remaining, RECHECK_MS));
        this.waiters.add(wake);
      });
    }
  }

  /**
   * Answers when the committed metadata is newer than `sinceOffset`, or after maxWaitMs with what
   * there is. The answer is always the whole state, not a delta: metadata here is small (tens of
   * brokers, hundreds of partitions), and a whole state cannot be applied out of order or partly.
   */
  private longPoll(req: FetchMetadataRequest, conn: Connection): Promise<ResultOf['fetchMetadata']> {
    if (this.core.state.offset > req.sinceOffset || req.maxWaitMs === 0) return Promise.resolve(this.metadata());
    if (conn.polls >= MAX_LONG_POLLS_PER_CONNECTION) return Promise.reject(new ControllerError('BUSY', `${conn.polls} metadata long polls already wait on this connection (limit ${MAX_LONG_POLLS_PER_CONNECTION})`));
    if (this.polls.size >= MAX_WAITING) return Promise.reject(new ControllerError('BUSY', `${this.polls.size} metadata long polls already wait (limit ${MAX_WAITING})`));
    return new Promise((resolve, reject) => {
      conn.polls++;
      const poll: LongPoll = {
        since: req.sinceOffset,
        conn,
        settle: (outcome) => {
          if (!this.polls.delete(poll)) return;
          clearTimeout(timer);
          conn.polls--;
          if (outcome instanceof Error) reject(outcome);
          else if (outcome) resolve(outcome);
          else reject(new ControllerError('CLOSED', 'connection closed'));
        },
      };
      const timer = setTimeout(() => poll.settle(this.core.isActive() ? this.metadata() : this.notController()), req.maxWaitMs);
      this.polls.add(poll);
    });
  }

  private metadata(): ResultOf['fetchMetadata'] {
    return { offset: this.core.state.offset, snapshot: this.core.snapshotText() };
  }

  private notController(): ControllerError {
    const leader = this.core.leaderId();
    const known = leader !== null && leader !== this.settings.nodeId ? `controller ${leader} is` : 'no active controller is known yet';
    return new ControllerError('NOT_CONTROLLER', `controller ${this.settings.nodeId} is not the active controller; ${known}`, leader === this.settings.nodeId ? null : leader);
  }
}

const SECURITY_OPS: ReadonlySet<string> = new Set(['alterScramCredentials', 'createAcls', 'deleteAcls']);

/** The broker a request speaks for, which must be the one its connection authenticated as; null when it names none. */
function brokerNamed(req: ControllerRequest): number | null {
  switch (req.op) {
    case 'register':
    case 'heartbeat':
      return req.args.brokerId;
    case 'alterPartition':
      return req.args.leader;
    default:
      return null;
  }
}

function wireError(err: Error): WireError {
  if (err instanceof ControllerError) return { code: err.code, message: err.message, leaderId: err.leaderId };
  return { code: 'INTERNAL_ERROR', message: err.message };
}
