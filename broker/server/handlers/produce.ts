import { defaultProduceResponsePartitionResponses, type ProduceRequest, type ProduceResponse, type ProduceResponsePartitionResponses } from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import { validateProducedBatch } from '../../log/record-batch.ts';
import type { RequestContext } from '../context.ts';

const RECORDS_COUNT_OFFSET = 57;
const ATTRIBUTES_OFFSET = 21;
const TRANSACTIONAL_FLAG = 0x10;
const MAGIC_OFFSET = 16;
const CURRENT_MAGIC = 2;

/**
 * Produce: validate each partition's record batch (one magic-2 batch, CRC-32C checked), append it
 * as the client sent it (only base offset and leader epoch rewritten), and answer with the base
 * offset. On a single node every append is committed at once, so acks=1 and acks=all are the same;
 * acks=0 gets no response at all, as clients expect.
 */
export function handleProduce(req: ProduceRequest, ctx: RequestContext): ProduceResponse | null {
  const acks = req.acks;
  const responses: ProduceResponse['responses'] = [];
  for (const topicData of req.topicData) {
    const partitionResponses: ProduceResponsePartitionResponses[] = [];
    for (const p of topicData.partitionData) {
      partitionResponses.push(appendOne(ctx, topicData.name, p.index, p.records, acks, req.transactionalId));
    }
    responses.push({ name: topicData.name, partitionResponses });
  }
  if (acks === 0) return null;
  return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
}

function appendOne(
  ctx: RequestContext,
  topic: string,
  index: number,
  records: Buffer | null,
  acks: number,
  transactionalId: string | null,
): ProduceResponsePartitionResponses {
  const result = { ...defaultProduceResponsePartitionResponses(), index, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
  try {
    if (acks !== 0 && acks !== 1 && acks !== -1) throw new KafkaError(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${acks}`);
    const partition = ctx.topics.partition(topic, index);
    if (!partition) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown partition ${topic}-${index}`);
    if (!records || records.length === 0) throw new KafkaError(ErrorCode.INVALID_RECORD, 'the request carries no record batch');
    if (records.length > MAGIC_OFFSET && records[MAGIC_OFFSET] < CURRENT_MAGIC) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `message format v${records[MAGIC_OFFSET]} is not supported: send record batches (magic 2) with Produce v3 or later`);
    }
    validateProducedBatch(records, partition.log.maxBatchBytes);
    if (transactionalId !== null || (records.readInt16BE(ATTRIBUTES_OFFSET) & TRANSACTIONAL_FLAG) !== 0) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'transactions are not supported by this broker');
    }
    const recordCount = records.readInt32BE(RECORDS_COUNT_OFFSET);
    const bytes = records.length;
    const appended = partition.log.append(records, 0);
    result.baseOffset = appended.baseOffset;
    result.logAppendTimeMs = appended.logAppendTimeMs;
    result.logStartOffset = partition.log.logStartOffset;
    if (!appended.duplicate) {
      ctx.metrics.bytesIn.inc({ topic }, bytes);
      ctx.metrics.messagesIn.inc({ topic }, recordCount);
      partition.onAppend();
    }
  } catch (err) {
    if (!(err instanceof KafkaError)) throw err;
    result.errorCode = err.code;
    result.errorMessage = err.message;
    if (err.code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) ctx.warn(`produce to ${topic}-${index} from ${ctx.header.clientId ?? '-'} rejected: ${err.message}`);
  }
  return result;
}
