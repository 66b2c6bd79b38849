// The broker side of a cluster node: registers with the controller quorum, heartbeats, follows the
// committed metadata (ReplicaManager), coordinates the groups whose offsets partitions it leads,
// and forwards metadata changes (CreateTopics, DeleteTopics, AlterConfigs) to the active controller.
//
// While the quorum has no majority, this broker keeps serving produce and fetch for the partitions
// it leads with the last metadata it has. What stops: topic changes (they fail with a clear error
// after the controller client's timeout), ISR changes (so acks=all waits on a dead follower until it
// times out), leader failover and fencing. That is also what Kafka does without a controller.
import { randomUUID } from 'node:crypto';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import type { TopicStore, Partition } from '../topics.ts';
import { ControllerClient, ControllerError, type QuorumVoter } from './controller/index.ts';
import { brokerEndpoint, liveBrokerIds, NO_LEADER, type BrokerListener, type MetadataState } from './metadata/index.ts';
import { ReplicatedSecurity } from './security-sync.ts';
import type { CredentialStore } from '../security/credentials.ts';
import type { Authorizer } from '../security/acl-store.ts';
import { ReplicaManager, type ReplicaManagerOptions } from './replica/replica-manager.ts';
import type { ReplicaTransition } from './replica/partition-replica.ts';
import { ClusterSaslMechanism } from '../server/sasl/cluster.ts';
import { replicaFetchRefusal, type ReplicaFetchRefusal } from './replica/replica-auth.ts';
import { OFFSETS_TOPIC, offsetsPartitionFor, offsetsTopicConfigs, ReplicatedOffsetStore } from '../group/replicated-offset-store.ts';

export interface ClusterBrokerOptions {
  nodeId: number;
  voters: QuorumVoter[];
  /** The address other brokers fetch from (the first listener), and every listener clients may use (registered so Metadata answers per listener). */
  advertised: () => { host: string; port: number; listeners: BrokerListener[] };
  /** SCRAM credentials and ACLs become views of the cluster's replicated set (security-sync.ts). */
  credentials: CredentialStore;
  authorizer: Authorizer;
  maxAcls: number;
  topics: TopicStore;
  heartbeatIntervalMs: number;
  replicaLagTimeMaxMs: number;
  defaultMinInsyncReplicas: number;
  offsetsTopicPartitions: number;
  /** Snapshot and trim an __consumer_offsets partition once it holds this many bytes (and twice its last snapshot). */
  offsetsCompactBytes: number;
  controllerRequestTimeoutMs: number;
  maxFrameBytes: number;
  /** The cluster secret: authenticates this broker to the controllers and to the leaders it fetches from. */
  clusterSecret: Buffer;
  /** TLS for replica fetches when the brokers' registered listener is SSL / SASL_SSL (server/listeners.ts interBrokerTlsOptions), else null. */
  replicaTls: ReplicaManagerOptions['replicaTls'];
  log(line: string): void;
}

/** What request handlers use in cluster mode. */
export interface ClusterServices {
  readonly nodeId: number;
  metadata(): MetadataState | null;
  /** NONE when this broker coordinates the group, else the error to answer group requests with. */
  coordinatorError(groupId: string): number;
  /** The group's coordinator, at its endpoint on `listenerName` (the client's listener), creating the offsets topic on first use. */
  findCoordinator(groupId: string, listenerName?: string): Promise<{ nodeId: number; host: string; port: number } | { errorCode: number; message: string }>;
  createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  createPartitions(name: string, count: number): Promise<void>;
  alterTopicConfig(name: string, configs: Record<string, string | null>): Promise<void>;
  /** Why a Fetch with `replicaId` on this connection is refused (replica-auth.ts), or null when it is the authenticated, current broker. */
  replicaFetchRefusal(conn: { readonly principal: string }, replicaId: number): ReplicaFetchRefusal | null;
}

export class ClusterBroker implements ClusterServices {
  readonly offsets: ReplicatedOffsetStore;
  /** The inter-node SASL mechanism other brokers authenticate to this one with before fetching. */
  readonly saslMechanism: ClusterSaslMechanism;
  private readonly controller: ControllerClient;
  private readonly replicas: ReplicaManager;
  private readonly incarnationId = randomUUID();
  private epoch: number | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private creatingOffsetsTopic: Promise<void> | null = null;
  private readyWaiters: (() => void)[] = [];
  private readonly security: ReplicatedSecurity;

  constructor(private readonly opts: ClusterBrokerOptions) {
    this.saslMechanism = new ClusterSaslMechanism(opts.clusterSecret, opts.nodeId);
    this.controller = new ControllerClient({ voters: opts.voters, logger: opts.log, requestTimeoutMs: opts.controllerRequestTimeoutMs, clusterSecret: opts.clusterSecret, brokerId: opts.nodeId });
    this.security = new ReplicatedSecurity({
      controller: this.controller,
      credentials: opts.credentials,
      authorizer: opts.authorizer,
      maxAcls: opts.maxAcls,
      applyTimeoutMs: opts.controllerRequestTimeoutMs,
      toError: toKafkaError,
      log: opts.log,
    });
    this.offsets = new ReplicatedOffsetStore({
      partition: (i) => opts.topics.partition(OFFSETS_TOPIC, i),
      partitionCount: () => this.replicas.metadata()?.topics.get(OFFSETS_TOPIC)?.partitions.length ?? 0,
      commitTimeoutMs: 10_000,
      compactBytes: opts.offsetsCompactBytes,
      log: opts.log,
    });
    this.replicas = new ReplicaManager({
      nodeId: opts.nodeId,
      topics: opts.topics,
      alterIsr: async (change) => {
        await this.controller.alterPartition(change);
      },
      replicaLagTimeMaxMs: opts.replicaLagTimeMaxMs,
      defaultMinInsyncReplicas: opts.defaultMinInsyncReplicas,
      fetchMaxWaitMs: 500,
      fetchMaxBytes: 16 * 1024 * 1024,
      maxFrameBytes: opts.maxFrameBytes,
      clusterSecret: opts.clusterSecret,
      replicaTls: opts.replicaTls,
      brokerEpoch: () => this.epoch,
      log: opts.log,
      onTransition: (partition, transition) => this.onTransition(partition, transition),
    });
  }

  get nodeId(): number {
    return this.opts.nodeId;
  }

  /** Registers, starts heartbeats and the metadata watch; resolves once this broker is unfenced in applied metadata. */
  async start(): Promise<void> {
    await this.register();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.opts.heartbeatIntervalMs);
    this.controller.watchMetadata((state) => {
      this.security.apply(state);
      void this.replicas.apply(state).then(() => this.checkReady());
    });
    void this.heartbeat();
    await new Promise<void>((resolve) => {
      this.readyWaiters.push(resolve);
      this.checkReady();
    });
    this.opts.log(`broker ${this.opts.nodeId} is registered (epoch ${this.epoch}) and unfenced`);
    await this.security.importLocalFiles();
  }

  private checkReady(): void {
    const me = this.replicas.metadata()?.brokers.get(this.opts.nodeId);
    if (!me || me.fenced || me.epoch !== this.epoch) return;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  private async register(): Promise<void> {
    const { host, port, listeners } = this.opts.advertised();
    let lastLogged = 0;
    while (!this.closed) {
      try {
        const { epoch } = await this.controller.register({ brokerId: this.opts.nodeId, host, port, listeners, incarnationId: this.incarnationId });
        this.epoch = epoch;
        return;
      } catch (err) {
        if (Date.now() - lastLogged > 5_000) {
          this.opts.log(`broker ${this.opts.nodeId} cannot register with the controller quorum yet: ${(err as Error).message}`);
          lastLogged = Date.now();
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private heartbeating = false;
  private async heartbeat(): Promise<void> {
    if (this.closed || this.epoch === null || this.heartbeating) return;
    this.heartbeating = true;
    try {
      await this.controller.heartbeat({ brokerId: this.opts.nodeId, epoch: this.epoch });
    } catch (err) {
      if (err instanceof ControllerError && (err.code === 'UNKNOWN_BROKER' || err.code === 'STALE_BROKER_EPOCH')) {
        this.opts.log(`broker ${this.opts.nodeId}: the controller no longer knows this registration (${err.message}); registering again`);
        this.epoch = null;
        await this.register();
      }
      // Other failures (no quorum, a controller election) are retried by the next beat.
    } finally {
      this.heartbeating = false;
    }
  }

  private onTransition(partition: Partition, transition: ReplicaTransition): void {
    if (partition.topic !== OFFSETS_TOPIC) return;
    if (transition === 'became-leader') this.offsets.loadPartition(partition.index);
    else this.offsets.unloadPartition(partition.index);
  }

  metadata(): MetadataState | null {
    return this.replicas.metadata();
  }

  replicaFetchRefusal(conn: { readonly principal: string }, replicaId: number): ReplicaFetchRefusal | null {
    return replicaFetchRefusal(conn, replicaId, this.saslMechanism.peerOf(conn), this.metadata());
  }

  coordinatorError(groupId: string): number {
    if (this.offsets.owns(groupId)) return ErrorCode.NONE;
    const topic = this.metadata()?.topics.get(OFFSETS_TOPIC);
    if (!topic) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const leader = topic.partitions[offsetsPartitionFor(groupId, topic.partitions.length)]?.leader;
    return leader === this.opts.nodeId ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NOT_COORDINATOR;
  }

  async findCoordinator(groupId: string, listenerName?: string): Promise<{ nodeId: number; host: string; port: number } | { errorCode: number; message: string }> {
    const state = this.metadata();
    const topic = state?.topics.get(OFFSETS_TOPIC);
    if (!state || !topic) {
      this.ensureOffsetsTopic();
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: `the ${OFFSETS_TOPIC} topic is being created` };
    }
    const leader = topic.partitions[offsetsPartitionFor(groupId, topic.partitions.length)].leader;
    const broker = leader === NO_LEADER ? undefined : state.brokers.get(leader);
    if (!broker || broker.fenced) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: `the ${OFFSETS_TOPIC} partition of group "${groupId}" has no live leader` };
    const endpoint = brokerEndpoint(broker, listenerName);
    if (!endpoint) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: `the coordinator of group "${groupId}" (broker ${broker.brokerId}) has no listener named ${listenerName}` };
    return { nodeId: broker.brokerId, ...endpoint };
  }

  private ensureOffsetsTopic(): void {
    this.creatingOffsetsTopic ??= (async () => {
      const state = this.metadata();
      const live = state ? liveBrokerIds(state).length : 1;
      try {
        await this.createTopic(OFFSETS_TOPIC, this.opts.offsetsTopicPartitions, Math.max(1, Math.min(3, live)), offsetsTopicConfigs(this.opts.offsetsCompactBytes));
      } catch (err) {
        if (!(err instanceof KafkaError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS)) this.opts.log(`creating ${OFFSETS_TOPIC} failed: ${(err as Error).message}`);
      } finally {
        this.creatingOffsetsTopic = null;
      }
    })();
  }

  async createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>): Promise<void> {
    await this.call(() => this.controller.createTopic({ name, partitions, replicationFactor, configs }));
    await this.awaitMetadata((s) => s.topics.has(name));
  }

  async deleteTopic(name: string): Promise<void> {
    await this.call(() => this.controller.deleteTopic(name));
    await this.awaitMetadata((s) => !s.topics.has(name));
  }

  async createPartitions(name: string, count: number): Promise<void> {
    await this.call(() => this.controller.createPartitions(name, count));
    await this.awaitMetadata((s) => (s.topics.get(name)?.partitions.length ?? 0) >= count);
  }

  async alterTopicConfig(name: string, configs: Record<string, string | null>): Promise<void> {
    await this.call(() => this.controller.alterTopicConfig(name, configs));
  }

  /** Waits (bounded) until this broker has applied metadata that shows a committed change. */
  private async awaitMetadata(done: (s: MetadataState) => boolean): Promise<void> {
    const deadline = Date.now() + this.opts.controllerRequestTimeoutMs;
    while (Date.now() < deadline) {
      const s = this.metadata();
      if (s && done(s)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // Asking for what is already so (e.g. the same configs again) is not an error for the client.
      if (err instanceof ControllerError && err.code === 'NO_CHANGE') return undefined as T;
      throw toKafkaError(err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.controller.close();
    await this.replicas.close();
    await this.offsets.close();
  }
}

const CONTROLLER_CODES: Record<string, number> = {
  DUPLICATE_TOPIC: ErrorCode.TOPIC_ALREADY_EXISTS,
  UNKNOWN_TOPIC: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  UNKNOWN_PARTITION: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  INVALID_REPLICATION_FACTOR: ErrorCode.INVALID_REPLICATION_FACTOR,
  INVALID_ASSIGNMENT: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
  INVALID_PARTITIONS: ErrorCode.INVALID_PARTITIONS,
  INVALID_CONFIG: ErrorCode.INVALID_CONFIG,
  NOT_CONTROLLER: ErrorCode.NOT_CONTROLLER,
  NO_QUORUM: ErrorCode.REQUEST_TIMED_OUT,
  BUSY: ErrorCode.REQUEST_TIMED_OUT,
};

/** A controller refusal as the Kafka error a client understands, keeping the controller's message. */
export function toKafkaError(err: unknown): KafkaError {
  if (err instanceof KafkaError) return err;
  if (err instanceof ControllerError) {
    return new KafkaError(CONTROLLER_CODES[err.code] ?? ErrorCode.UNKNOWN_SERVER_ERROR, err.message);
  }
  return new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `controller request failed: ${(err as Error).message}`);
}
