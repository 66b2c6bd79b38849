// Turns committed controller metadata into this broker's local state: creates and deletes local
// partition logs, makes each hosted replica leader or follower at the right leader epoch, runs one
// replica fetcher per leader broker, and checks the ISR of the partitions it leads.
//
// Metadata updates are applied one at a time, in offset order; an update that fails (a disk error)
// is logged and retried with the next one, since updates carry the whole state.
import { NO_LEADER, minInsyncReplicas, type MetadataState, type TopicState } from '../metadata/index.ts';
import type { Partition, TopicStore } from '../../topics.ts';
import { ReplicaFetcher, type FetcherOptions } from './fetcher.ts';
import { PartitionReplica, type IsrChangeRequest, type ReplicaTransition } from './partition-replica.ts';

export interface ReplicaManagerOptions {
  nodeId: number;
  topics: TopicStore;
  alterIsr(change: IsrChangeRequest): Promise<void>;
  replicaLagTimeMaxMs: number;
  /** min.insync.replicas for topics that do not set it. */
  defaultMinInsyncReplicas: number;
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  maxFrameBytes: number;
  /** Authenticates this broker's fetches to the leaders (server/sasl/cluster.ts). */
  clusterSecret: Buffer;
  /** TLS to the leaders' listeners, or null (replicas fetch from each leader's primary listener). */
  replicaTls: FetcherOptions['tls'];
  /** This broker's current registration epoch (null before it registered). */
  brokerEpoch(): number | null;
  log(line: string): void;
  /** Called after a replica of `topic` changed role (the group coordinator follows its offsets partitions). */
  onTransition?(partition: Partition, transition: ReplicaTransition): void;
}

export class ReplicaManager {
  private state: MetadataState | null = null;
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private chain: Promise<void> = Promise.resolve();
  private readonly isrTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: ReplicaManagerOptions) {
    this.isrTimer = setInterval(() => this.checkIsr(), Math.max(100, Math.floor(opts.replicaLagTimeMaxMs / 4)));
    this.isrTimer.unref();
  }

  /** The last applied metadata, or null before the first arrives. */
  metadata(): MetadataState | null {
    return this.state;
  }

  /** Queues a metadata state to apply; resolves when it (and everything queued before) is applied. */
  apply(state: MetadataState): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed || (this.state && state.offset <= this.state.offset)) return;
      try {
        await this.applyNow(state);
      } catch (err) {
        this.opts.log(`applying metadata at offset ${state.offset} failed: ${(err as Error).message}`);
        return;
      }
      this.state = state;
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  private async applyNow(state: MetadataState): Promise<void> {
    const { topics } = this.opts;
    for (const local of [...topics.all()]) {
      if (!state.topics.has(local.name)) {
        for (const p of local.partitions) p.replica?.close();
        await topics.delete(local.name);
        for (const f of this.fetchers.values()) for (const p of local.partitions) f.unfollow(local.name, p.index);
      }
    }
    const follow = new Map<number, PartitionReplica[]>();
    for (const topic of state.topics.values()) {
      const local = await this.ensureLocalTopic(topic);
      const minIsr = minInsyncReplicas(topic, this.opts.defaultMinInsyncReplicas);
      for (const ps of topic.partitions) {
        const partition = local.partitions[ps.partition];
        const replica = (partition.replica ??= new PartitionReplica(partition, {
          nodeId: this.opts.nodeId,
          now: () => Date.now(),
          replicaLagTimeMaxMs: this.opts.replicaLagTimeMaxMs,
          alterIsr: (change) => this.opts.alterIsr(change),
          log: this.opts.log,
        }));
        const transition = replica.update(ps, minIsr);
        if (transition !== 'unchanged' && transition !== 'isr-changed') this.opts.onTransition?.(partition, transition);
        if (replica.role === 'follower' && ps.leader !== NO_LEADER) {
          follow.set(ps.leader, [...(follow.get(ps.leader) ?? []), replica]);
        }
      }
    }
    this.updateFetchers(state, follow);
  }

  private async ensureLocalTopic(topic: TopicState): Promise<{ partitions: Partition[] }> {
    const { topics } = this.opts;
    let local = topics.get(topic.name);
    if (!local) {
      local = await topics.create(topic.name, topic.partitions.length, { ...topic.configs });
    } else {
      if (local.partitions.length < topic.partitions.length) await topics.addPartitions(topic.name, topic.partitions.length);
      if (JSON.stringify(local.configs) !== JSON.stringify(topic.configs)) await topics.alterConfigs(topic.name, { ...topic.configs });
    }
    return local;
  }

  private updateFetchers(state: MetadataState, follow: Map<number, PartitionReplica[]>): void {
    for (const [leaderId, fetcher] of this.fetchers) {
      const wanted = follow.get(leaderId) ?? [];
      const broker = state.brokers.get(leaderId);
      const moved = !broker || `${broker.host}:${broker.port}` !== fetcher.leaderAddress;
      if (wanted.length === 0 || moved) {
        this.fetchers.delete(leaderId);
        void fetcher.close();
      }
    }
    for (const [leaderId, replicas] of follow) {
      const broker = state.brokers.get(leaderId);
      if (!broker) continue;
      let fetcher = this.fetchers.get(leaderId);
      if (!fetcher) {
        fetcher = new ReplicaFetcher({
          nodeId: this.opts.nodeId,
          leaderId,
          host: broker.host,
          port: broker.port,
          maxWaitMs: this.opts.fetchMaxWaitMs,
          maxBytes: this.opts.fetchMaxBytes,
          partitionMaxBytes: Math.min(this.opts.fetchMaxBytes, 8 * 1024 * 1024),
          maxFrameBytes: this.opts.maxFrameBytes,
          clusterSecret: this.opts.clusterSecret,
          tls: this.opts.replicaTls,
          brokerEpoch: this.opts.brokerEpoch,
          backoffMs: 200,
          log: this.opts.log,
        });
        this.fetchers.set(leaderId, fetcher);
      }
      for (const r of replicas) fetcher.follow(r, r.leaderEpoch);
    }
    // A partition whose leader moved away from a fetcher's broker must stop being fetched there.
    for (const [leaderId, fetcher] of this.fetchers) {
      for (const topic of state.topics.values()) {
        for (const ps of topic.partitions) if (ps.leader !== leaderId) fetcher.unfollow(topic.name, ps.partition);
      }
    }
  }

  private checkIsr(): void {
    for (const topic of this.opts.topics.all()) for (const p of topic.partitions) p.replica?.checkIsr();
  }

  /** Replication progress, for diagnostics. */
  fetcherCount(): number {
    return this.fetchers.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.isrTimer);
    await this.chain.catch(() => undefined);
    await Promise.all([...this.fetchers.values()].map((f) => f.close()));
    this.fetchers.clear();
    for (const topic of this.opts.topics.all()) for (const p of topic.partitions) p.replica?.close();
  }
}
