import {
  defaultCreateTopicsResponseTopics,
  defaultDeleteTopicsResponseResponses,
  defaultInitProducerIdResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type CreateTopicsResponseTopics,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import type { RequestContext, ClusterServices } from '../context.ts';
import { liveBrokerIds } from '../../cluster/metadata/index.ts';
import { AclOperation, createTopicAllowed, idempotentWriteAllowed, topicAllowed, transactionalIdAllowed } from '../../security/acl-checks.ts';

/** Replication factor -1: three replicas, or every live broker when there are fewer. */
function defaultReplicationFactor(cluster: ClusterServices): number {
  const state = cluster.metadata();
  return Math.max(1, Math.min(3, state ? liveBrokerIds(state).length : 1));
}

/** Runs fn, turning a KafkaError into its code and message; anything else is a real bug and propagates. */
async function outcome(fn: () => Promise<void> | void): Promise<{ errorCode: number; errorMessage: string | null }> {
  try {
    await fn();
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (err) {
    if (err instanceof KafkaError) return { errorCode: err.code, errorMessage: err.message };
    throw err;
  }
}

/** A single node holds one replica of everything; a manual assignment must name only this node. */
function checkReplication(ctx: RequestContext, replicationFactor: number, assignments: { brokerIds: number[] }[]): void {
  if (replicationFactor !== -1 && replicationFactor !== 1 && assignments.length === 0) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${replicationFactor} is larger than the 1 available broker`);
  }
  for (const a of assignments) {
    if (a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.config.nodeId) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `replica assignment [${a.brokerIds.join(',')}] must be exactly [${ctx.config.nodeId}] on this single-node broker`);
    }
  }
}

export async function handleCreateTopics(req: CreateTopicsRequest, ctx: RequestContext): Promise<CreateTopicsResponse> {
  const topics: CreateTopicsResponseTopics[] = [];
  for (const t of req.topics) {
    if (!createTopicAllowed(ctx, t.name)) {
      topics.push({ ...defaultCreateTopicsResponseTopics(), name: t.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: `${ctx.conn.principal} may not create topic "${t.name}"` });
      continue;
    }
    let partitions = t.numPartitions === -1 ? ctx.config.defaultPartitions : t.numPartitions;
    if (t.assignments.length > 0) {
      if (t.numPartitions !== -1) {
        topics.push({ ...defaultCreateTopicsResponseTopics(), name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'give either a partition count or a replica assignment, not both' });
        continue;
      }
      partitions = t.assignments.length;
    }
    const configs = Object.fromEntries(t.configs.map((c) => [c.name, c.value ?? '']));
    const cluster = ctx.cluster;
    let replicationFactor = 1;
    const result = await outcome(async () => {
      if (cluster) {
        // The controller places replicas; manual assignments are not supported in a cluster yet.
        if (t.assignments.length > 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'manual replica assignments are not supported in a cluster; give a partition count and replication factor');
        ctx.topics.validateCreate(t.name, partitions, configs);
        replicationFactor = t.replicationFactor === -1 ? defaultReplicationFactor(cluster) : t.replicationFactor;
        if (!req.validateOnly) await cluster.createTopic(t.name, partitions, replicationFactor, configs);
        return;
      }
      checkReplication(ctx, t.replicationFactor, t.assignments);
      if (req.validateOnly) ctx.topics.validateCreate(t.name, partitions, configs);
      else await ctx.topics.create(t.name, partitions, configs);
    });
    topics.push({
      ...defaultCreateTopicsResponseTopics(),
      name: t.name,
      ...result,
      numPartitions: result.errorCode === ErrorCode.NONE ? partitions : -1,
      replicationFactor: result.errorCode === ErrorCode.NONE ? replicationFactor : -1,
    });
  }
  return { throttleTimeMs: 0, topics };
}

export async function handleDeleteTopics(req: DeleteTopicsRequest, ctx: RequestContext): Promise<DeleteTopicsResponse> {
  const responses: DeleteTopicsResponse['responses'] = [];
  for (const name of req.topicNames) {
    const result = await outcome(async () => {
      if (!topicAllowed(ctx, AclOperation.DELETE, name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `${ctx.conn.principal} may not delete topic "${name}"`);
      if (ctx.cluster) await ctx.cluster.deleteTopic(name);
      else await ctx.topics.delete(name);
      await ctx.groups.deleteTopicOffsets(name);
    });
    responses.push({ ...defaultDeleteTopicsResponseResponses(), name, ...result });
  }
  return { throttleTimeMs: 0, responses };
}

export async function handleCreatePartitions(req: CreatePartitionsRequest, ctx: RequestContext): Promise<CreatePartitionsResponse> {
  const results: CreatePartitionsResponse['results'] = [];
  for (const t of req.topics) {
    const result = await outcome(async () => {
      if (!topicAllowed(ctx, AclOperation.ALTER, t.name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `${ctx.conn.principal} may not alter topic "${t.name}"`);
      if (ctx.cluster) {
        // The controller places the new partitions' replicas, as for CreateTopics.
        if (t.assignments) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'manual replica assignments are not supported in a cluster; give only the new partition count');
        if (!req.validateOnly) {
          await ctx.cluster.createPartitions(t.name, t.count); // the controller checks the topic and the count
          return;
        }
        // Validation only: checked against this broker's copy of the metadata.
        const current = ctx.cluster.metadata()?.topics.get(t.name)?.partitions.length;
        if (current === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${t.name}" does not exist`);
        if (t.count <= current) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `topic "${t.name}" has ${current} partitions; the new count must be larger, got ${t.count}`);
        return;
      }
      if (t.assignments) checkReplication(ctx, 1, t.assignments);
      const topic = ctx.topics.get(t.name);
      if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${t.name}" does not exist`);
      if (req.validateOnly) {
        if (t.count <= topic.partitions.length) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `topic "${t.name}" has ${topic.partitions.length} partitions; the new count must be larger, got ${t.count}`);
        return;
      }
      await ctx.topics.addPartitions(t.name, t.count);
    });
    results.push({ name: t.name, ...result });
  }
  return { throttleTimeMs: 0, results };
}

/** DeleteRecords: moves each partition's log start offset forward (-1 = up to the high watermark). */
export function handleDeleteRecords(req: DeleteRecordsRequest, ctx: RequestContext): DeleteRecordsResponse {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      const allowed = topicAllowed(ctx, AclOperation.DELETE, t.name);
      return { name: t.name, partitions: t.partitions.map((p) => {
        if (!allowed) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        const partition = ctx.topics.partition(t.name, p.partitionIndex);
        if (!partition) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        if (!partition.isLeader) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
        const target = p.offset === -1 ? partition.highWatermark : p.offset;
        if (target < 0 || target > partition.highWatermark) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
        const lowWatermark = partition.log.deleteRecordsBefore(target);
        ctx.config.logger(`deleted records of ${t.name}-${p.partitionIndex} before offset ${lowWatermark}`);
        return { partitionIndex: p.partitionIndex, lowWatermark, errorCode: ErrorCode.NONE };
      }) };
    }),
  };
}

/**
 * InitProducerId (v0-5) for idempotent producers: a fresh id with epoch 0, whatever id and epoch the request names
 * (producer-ids.ts; Kafka answers a request without a transactional id the same way). v4 adds PRODUCER_FENCED and v5
 * TRANSACTION_ABORTABLE, which only transactions raise. Transactional ids are refused with INVALID_REQUEST (and a
 * rate-limited log line naming the id): this broker has no transaction coordinator, and FindCoordinator for one (key
 * type 1) is refused the same way.
 */
export function handleInitProducerId(req: InitProducerIdRequest, ctx: RequestContext): InitProducerIdResponse {
  const answer = (errorCode: number, producerId: number, producerEpoch: number): InitProducerIdResponse =>
({ ...defaultInitProducerIdResponse(), errorCode, producerId, producerEpoch });
  // Kafka: WRITE on the transactional id, or for an idempotent producer IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
  if (req.transactionalId !== null && !transactionalIdAllowed(ctx, AclOperation.WRITE, req.transactionalId)) return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1);
  if (req.transactionalId === null && !idempotentWriteAllowed(ctx)) return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, -1, -1);
  if (req.transactionalId !== null) {
    // Rate-limited: the transactional id is the client's, and a client can send this as often as it likes.
    ctx.warn(`InitProducerId with transactional id "${req.transactionalId}" refused: transactions are not supported`);
    return answer(ErrorCode.INVALID_REQUEST, -1, -1);
  }
  const r = ctx.producerIds.init(Number(req.producerId ?? -1), req.producerEpoch ?? -1);
  if (r.message) ctx.warn(`InitProducerId from ${ctx.conn.remoteAddress} (${ctx.header.clientId ?? '-'}) refused: ${r.message}`);
  return answer(r.errorCode, r.producerId, r.producerEpoch);
}

