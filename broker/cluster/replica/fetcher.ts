// A follower's replica fetcher: one per leader broker, copying the partitions this broker follows
// from that leader, byte for byte, with Kafka's Fetch (replica id = this broker). Each connection
// first authenticates as this broker with the cluster's SASL mechanism (server/sasl/cluster.ts):
// the leader serves replica fetches only to the broker they name, at its current registration.
//
// Before fetching a partition after a leader change, the follower asks the new leader where its
// own latest leader epoch ends (OffsetForLeaderEpoch, KIP-101) and truncates everything past that
// point: entries a previous leader wrote but that never became committed, so a returning old leader
// never keeps or serves divergent data.
import { ErrorCode } from '../../protocol/errors.ts';
import { ApiKey } from '../../protocol/generated/index.ts';
import type { FetchResponse } from '../../protocol/generated/index.ts';
import { PeerConnection, type PeerConnectionOptions } from './peer-connection.ts';
import { RateLimitedLog } from '../../server/rate-limited-log.ts';
import { authenticateAsBroker, CLUSTER_SASL_MECHANISM, type ClusterPeer } from '../../server/sasl/cluster.ts';
import type { PartitionReplica } from './partition-replica.ts';

const FETCH_VERSION = 11;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 3;
const SASL_HANDSHAKE_VERSION = 1;
const SASL_AUTHENTICATE_VERSION = 1;
const AUTH_TIMEOUT_MS = 10_000;

export interface FetcherOptions {
  nodeId: number;
  leaderId: number;
  host: string;
  port: number;
  maxWaitMs: number;
  maxBytes: number;
  partitionMaxBytes: number;
  maxFrameBytes: number;
  clusterSecret: Buffer;
  /** TLS to the leader's listener (SSL / SASL_SSL), or null for plain TCP. */
  tls: PeerConnectionOptions['tls'];
  /** This broker's current registration epoch, claimed when authenticating (null: not registered yet). */
  brokerEpoch(): number | null;
  /** Pause after a failed round before retrying. */
  backoffMs: number;
  log(line: string): void;
}

interface Followed {
  replica: PartitionReplica;
  /** The leader epoch this follower state is for. */
  epoch: number;
  needsTruncation: boolean;
  /** Set after an error the leader answered for this partition; cleared by the next metadata update. */
  pausedUntilMs: number;
}

interface EpochEndOffsetResponse {
  topics: { topic: string; partitions: { errorCode: number; partition: number; leaderEpoch: number; endOffset: number }[] }[];
}

type SendOnConnection = <T>(apiKey: number, apiVersion: number, body: object, timeoutMs: number) => Promise<T>;

/** SaslHandshake + SaslAuthenticate with the cluster mechanism on a new connection to leader `leaderId`, as broker `self`. */
export async function authenticateReplicaConnection(send: SendOnConnection, clusterSecret: Buffer, self: ClusterPeer, leaderId: number): Promise<void> {
  const hs = await send<{ errorCode: number; mechanisms: string[] }>(ApiKey.SaslHandshake, SASL_HANDSHAKE_VERSION, { mechanism: CLUSTER_SASL_MECHANISM }, AUTH_TIMEOUT_MS);
  if (hs.errorCode !== ErrorCode.NONE) throw new Error(`SaslHandshake for ${CLUSTER_SASL_MECHANISM} failed with error ${hs.errorCode} (offered: ${hs.mechanisms.join(', ')})`);
  await authenticateAsBroker(clusterSecret, self, leaderId, async (authBytes) => {
    const r = await send<{ errorCode: number; errorMessage: string | null; authBytes: Buffer }>(ApiKey.SaslAuthenticate, SASL_AUTHENTICATE_VERSION, { authBytes }, AUTH_TIMEOUT_MS);
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`SaslAuthenticate failed with error ${r.errorCode}: ${r.errorMessage ?? ''}`);
    return r.authBytes;
  });
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class ReplicaFetcher {
  private readonly followed = new Map<string, Followed>();
  private readonly conn: PeerConnection;
  private running = true;
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;
  /** A lasting failure (leader down, a wrong cluster secret) repeats every backoff: a few lines a minute say so. */
  private readonly failureLog: RateLimitedLog;
  /** Rounds that moved data, for diagnostics and tests. */
  rounds = 0;

  constructor(private readonly opts: FetcherOptions) {
    this.failureLog = new RateLimitedLog((line) => opts.log(line), 10, 60_000);
    this.conn = new PeerConnection({
      host: opts.host,
      port: opts.port,
      clientId: `replica-fetcher-${opts.nodeId}`,
      maxFrameBytes: opts.maxFrameBytes,
      connectTimeoutMs: 2_000,
      tls: opts.tls,
      authenticate: (send) => this.authenticate(send),
    });
    this.loop = this.run();
  }

  private authenticate(send: SendOnConnection): Promise<void> {
    const epoch = this.opts.brokerEpoch();
    if (epoch === null) return Promise.reject(new Error('this broker is not registered yet'));
    return authenticateReplicaConnection(send, this.opts.clusterSecret, { brokerId: this.opts.nodeId, brokerEpoch: epoch }, this.opts.leaderId);
  }

  get leaderAddress(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  /** Starts (or restarts, after a leader change) following a partition at `epoch`. */
  follow(replica: PartitionReplica, epoch: number): void {
    const k = key(replica.partition.topic, replica.partition.index);
    const cur = this.followed.get(k);
    if (cur && cur.epoch === epoch) return;
    this.followed.set(k, { replica, epoch, needsTruncation: true, pausedUntilMs: 0 });
    this.wake?.();
  }

  unfollow(topic: string, partition: number): void {
    this.followed.delete(key(topic, partition));
  }

  get size(): number {
    return this.followed.size;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.followed.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1_000).unref();
        });
        this.wake = null;
        continue;
      }
      try {
        await this.truncateWhereNeeded();
        await this.fetchOnce();
      } catch (err) {
        if (!this.running) return;
        this.failureLog.log(`replica fetcher from broker ${this.opts.leaderId} (${this.leaderAddress}): ${(err as Error).message}; retrying in ${this.opts.backoffMs} ms`);
        await sleep(this.opts.backoffMs);
      }
    }
  }

  private active(): Followed[] {
    const now = Date.now();
    return [...this.followed.values()].filter((f) => f.pausedUntilMs <= now && f.replica.role === 'follower');
  }

  private async truncateWhereNeeded(): Promise<void> {
    const todo = this.active().filter((f) => f.needsTruncation);
    if (todo.length === 0) return;
    const byTopic = new Map<string, Followed[]>();
    for (const f of todo) byTopic.set(f.replica.partition.topic, [...(byTopic.get(f.replica.partition.topic) ?? []), f]);
    const body = {
      replicaId: this.opts.nodeId,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        partitions: list.map((f) => ({ partition: f.replica.partition.index, currentLeaderEpoch: f.epoch, leaderEpoch: f.replica.partition.log.latestEpoch() })),
      })),
    };
    const response = await this.conn.request<EpochEndOffsetResponse>(ApiKey.OffsetForLeaderEpoch, OFFSET_FOR_LEADER_EPOCH_VERSION, body, 10_000);
    for (const t of response.topics) {
      for (const p of t.partitions) {
        const f = this.followed.get(key(t.topic, p.partition));
        if (!f || !f.needsTruncation) continue;
        if (p.errorCode !== ErrorCode.NONE) {
          this.pause(f, `OffsetForLeaderEpoch error ${p.errorCode}`);
          continue;
        }
        const log = f.replica.partition.log;
        const before = log.logEndOffset;
        let target: number;
        if (p.endOffset < 0) {
          // The leader knows no epoch this old (or we have none): keep only what is known committed.
          target = Math.min(f.replica.highWatermark, before);
        } else {
          const local = log.endOffsetForEpoch(p.leaderEpoch);
          target = Math.min(p.endOffset, local.endOffset < 0 ? before : local.endOffset, before);
        }
        if (target < before) {
          log.truncateTo(target);
          f.replica.clampHighWatermark();
          this.opts.log(`${f.replica.name}: truncated from ${before} to ${log.logEndOffset} to match leader ${this.opts.leaderId} at epoch ${f.epoch}`);
        }
        f.needsTruncation = false;
      }
    }
  }

  private async fetchOnce(): Promise<void> {
    const list = this.active().filter((f) => !f.needsTruncation);
    if (list.length === 0) {
      await sleep(Math.min(100, this.opts.backoffMs));
      return;
    }
    const byTopic = new Map<string, Followed[]>();
    for (const f of list) byTopic.set(f.replica.partition.topic, [...(byTopic.get(f.replica.partition.topic) ?? []), f]);
    const request = {
      clusterId: null,
      replicaId: this.opts.nodeId,
      replicaState: { replicaId: this.opts.nodeId, replicaEpoch: -1 },
      maxWaitMs: this.opts.maxWaitMs,
      minBytes: 1,
      maxBytes: this.opts.maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, fs]) => ({
        topic,
        topicId: Buffer.alloc(16),
        partitions: fs.map((f) => ({
          partition: f.replica.partition.index,
          currentLeaderEpoch: f.epoch,
          fetchOffset: f.replica.partition.log.logEndOffset,
          lastFetchedEpoch: -1,
          logStartOffset: f.replica.partition.log.logStartOffset,
          partitionMaxBytes: this.opts.partitionMaxBytes,
          replicaDirectoryId: Buffer.alloc(16),
        })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    };
    const response = await this.conn.request<FetchResponse<Buffer>>(ApiKey.Fetch, FETCH_VERSION, request, this.opts.maxWaitMs + 10_000);
    if (response.errorCode !== ErrorCode.NONE) throw new Error(`fetch failed with error ${response.errorCode}`);
    let moved = false;
    for (const t of response.responses) {
      for (const p of t.partitions) {
        const f = this.followed.get(key(t.topic, p.partitionIndex));
        if (!f || f.needsTruncation || f.replica.role !== 'follower') continue;
        moved = this.applyPartition(f, p) || moved;
      }
    }
    if (moved) this.rounds++;
  }

  private applyPartition(f: Followed, p: FetchResponse<Buffer>['responses'][number]['partitions'][number]): boolean {
    const log = f.replica.partition.log;
    if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (p.logStartOffset > log.logEndOffset) {
        // Retention on the leader removed what we still need: start over at its log start.
        this.opts.log(`${f.replica.name}: fetch offset ${log.logEndOffset} is below leader ${this.opts.leaderId}'s log start ${p.logStartOffset}; restarting the local log there`);
        log.truncateFullyAndStartAt(p.logStartOffset);
        f.replica.clampHighWatermark();
      } else {
        f.needsTruncation = true;
      }
      return false;
    }
    if (p.errorCode === ErrorCode.STALE_BROKER_EPOCH) {
      // The leader knows another registration of ours than the one this connection claimed: authenticate again.
      this.conn.disconnect('the leader refused our broker epoch');
      this.pause(f, `fetch error ${p.errorCode} (STALE_BROKER_EPOCH)`);
      return false;
    }
    if (p.errorCode !== ErrorCode.NONE) {
      this.pause(f, `fetch error ${p.errorCode}`);
      return false;
    }
    let appended = false;
    if (p.records && p.records.length > 0) {
      const result = log.appendAsFollower(p.records);
      appended = result.appendedBatches > 0;
    }
    if (p.logStartOffset > log.logStartOffset && p.logStartOffset <= log.logEndOffset) log.deleteRecordsBefore(p.logStartOffset);
    f.replica.setFollowerHighWatermark(p.highWatermark);
    if (appended) f.replica.partition.onAppend();
    return appended;
  }

  private pause(f: Followed, why: string): void {
    // Usually the leader has not yet seen the same metadata; the next update resets the pause.
    f.pausedUntilMs = Date.now() + this.opts.backoffMs;
    f.needsTruncation = true;
    this.opts.log(`${f.replica.name}: ${why} from leader ${this.opts.leaderId} at epoch ${f.epoch}; retrying`);
  }

  async close(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.conn.close();
    await this.loop.catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
