// ControllerClient: how a broker talks to the controller quorum. It finds the active controller
// (trying voters in turn, following NOT_CONTROLLER hints, backing off on connection errors) and
// gives every call one deadline, requestTimeoutMs: a call resolves or rejects with a
// ControllerError by then and never hangs.
import { deserializeSnapshot, type MetadataState, type PartitionState } from '../metadata/index.ts';
import { ClientConnection, ConnectionLost, RequestTimedOut } from './client-connection.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './framing.ts';
import { checkClusterSecret } from '../secret.ts';
import type { AclBinding, AclBindingFilter } from '../../security/acl.ts';
import { formatQuorum, votersProblem, type QuorumVoter } from './quorum.ts';
import { ControllerError, type AlterPartitionRequest, type ArgsOf, type ControllerOp, type DescribeQuorumResult, type HeartbeatRequest, type HeartbeatResult, type RegisterRequest, type RegisterResult, type ResultOf } from './rpc.ts';

export interface ControllerClientOptions {
  readonly voters: readonly QuorumVoter[];
  readonly logger?: (line: string) => void;
  /** Deadline of every call. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** How long one metadata long poll may wait on the controller. Default 5000 ms. */
  readonly metadataPollMs?: number;
  readonly maxFrameBytes?: number;
  /** The cluster secret (../secret.ts); the controllers refuse a client that cannot prove it. Required. */
  readonly clusterSecret: Buffer;
  /** The broker this client acts for (register, heartbeat, alterPartition); absent for an admin client. */
  readonly brokerId?: number;
}

export interface CreateTopicOptions {
  readonly name: string;
  readonly partitions: number;
  /** -1 or absent: the controller's default. */
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

const BACKOFF_MIN_MS = 25;
const BACKOFF_MAX_MS = 1_000;

export class ControllerClient {
  private readonly voters: readonly QuorumVoter[];
  private readonly connections = new Map<number, ClientConnection>();
  private readonly requestTimeoutMs: number;
  private readonly metadataPollMs: number;
  private readonly log: (line: string) => void;
  /** The controller that answered last: tried first. */
  private leaderHint: number | null = null;
  private nextVoter = 0;
  private closed = false;
  private readonly sleepers = new Set<() => void>();

  constructor(options: ControllerClientOptions) {
    const problem = votersProblem(options.voters);
    if (problem) throw new Error(`controller client: invalid voters: ${problem}`);
    this.voters = options.voters;
    this.log = options.logger ?? (() => undefined);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.metadataPollMs = options.metadataPollMs ?? 5_000;
    for (const [k, v] of Object.entries({ requestTimeoutMs: this.requestTimeoutMs, metadataPollMs: this.metadataPollMs })) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`controller client: ${k} must be a positive integer, got ${v}`);
    }
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const secret = checkClusterSecret(options.clusterSecret, 'controller client');
    for (const v of this.voters) this.connections.set(v.id, new ClientConnection(v, maxFrameBytes, this.log, secret, options.brokerId ?? null));
  }

  /** Registers this broker process; the returned epoch goes into its heartbeats. */
  register(req: RegisterRequest): Promise<RegisterResult> {
    return this.call('register', req);
  }

  heartbeat(req: HeartbeatRequest): Promise<HeartbeatResult> {
    return this.call('heartbeat', req);
  }

  async createTopic(req: CreateTopicOptions): Promise<void> {
    await this.call('createTopic', { name: req.name, partitions: req.partitions, replicationFactor: req.replicationFactor ?? -1, configs: { ...req.configs } });
  }

  async deleteTopic(name: string): Promise<void> {
    await this.call('deleteTopic', { name });
  }

  /** Grows topic `name` to `count` partitions. */
  async createPartitions(name: string, count: number): Promise<void> {
    await this.call('createPartitions', { name, count });
  }

  /** New config values; null removes an override. */
  async alterTopicConfig(name: string, configs: Readonly<Record<string, string | null>>): Promise<void> {
    await this.call('alterTopicConfig', { name, configs: { ...configs } });
  }

  /** A partition leader's ISR change; resolves with the partition as committed. */
  async alterPartition(req: AlterPartitionRequest): Promise<PartitionState> {
    return (await this.call('alterPartition', { ...req, isr: [...req.isr] })).partition;
  }

  /** SCRAM credential upserts (credential set) and deletions (null), committed together. */
  async alterScramCredentials(changes: ArgsOf<'alterScramCredentials'>['changes']): Promise<void> {
    await this.call('alterScramCredentials', { changes });
  }

  /** New ACLs, refused whole (ACL_LIMIT) past maxAcls; existing ones are skipped (NO_CHANGE when all exist). */
  async createAcls(acls: AclBinding[], maxAcls: number): Promise<void> {
    await this.call('createAcls', { acls, maxAcls });
  }

  /** Removes every ACL a filter matches; per filter, what it removed. */
  async deleteAcls(filters: AclBindingFilter[]): Promise<AclBinding[][]> {
    return (await this.call('deleteAcls', { filters })).removed;
  }

  describeQuorum(): Promise<DescribeQuorumResult> {
    return this.call('describeQuorum', {});
  }

  /** The committed metadata if newer than sinceOffset (waiting up to maxWaitMs for it), else the current one. */
  async fetchMetadata(sinceOffset: number, maxWaitMs: number): Promise<MetadataState> {
    const r = await this.call('fetchMetadata', { sinceOffset, maxWaitMs }, maxWaitMs);
    const loaded = deserializeSnapshot(r.snapshot);
    if (!loaded.ok) throw new ControllerError('INTERNAL_ERROR', `controller sent unreadable metadata: ${loaded.error}`);
    return loaded.state;
  }

  /**
   * Keeps a long poll running against the active controller and calls onState with every newer
   * committed state, in order, until close(). Errors (no quorum, elections) are logged and retried.
   */
  watchMetadata(onState: (state: MetadataState) => void): void {
    void (async () => {
      let offset = -1;
      let backoff = BACKOFF_MIN_MS;
      let lastLogged = '';
      while (!this.closed) {
        try {
          const state = await this.fetchMetadata(offset, this.metadataPollMs);
          backoff = BACKOFF_MIN_MS;
          if (state.offset <= offset) continue;
          offset = state.offset;
          onState(state);
        } catch (err) {
          if (this.closed) return;
          const text = (err as Error).message;
          if (text !== lastLogged) this.log(`metadata watch: ${text}; retrying`);
          lastLogged = text;
          await this.sleep(backoff);
          backoff = Math.min(BACKOFF_MAX_MS * 2, backoff * 2);
        }
      }
    })();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.connections.values()) c.close();
    for (const wake of [...this.sleepers]) wake();
  }

  private async call<Op extends ControllerOp>(op: Op, args: ArgsOf<Op>, extraWaitMs = 0): Promise<ResultOf[Op]> {
    const timeoutMs = this.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    let target = this.leaderHint ?? this.voters[this.nextVoter % this.voters.length].id;
    let backoff = BACKOFF_MIN_MS;
    let redirects = 0;
    let lastProblem = 'no controller tried yet';
    for (;;) {
      if (this.closed) throw new ControllerError('CLOSED', 'controller client closed');
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new ControllerError('NO_QUORUM', `${op}: no active controller answered within ${timeoutMs} ms (quorum ${formatQuorum(this.voters)}); last problem: ${lastProblem}`);
      }
      const conn = this.connections.get(target)!;
      // The controller gets a shorter deadline than ours, so its answer (e.g. NO_QUORUM) arrives in time.
      const serverTimeoutMs = Math.max(1, remaining - Math.min(500, Math.max(20, Math.floor(remaining / 10))));
      try {
        const result = await conn.request({ op, args, timeoutMs: serverTimeoutMs }, remaining + extraWaitMs);
        this.leaderHint = target;
        return result as ResultOf[Op];
      } catch (err) {
        if (err instanceof RequestTimedOut) throw new ControllerError('TIMEOUT', `${op}: ${err.message}`);
        const busy = err instanceof ControllerError && err.code === 'BUSY';
        const redirect = err instanceof ControllerError && err.code === 'NOT_CONTROLLER';
        if (!busy && !redirect && !(err instanceof ConnectionLost)) {
          throw err instanceof ControllerError ? err : new ControllerError('INTERNAL_ERROR', `${op}: ${(err as Error).message}`);
        }
        lastProblem = `${conn.where}: ${(err as Error).message}`;
        const hint = redirect ? (err as ControllerError).leaderId : null;
        if (hint !== null && hint !== target && this.connections.has(hint) && redirects < this.voters.length) {
          redirects++;
          this.leaderHint = target = hint;
          continue; // a redirect needs no pause
        }
        if (!busy) {
          // Connection failure, or a controller that knows no leader: try the next voter.
          this.leaderHint = null;
          this.nextVoter = (this.voters.findIndex((v) => v.id === target) + 1) % this.voters.length;
          target = this.voters[this.nextVoter].id;
        }
        redirects = 0;
        // Never sleep away the rest of the deadline: keep time for one more controller to answer.
        await this.sleep(Math.min(backoff * (0.8 + 0.4 * Math.random()), Math.max(0, (deadline - Date.now()) / 2)));
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
