/**
 * ListOffsets, every version of the schema (0-10), answered as Kafka answers them without tiered storage:
 *  - v0 (removed in Kafka 4 by KIP-896, answered as Kafka 3 did): `oldStyleOffsets`, up to maxNumOffsets segment
 *    boundaries in descending order, chosen by segment file time (UnifiedLog.legacyFetchOffsetsBefore).
 *  - v1+: one offset and its timestamp. -1 latest (the high watermark for consumers, the log end for replicas),
 *    -2 earliest, -3 max timestamp (v7+), -4 earliest local (v8+; the log start: every segment is local), -5 latest
 *    tiered (v9+; -1: nothing is tiered), else the first record whose timestamp is at or after the one asked for.
 *    A special timestamp the version does not know gets UNSUPPORTED_VERSION, a partition named twice INVALID_REQUEST.
 *  - v4+: currentLeaderEpoch is checked (FENCED_LEADER_EPOCH older, UNKNOWN_LEADER_EPOCH newer than the partition's)
 *    and each answer carries the leader epoch of the offset it names. A leader whose high watermark has not yet
 *    reached the start of its epoch answers OFFSET_NOT_AVAILABLE (v5+; LEADER_NOT_AVAILABLE before).
 *  - v10's timeout is for reads from remote storage, which this broker never does.
 */
import { defaultListOffsetsResponsePartitions, type ListOffsetsRequest, type ListOffsetsRequestPartitions, type ListOffsetsResponse, type ListOffsetsResponsePartitions } from '../../protocol/generated/index.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import type { Partition } from '../../topics.ts';
import type { RequestContext } from '../context.ts';
import { AclOperation, topicAllowed } from '../../security/acl-checks.ts';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;
/** The first version that knows each special timestamp (Kafka's KafkaApis.timestampMinSupportedVersion). */
const SPECIAL_SINCE: ReadonlyMap<number, number> = new Map([[LATEST, 1], [EARLIEST, 1], [MAX_TIMESTAMP, 7], [EARLIEST_LOCAL, 8], [LATEST_TIERED, 9]]);
const CONSUMER_REPLICA_ID = -1;
/** Kafka's DEBUGGING_REPLICA_ID: may ask a follower. */
const DEBUGGING_REPLICA_ID = -2;

type Answer = ListOffsetsResponsePartitions;

export function handleListOffsets(req: ListOffsetsRequest, ctx: RequestContext): ListOffsetsResponse {
  const version = ctx.header.apiVersion;
  // DESCRIBE on each topic (Kafka), decided once per topic of the request.
  const decided = new Map<string, boolean>();
  const describable = (topic: string): boolean => {
    if (!decided.has(topic)) decided.set(topic, topicAllowed(ctx, AclOperation.DESCRIBE, topic));
    return decided.get(topic) === true;
  };
  // v1+: a partition named more than once is refused each time (Kafka's duplicatePartitions); bounded by the request.
  const seen = new Map<string, number>();
  if (version > 0) for (const t of req.topics) for (const p of t.partitions) seen.set(`${p.partitionIndex}:${t.name}`, (seen.get(`${p.partitionIndex}:${t.name}`) ?? 0) + 1);
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p): Answer => {
        const failed = (errorCode: number): Answer => ({ ...defaultListOffsetsResponsePartitions(), partitionIndex: p.partitionIndex, errorCode });
        if (!describable(t.name)) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        if (version === 0) return legacyOffsets(ctx, req.replicaId, t.name, p);
        if ((seen.get(`${p.partitionIndex}:${t.name}`) ?? 0) > 1) return failed(ErrorCode.INVALID_REQUEST);
        if (p.timestamp < 0 && !((SPECIAL_SINCE.get(p.timestamp) ?? Infinity) <= version)) return failed(ErrorCode.UNSUPPORTED_VERSION);
        const partition = ctx.topics.partition(t.name, p.partitionIndex);
        if (!partition) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        const refused = servingError(partition, p.currentLeaderEpoch, req.replicaId);
        if (refused !== ErrorCode.NONE) return failed(refused);
        return { ...lookUp(partition, p.timestamp, req.replicaId, version, failed), partitionIndex: p.partitionIndex };
      }),
    })),
  };
}

/**
 * Why this node cannot answer for the partition, in Kafka's order (Partition.getLocalLog): offline storage, then
 * the leader epoch the client names (-1: none), then leadership (a debugging client may ask a follower).
 */
function servingError(partition: Partition, currentLeaderEpoch: number, replicaId: number): number {
  if (partition.offline !== null) return ErrorCode.KAFKA_STORAGE_ERROR;
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (currentLeaderEpoch > partition.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  if (!partition.isLeader && replicaId !== DEBUGGING_REPLICA_ID) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  return ErrorCode.NONE;
}

/** v1+ for one partition this node may answer for (Kafka's Partition.fetchOffsetForTimestamp and ReplicaManager.fetchOffset). */
function lookUp(partition: Partition, timestamp: number, replicaId: number, version: number, failed: (code: number) => Answer): Answer {
  const log = partition.log;
  const found = (offset: number, ts: number, leaderEpoch: number): Answer => ({ ...defaultListOffsetsResponsePartitions(), offset, timestamp: ts, leaderEpoch });
  const none = found(-1, -1, -1);
  const client = replicaId === CONSUMER_REPLICA_ID;
  // Consumers see committed offsets only; replicas and debugging tools the whole log.
  const lastFetchable = client ? partition.highWatermark : log.logEndOffset;
  // A new leader whose high watermark has not caught up with the start of its epoch cannot say what is committed.
  const epochStart = partition.replica ? log.leaderEpochEntries().find((e) => e.epoch === partition.leaderEpoch)?.startOffset : undefined;
  const notAvailable = client && epochStart !== undefined && epochStart > partition.highWatermark;
  const unavailable = (): Answer => failed(version >= 5 ? ErrorCode.OFFSET_NOT_AVAILABLE : ErrorCode.LEADER_NOT_AVAILABLE);
  switch (timestamp) {
    case LATEST:
      return notAvailable ? unavailable() : found(lastFetchable, -1, partition.leaderEpoch);
    case EARLIEST:
    case EARLIEST_LOCAL:
      return found(log.logStartOffset, -1, epochAt(partition, log.logStartOffset));
    case LATEST_TIERED:
      return none;
  }
  let hit: { offset: number; timestampMs: number } | null;
  if (timestamp === MAX_TIMESTAMP) {
    // The first batch holding the largest timestamp, refined to its record when uncompressed (the broker never
    // decompresses: in a compressed batch the answer is the batch's first offset, with the max timestamp).
    const maxTs = log.maxTimestamp();
    const at = maxTs >= 0 ? log.offsetForTimestamp(maxTs) : null;
    hit = at ? { offset: at.offset, timestampMs: maxTs } : null;
  } else {
    hit = log.offsetForTimestamp(timestamp);
  }
  if (!hit || hit.offset >= lastFetchable) return notAvailable ? unavailable() : none;
  return found(hit.offset, hit.timestampMs, epochAt(partition, hit.offset));
}

/** The leader epoch that wrote `offset` (the batch's partitionLeaderEpoch, from the epoch cache); -1 if unknown. */
function epochAt(partition: Partition, offset: number): number {
  let epoch = -1;
  for (const e of partition.log.leaderEpochEntries()) {
    if (e.startOffset > offset) break;
    epoch = e.epoch;
  }
  return epoch;
}

/**
 * v0 (Kafka 3's legacyFetchOffsetsBefore): the candidates are each segment's base offset (at least the log start)
 * with its file's modification time, plus the log end at the current time when the active segment holds data.
 * Latest starts from the last candidate, earliest from the first, a timestamp from the last one modified at or
 * before it; from there up to maxNumOffsets offsets going back, in descending order. Consumers never get an offset
 * past the high watermark: those are replaced by the high watermark.
 */
function legacyOffsets(ctx: RequestContext, replicaId: number, topic: string, p: ListOffsetsRequestPartitions): Answer {
  const answer = (errorCode: number, oldStyleOffsets: number[] = []): Answer => ({ ...defaultListOffsetsResponsePartitions(), partitionIndex: p.partitionIndex, errorCode, oldStyleOffsets });
  // v0 knows only -1 and -2 among the negative timestamps.
  if (p.timestamp < EARLIEST) return answer(ErrorCode.UNSUPPORTED_VERSION);
  if (p.maxNumOffsets < 0) return answer(ErrorCode.INVALID_REQUEST);
  const partition = ctx.topics.partition(topic, p.partitionIndex);
  if (!partition) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const refused = servingError(partition, -1, replicaId);
  if (refused !== ErrorCode.NONE) return answer(refused);
  const log = partition.log;
  const segments = log.segmentTimes();
  const candidates = segments.map((s) => ({ offset: Math.max(s.baseOffset, log.logStartOffset), time: s.lastModifiedMs }));
  if (!segments[segments.length - 1].empty) candidates.push({ offset: log.logEndOffset, time: Date.now() });
  let start: number;
  if (p.timestamp === LATEST) start = candidates.length - 1;
  else if (p.timestamp === EARLIEST) start = 0;
  else for (start = candidates.length - 1; start >= 0 && candidates[start].time > p.timestamp; start--);
  const offsets: number[] = [];
  for (let i = start; i >= 0 && offsets.length < p.maxNumOffsets; i--) offsets.push(candidates[i].offset);
  offsets.sort((a, b) => b - a);
  if (replicaId !== CONSUMER_REPLICA_ID) return answer(ErrorCode.NONE, offsets);
  const hw = partition.highWatermark;
  if (!offsets.some((o) => o > hw)) return answer(ErrorCode.NONE, offsets);
  return answer(ErrorCode.NONE, [hw, ...offsets.filter((o) => o <= hw)]);
}
