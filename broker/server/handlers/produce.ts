import { defaultProduceResponsePartitionResponses, type ProduceRequest, type ProduceResponse, type ProduceResponsePartitionResponses } from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import { validateProducedBatch } from '../../log/record-batch.ts';
import type { RequestContext } from '../context.ts';
import type { PartitionReplica } from '../../cluster/replica/partition-replica.ts';
import { AclOperation, topicAllowed, transactionalIdAllowed } from '../../security/acl-checks.ts';
import { timestampBounds } from '../../topic-config.ts';
import { checkProducedTimestamps } from './produce-timestamps.ts';

const RECORDS_COUNT_OFFSET = 57;
const ATTRIBUTES_OFFSET = 21;
const PRODUCER_ID_OFFSET = 43;
const TRANSACTIONAL_FLAG = 0x10;
const MAGIC_OFFSET = 16;
const CURRENT_MAGIC = 2;
const NO_CONFIGS: Readonly<Record<string, string>> = {};

/**
 * Produce: validate each partition's record batch (one magic-2 batch, CRC-32C checked), append it
 * as the client sent it (only base offset and leader epoch rewritten), and answer with the base
 * offset. On a single node every append is committed at once, so acks=1 and acks=all are the same.
 * In a cluster only the partition's leader accepts writes; acks=all needs min.insync.replicas in
 * the ISR before the append (NOT_ENOUGH_REPLICAS) and answers once the high watermark passes the
 * batch, i.e. every in-sync replica holds it (REQUEST_TIMED_OUT after the request's timeout;
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND if it passed because the ISR shrank below min.insync.replicas).
 * acks=0 gets no response at all, as clients expect.
 */
export async function handleProduce(req: ProduceRequest, ctx: RequestContext): Promise<ProduceResponse | null> {
  const acks = req.acks;
  const responses: ProduceResponse['responses'] = [];
  const waits: Promise<void>[] = [];
  // Kafka: WRITE on the transactional id for the whole request, then WRITE on each topic.
  const txnDenied = req.transactionalId !== null && !transactionalIdAllowed(ctx, AclOperation.WRITE, req.transactionalId);
  for (const topicData of req.topicData) {
    const partitionResponses: ProduceResponsePartitionResponses[] = [];
    const denied = txnDenied ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : topicAllowed(ctx, AclOperation.WRITE, topicData.name) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    for (const p of topicData.partitionData) {
      if (denied !== ErrorCode.NONE) {
        partitionResponses.push({ ...defaultProduceResponsePartitionResponses(), index: p.index, errorCode: denied, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 });
        continue;
      }
      const { result, replicated } = appendOne(ctx, topicData.name, p.index, p.records, acks, req.transactionalId);
      partitionResponses.push(result);
      if (replicated) waits.push(awaitReplication(result, replicated, req.timeoutMs));
    }
    responses.push({ name: topicData.name, partitionResponses });
  }
  if (waits.length > 0) await Promise.all(waits);
  if (acks === 0) return null;
  return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
}

interface PendingReplication {
  replica: PartitionReplica;
  offset: number;
}

async function awaitReplication(result: ProduceResponsePartitionResponses, pending: PendingReplication, timeoutMs: number): Promise<void> {
  const outcome = await pending.replica.waitForReplication(pending.offset, Math.max(0, timeoutMs));
  // The high watermark also passes the batch when the ISR shrinks to the replicas that hold it: if
  // that left fewer than min.insync.replicas, acks=all did not get its copies (Kafka's
  // Partition.checkEnoughReplicasReachOffset answers NOT_ENOUGH_REPLICAS_AFTER_APPEND then).
  if (outcome === 'replicated' && pending.replica.isr.length >= pending.replica.minInsyncReplicas) return;
  if (outcome === 'not-leader') {
    result.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    result.errorMessage = `leadership of ${pending.replica.name} moved before the in-sync replicas acknowledged the write`;
  } else if (pending.replica.isr.length < pending.replica.minInsyncReplicas) {
    result.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    result.errorMessage = `${pending.replica.name} has ${pending.replica.isr.length} in-sync replica(s), fewer than min.insync.replicas=${pending.replica.minInsyncReplicas}`;
  } else {
    result.errorCode = ErrorCode.REQUEST_TIMED_OUT;
    result.errorMessage = `the in-sync replicas of ${pending.replica.name} did not acknowledge the write within ${timeoutMs} ms`;
  }
  result.baseOffset = -1;
}

function appendOne(
  ctx: RequestContext,
  topic: string,
  index: number,
  records: Buffer | null,
  acks: number,
  transactionalId: string | null,
): { result: ProduceResponsePartitionResponses; replicated: PendingReplication | null } {
  const result = { ...defaultProduceResponsePartitionResponses(), index, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
  let replicated: PendingReplication | null = null;
  try {
    if (acks !== 0 && acks !== 1 && acks !== -1) throw new KafkaError(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${acks}`);
    const partition = ctx.topics.partition(topic, index);
    if (!partition) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown partition ${topic}-${index}`);
    const replica = partition.replica;
    if (!partition.isLeader) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `this broker is not the leader of ${topic}-${index}`);
    if (replica && acks === -1 && replica.isr.length < replica.minInsyncReplicas) {
      throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, `${topic}-${index} has ${replica.isr.length} in-sync replica(s) [${replica.isr.join(',')}], fewer than min.insync.replicas=${replica.minInsyncReplicas}`);
    }
    if (!records || records.length === 0) throw new KafkaError(ErrorCode.INVALID_RECORD, 'the request carries no record batch');
    if (records.length > MAGIC_OFFSET && records[MAGIC_OFFSET] < CURRENT_MAGIC) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `message format v${records[MAGIC_OFFSET]} is not supported: send record batches (magic 2) with Produce v3 or later`);
    }
    validateProducedBatch(records, partition.log.maxBatchBytes);
    // Only producer ids this cluster handed out (producer-ids.ts): made-up ones would take over another
    // producer's sequence state or fill the partition's producer table and evict real producers from it.
    const producerId = Number(records.readBigInt64BE(PRODUCER_ID_OFFSET));
    if (producerId >= 0 && !ctx.producerIds.isIssued(producerId)) throw new KafkaError(ErrorCode.UNKNOWN_PRODUCER_ID, `producer id ${producerId} was not handed out by this cluster: ask InitProducerId for one`);
    if (transactionalId !== null || (records.readInt16BE(ATTRIBUTES_OFFSET) & TRANSACTIONAL_FLAG) !== 0) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'transactions are not supported by this broker');
    }
    // message.timestamp.type / before.max.ms / after.max.ms (produce-timestamps.ts), before anything is written.
    const configs = ctx.topics.get(topic)?.configs ?? NO_CONFIGS;
    checkProducedTimestamps(records, partition.log.config.messageTimestampType ?? 'CreateTime', timestampBounds(configs), Date.now());
    const recordCount = records.readInt32BE(RECORDS_COUNT_OFFSET);
    const bytes = records.length;
    const appended = partition.log.append(records, partition.leaderEpoch);
    result.baseOffset = appended.baseOffset;
    result.logAppendTimeMs = appended.logAppendTimeMs;
    result.logStartOffset = partition.log.logStartOffset;
    if (!appended.duplicate) {
      ctx.metrics.bytesIn.inc({ topic }, bytes);
      ctx.metrics.messagesIn.inc({ topic }, recordCount);
      partition.onAppend();
    }
    if (replica) {
      replica.onLeaderAppend();
      // A duplicate (an idempotent retry) is answered like the original: once it is replicated.
      if (acks === -1) replicated = { replica, offset: appended.lastOffset + 1 };
    }
  } catch (err) {
    if (!(err instanceof KafkaError)) throw err;
    result.errorCode = err.code;
    result.errorMessage = err.message;
    const expected = err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || err.code === ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (!expected) ctx.warn(`produce to ${topic}-${index} from ${ctx.header.clientId ?? '-'} rejected: ${err.message}`);
  }
  return { result, replicated };
}
