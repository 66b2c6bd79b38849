import { defaultFetchResponsePartitions, type FetchRequest, type FetchResponse, type FetchResponsePartitions } from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import type { Partition } from '../../topics.ts';
import type { RequestContext } from '../context.ts';
import { AclOperation, clusterAllowed, topicAllowed } from '../../security/acl-checks.ts';
import { NO_REPLICAS_HERE } from '../../cluster/replica/replica-auth.ts';

const BATCH_LENGTH_OFFSET = 8;
const RECORDS_COUNT_OFFSET = 57;
const LOG_OVERHEAD_BYTES = 12;

/**
 * Long-polling fetches waiting for data. Each waits on the partitions it reads; an append to any
 * of them, the deadline, the connection closing or the broker closing wakes it. No polling loop:
 * a waiting fetch costs one timer and one entry per partition.
 */
export class FetchWaiters {
  private readonly active = new Set<() => void>();
  private closed = false;

  wait(partitions: Partition[], deadlineMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const cancels: (() => void)[] = [];
      const wake = (): void => {
        clearTimeout(timer);
        for (const cancel of cancels) cancel();
        this.active.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, deadlineMs - Date.now()));
      for (const p of partitions) cancels.push(p.waitForData(wake));
      this.active.add(wake);
    });
  }

  close(): void {
    this.closed = true;
    for (const wake of [...this.active]) wake();
  }
}

/**
 * Fetch: returns whole stored batches from the one containing each fetch offset, bounded by the
 * per-partition and per-response limits, with the first non-empty partition allowed to exceed
 * them by one batch (KIP-74) so a consumer always progresses. Waits up to MaxWaitMs for MinBytes.
 * Fetch sessions (KIP-227) are not kept: SessionId 0 tells clients to send full fetches.
 */
export async function handleFetch(req: FetchRequest, ctx: RequestContext): Promise<FetchResponse> {
  const maxWaitMs = Math.min(Math.max(0, req.maxWaitMs), ctx.config.maxFetchWaitMs);
  const deadline = Date.now() + maxWaitMs;
  const minBytes = Math.max(0, req.minBytes);
  const requestedBytes = Math.min(req.maxBytes > 0 ? req.maxBytes : ctx.config.maxFetchResponseBytes, ctx.config.maxFetchResponseBytes);
  while (true) {
    // Sized when read, not when asked: while the broker-wide response budget is spent or nearly, the
    // answer shrinks to the room left (one batch when none), so clients that do not read cannot push
    // queued responses far past the budget by each having one full-sized answer written.
    const maxBytes = Math.min(requestedBytes, ctx.responses.roomBytes);
    const { responses, bytes, partitions, hasError } = readAll(req, ctx, maxBytes);
    const done = bytes >= minBytes || hasError || Date.now() >= deadline || ctx.conn.closed || partitions.length === 0;
    if (done) {
      countOut(ctx, responses);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses, nodeEndpoints: [] };
    }
    await ctx.fetchWaiters.wait(partitions, deadline);
  }
}

function readAll(req: FetchRequest, ctx: RequestContext, maxBytes: number): { responses: FetchResponse['responses']; bytes: number; partitions: Partition[]; hasError: boolean } {
  let budget = maxBytes;
  let hasError = false;
  let bytes = 0;
  let minOneBatch = true;
  const partitions: Partition[] = [];
  const responses: FetchResponse['responses'] = [];
  const follower = req.replicaId >= 0;
  // A replica fetch reads past the high watermark and moves it: only the broker it names may send one (cluster/replica/replica-auth.ts).
  const refusal = follower ? (ctx.cluster ? ctx.cluster.replicaFetchRefusal(ctx.conn, req.replicaId) : NO_REPLICAS_HERE) : null;
  if (refusal) ctx.warn(`connection ${ctx.conn.id} from ${ctx.conn.remoteAddress}: ${refusal.message}`);
  for (const topic of req.topics) {
    const out: FetchResponsePartitions[] = [];
    // ACLs (Kafka's KafkaApis): a replica fetch needs CLUSTER_ACTION on the cluster, a consumer's READ on the topic.
    const denied = follower ? !clusterAllowed(ctx, AclOperation.CLUSTER_ACTION) : !topicAllowed(ctx, AclOperation.READ, topic.topic);
    for (const fp of topic.partitions) {
      const partition = ctx.topics.partition(topic.topic, fp.partition);
      const data: FetchResponsePartitions = {
        ...defaultFetchResponsePartitions(),
        partitionIndex: fp.partition,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        abortedTransactions: [],
        preferredReadReplica: -1,
        records: [], // empty, never null: librdkafka rejects a null record set (MessageSetSize -1)
      };
      if (refusal) {
        data.errorCode = refusal.errorCode;
        hasError = true;
      } else if (denied) {
        data.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        hasError = true;
      } else if (!partition) {
        data.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        hasError = true;
      } else if (leadershipError(partition, fp.currentLeaderEpoch) !== ErrorCode.NONE) {
        data.errorCode = leadershipError(partition, fp.currentLeaderEpoch);
        hasError = true;
      } else {
        partitions.push(partition);
        // Only an assigned replica reads past the high watermark and counts towards the ISR.
        const replicaFetch = follower && (partition.replica?.replicas.includes(req.replicaId) ?? false);
        // An offset past the leader's log end is not the follower's log end: the read below answers OFFSET_OUT_OF_RANGE.
        if (replicaFetch && fp.fetchOffset <= partition.log.logEndOffset) partition.replica?.onFollowerFetch(req.replicaId, fp.fetchOffset);
        data.highWatermark = partition.highWatermark;
        data.lastStableOffset = partition.highWatermark;
        data.logStartOffset = partition.log.logStartOffset;
        try {
          const limit = Math.min(fp.partitionMaxBytes, budget);
          if (limit > 0 || minOneBatch) {
            // Consumers see committed data only; followers copy everything the leader has.
            const read = partition.log.read(fp.fetchOffset, limit, minOneBatch, replicaFetch ? undefined : partition.highWatermark);
            if (read.bytes > 0) {
              data.records = read.chunks;
              bytes += read.bytes;
              budget = Math.max(0, budget - read.bytes);
              minOneBatch = false;
            }
          }
        } catch (err) {
          if (!(err instanceof KafkaError)) throw err;
          data.errorCode = err.code;
          hasError = true;
        }
      }
      out.push(data);
    }
    responses.push({ topic: topic.topic, topicId: topic.topicId, partitions: out });
  }
  return { responses, bytes, partitions, hasError };
}

/** Counts bytes and records sent per topic, reading only batch headers. */
function countOut(ctx: RequestContext, responses: FetchResponse['responses']): void {
  for (const topic of responses) {
    let bytes = 0;
    let records = 0;
    for (const p of topic.partitions) {
      const chunks = p.records === null ? [] : Array.isArray(p.records) ? p.records : [p.records as Buffer];
      for (const chunk of chunks) {
        bytes += chunk.length;
        for (let pos = 0; pos + RECORDS_COUNT_OFFSET + 4 <= chunk.length; ) {
          records += chunk.readInt32BE(pos + RECORDS_COUNT_OFFSET);
          pos += LOG_OVERHEAD_BYTES + chunk.readInt32BE(pos + BATCH_LENGTH_OFFSET);
        }
      }
    }
    if (bytes > 0) {
      ctx.metrics.bytesOut.inc({ topic: topic.topic }, bytes);
      ctx.metrics.messagesOut.inc({ topic: topic.topic }, records);
    }
  }
}

/**
 * In a cluster only the leader answers fetches, and a fetch that names a leader epoch must name the
 * current one (KIP-320): an older epoch is fenced, a newer one not known here yet.
 */
export function leadershipError(partition: Partition, currentLeaderEpoch: number): number {
  // A partition whose log could not be opened serves nothing (topics.ts keeps it offline).
  if (partition.offline !== null) return ErrorCode.KAFKA_STORAGE_ERROR;
  if (!partition.isLeader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  if (currentLeaderEpoch >= 0 && partition.replica) {
    if (currentLeaderEpoch < partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (currentLeaderEpoch > partition.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  }
  return ErrorCode.NONE;
}
